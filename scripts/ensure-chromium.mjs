#!/usr/bin/env node
// Makes Debian's `chromium` package available at /usr/bin/chromium for the browser test (test/phone/),
// installing it with apt-get when it is missing, and prints the binary's path.
// Plain JS so it runs before any TypeScript tooling; it needs root (or a chromium already installed).
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"

export const CHROMIUM_PATH = "/usr/bin/chromium"

const run = (file, args) =>
  new Promise((resolve) => {
    execFile(
      file,
      args,
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } },
      (error, stdout, stderr) => resolve({ ok: !error, stdout, stderr, error })
    )
  })

const tail = (text) => text.trim().split("\n").slice(-15).join("\n")

export const ensureChromium = async () => {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`${CHROMIUM_PATH} is missing and installing it needs root: run \`sudo apt-get install -y chromium\``)
  }
  let install = await run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"])
  if (!install.ok) {
    // a fresh machine has no package lists yet
    const update = await run("apt-get", ["update"])
    if (!update.ok) throw new Error(`apt-get update failed:\n${tail(update.stdout + update.stderr)}`)
    install = await run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"])
  }
  if (!install.ok || !existsSync(CHROMIUM_PATH)) {
    throw new Error(`apt-get install chromium failed:\n${tail(install.stdout + install.stderr)}`)
  }
  return CHROMIUM_PATH
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureChromium().then(
    (path) => console.log(path),
    (error) => {
      console.error(error instanceof Error ? error.message : String(error))
      process.exit(1)
    }
  )
}
