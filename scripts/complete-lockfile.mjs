#!/usr/bin/env node
// The npm registry reachable here does not carry every platform build of some packages (rollup's and
// msgpackr-extract's prebuilt binaries for other systems). `npm install` then leaves those optional
// packages out of package-lock.json, and `npm ci` refuses a lock that lacks them. This adds an entry for
// each missing optional platform package, with the os/cpu/libc its name states, so `npm ci` skips it on
// a machine it does not fit, as it would with a complete lock. Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from "node:fs"
import { pathToFileURL } from "node:url"

const OS = new Set(["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "win32", "netbsd", "sunos", "aix"])
const CPU = new Set(["arm", "arm64", "x64", "ia32", "loong64", "ppc64", "riscv64", "s390x", "mips64el"])

/** os/cpu/libc from a platform package name such as rollup-linux-arm-musleabihf or msgpackr-extract-win32-x64. */
export const platformOf = (name) => {
  const parts = name.split("/").pop().split("-")
  const osIndex = parts.findIndex((part) => OS.has(part))
  if (osIndex < 0) return undefined
  const cpu = parts.slice(osIndex + 1).find((part) => CPU.has(part))
  if (cpu === undefined) return undefined
  const rest = parts.slice(osIndex + 1).join("-")
  const libc = /musl/.test(rest) ? ["musl"] : /gnu/.test(rest) && parts[osIndex] === "linux" ? ["glibc"] : undefined
  return { os: [parts[osIndex]], cpu: [cpu], ...(libc ? { libc } : {}) }
}

/** Adds the missing entries to the lock file in place; returns how many it added. */
export const completeLockfile = (lockPath) => {
  const lock = JSON.parse(readFileSync(lockPath, "utf8"))
  const packages = lock.packages
  let added = 0
  for (const [path, entry] of Object.entries(packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const base = path === "" ? "" : `${path}/`
      const nested = `${base}node_modules/${name}`
      const hoisted = `node_modules/${name}`
      if (packages[nested] || packages[hoisted]) continue
      const platform = platformOf(name)
      if (platform === undefined) continue
      packages[hoisted] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform }
      added += 1
    }
  }

  if (added > 0) {
    lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b, "en")))
    writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n")
  }
  return added
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const added = completeLockfile(new URL("../package-lock.json", import.meta.url))
  console.log(`complete-lockfile: ${added} optional platform entr${added === 1 ? "y" : "ies"} added`)
}
