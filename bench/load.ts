/**
 * load: what installing and loading the plugin costs the host, ours next to the official
 * `@tencent-weixin/openclaw-weixin@2.4.9`, measured the same way in the same run.
 *
 * - size: our single-file bundle (every dependency inlined, nothing else to install) against the
 *   official package's unpacked size, alone and with the unpacked size of its dependencies (zod,
 *   qrcode-terminal; one registry lookup each);
 * - import and `register()` time: the median of N fresh child processes, each importing the package's
 *   runtime entry (package.json `openclaw.runtimeExtensions`) and calling `register(api)` with a fake
 *   api in mode `full`.
 *
 * The official package is fetched at bench time with `npm pack` into a temp dir (never committed). Its
 * entry imports `openclaw/plugin-sdk/*` and `zod`; the temp dir gets a `node_modules` link to this
 * project's, where the host SDK and zod are installed. If its entry still cannot load (for example
 * `qrcode-terminal` is missing), only its sizes are reported and the register time shows as n/a.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { median } from "./support/median.js"

const RUNS = Number(process.env["LOAD_BENCH_RUNS"] ?? 7)
const OFFICIAL = "@tencent-weixin/openclaw-weixin@2.4.9"
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

interface Sample {
  readonly importMs: number
  readonly registerMs: number
  readonly registered: number
}

// Runs in the child: import the entry, register with a fake api, report timings as one JSON line.
const probeSource = (entryUrl: string) => `
const started = performance.now()
const mod = await import(${JSON.stringify(entryUrl)})
const imported = performance.now()
const entry = mod.default ?? mod
let registered = 0
const noop = () => {}
const logger = { debug: noop, info: noop, warn: noop, error: noop }
const api = new Proxy({
  id: "openclaw-weixin", name: "Weixin", source: ${JSON.stringify(entryUrl)}, registrationMode: "full",
  config: {}, pluginConfig: {}, logger,
  runtime: { version: "2026.9.6" },
  lifecycle: { signal: new AbortController().signal, onDispose: () => noop, registerRuntimeLifecycle: noop },
  registerChannel: () => { registered += 1 }
}, { get: (target, key) => (key in target ? target[key] : noop) })
entry.register(api)
const done = performance.now()
console.log(JSON.stringify({ importMs: imported - started, registerMs: done - imported, registered }))
`

// The host runs on Node 24 (docs/HOST-NOTES.md "Running the harness"), and its SDK needs it; both plugins are measured on it.
// @ts-expect-error plain .mjs helper without type declarations
const { ensureNode24 } = (await import("../scripts/ensure-node24.mjs")) as {
  ensureNode24: () => Promise<string>
}
const nodeBinary: string = await ensureNode24().catch(() => process.execPath)

const sampleOnce = (entryFile: string, cwd: string): Sample => {
  const output = execFileSync(nodeBinary, ["--input-type=module", "-e", probeSource(pathToFileURL(entryFile).href)], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
  const line = output.trim().split("\n").at(-1) ?? ""
  return JSON.parse(line) as Sample
}

const measure = (entryFile: string, cwd: string): { importMs: number; registerMs: number } | { error: string } => {
  try {
    const samples = Array.from({ length: RUNS }, () => sampleOnce(entryFile, cwd))
    if (samples.some((s) => s.registered < 1)) return { error: "register() did not call api.registerChannel" }
    return { importMs: median(samples.map((s) => s.importMs)), registerMs: median(samples.map((s) => s.registerMs)) }
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error)
    return { error: stderr.split("\n").find((l) => /Error/.test(l)) ?? stderr.slice(0, 200) }
  }
}

const directorySize = (dir: string): number =>
  Fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const full = Path.join(dir, entry.name)
    return sum + (entry.isDirectory() ? directorySize(full) : entry.isFile() ? Fs.statSync(full).size : 0)
  }, 0)

/** Unpacked size of each dependency an install would add (one registry lookup each; newest match). */
const dependencySizes = (dependencies: Record<string, string>): { bytes: number; known: boolean } => {
  let bytes = 0
  let known = true
  for (const [name, range] of Object.entries(dependencies)) {
    try {
      const raw = JSON.parse(
        execFileSync("npm", ["view", `${name}@${range}`, "dist.unpackedSize", "--json"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"]
        })
      ) as number | Array<number>
      const size = Array.isArray(raw) ? raw.at(-1) : raw
      if (typeof size === "number") bytes += size
      else known = false
    } catch {
      known = false
    }
  }
  return { bytes, known }
}

const fmt = (ms: number | undefined) => (ms === undefined ? "n/a" : ms.toFixed(1))
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocw-load-bench-"))
try {
  // ours: build the bundle fresh into the temp dir and load it with only the host's `openclaw` link
  // beside it, as an installed plugin has (docs/HOST-NOTES.md "Plugin install")
  const oursDir = Path.join(work, "ours")
  Fs.mkdirSync(Path.join(oursDir, "node_modules"), { recursive: true })
  Fs.symlinkSync(Path.join(root, "node_modules", "openclaw"), Path.join(oursDir, "node_modules", "openclaw"), "dir")
  const oursEntry = Path.join(oursDir, "index.js")
  execFileSync(process.execPath, [Path.join(root, "scripts/build.mjs"), "--outfile", oursEntry], { cwd: root, stdio: "pipe" })
  const oursBytes = Fs.statSync(oursEntry).size
  const ours = measure(oursEntry, oursDir)

  // official: npm pack into the temp dir, unpack, link node_modules for the host SDK and zod
  const officialDir = Path.join(work, "official")
  Fs.mkdirSync(officialDir)
  const packed = JSON.parse(
    execFileSync("npm", ["pack", OFFICIAL, "--json", "--ignore-scripts", "--pack-destination", officialDir], {
      cwd: officialDir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    })
  ) as Array<{ filename: string; size: number; unpackedSize: number }>
  const tarball = Path.join(officialDir, Path.basename(packed[0]!.filename))
  execFileSync("tar", ["xzf", tarball, "-C", officialDir])
  const packageDir = Path.join(officialDir, "package")
  const officialUnpacked = directorySize(packageDir)
  const officialPkg = JSON.parse(Fs.readFileSync(Path.join(packageDir, "package.json"), "utf8")) as {
    openclaw?: { runtimeExtensions?: Array<string> }
    dependencies?: Record<string, string>
  }
  const officialDepsBytes = dependencySizes(officialPkg.dependencies ?? {})
  const officialEntry = Path.join(packageDir, officialPkg.openclaw?.runtimeExtensions?.[0] ?? "dist/index.js")
  const officialEntryBytes = Fs.existsSync(officialEntry) ? Fs.statSync(officialEntry).size : 0
  Fs.symlinkSync(Path.join(root, "node_modules"), Path.join(packageDir, "node_modules"), "dir")
  const official = measure(officialEntry, packageDir)

  const oursRegister = "registerMs" in ours ? ours.registerMs : undefined
  const officialRegister = "registerMs" in official ? official.registerMs : undefined
  const oursImport = "importMs" in ours ? ours.importMs : undefined
  const officialImport = "importMs" in official ? official.importMs : undefined

  const nodeVersion = execFileSync(nodeBinary, ["--version"], { encoding: "utf8" }).trim()
  console.log(`load benchmark: ${RUNS} fresh processes each on node ${nodeVersion}, median`)
  console.log(`                         ours (bundle)        official ${OFFICIAL}`)
  console.log(`  size on disk           ${kib(oursBytes).padEnd(20)} ${kib(officialUnpacked)} unpacked (${kib(packed[0]!.size)} packed, entry ${kib(officialEntryBytes)})`)
  const depNames = Object.keys(officialPkg.dependencies ?? {}).join(", ")
  console.log(
    `  with dependencies      ${kib(oursBytes).padEnd(20)} ` +
      (officialDepsBytes.known
        ? `${kib(officialUnpacked + officialDepsBytes.bytes)} (${depNames})`
        : `n/a (the registry gave no unpacked size for ${depNames})`)
  )
  console.log(`  import ms              ${fmt(oursImport).padEnd(20)} ${fmt(officialImport)}`)
  console.log(`  register() ms          ${fmt(oursRegister).padEnd(20)} ${fmt(officialRegister)}`)
  console.log("  note: the official import also loads the host SDK modules it imports (a running host has them already)")
  if ("error" in ours) console.log(`  ours could not be measured: ${ours.error}`)
  if ("error" in official) console.log(`  official register could not be measured: ${official.error}`)
  const sizeRatio = oursBytes / officialUnpacked
  const installRatio = officialDepsBytes.known ? oursBytes / (officialUnpacked + officialDepsBytes.bytes) : undefined
  const registerRatio = oursRegister !== undefined && officialRegister !== undefined ? oursRegister / officialRegister : undefined
  const importRatio = oursImport !== undefined && officialImport !== undefined ? oursImport / officialImport : undefined
  console.log(`  ratios (ours/official): size ${sizeRatio.toFixed(2)}, installed ${installRatio?.toFixed(2) ?? "n/a"}, import ${importRatio?.toFixed(2) ?? "n/a"}, register ${registerRatio?.toFixed(2) ?? "n/a"}`)
  console.log(
    `RESULT load ours_bytes=${oursBytes} official_bytes=${officialUnpacked} ours_import_ms=${fmt(oursImport)} ` +
      `official_import_ms=${fmt(officialImport)} ours_register_ms=${fmt(oursRegister)} ` +
      `official_register_ms=${fmt(officialRegister)} ratio=${registerRatio?.toFixed(3) ?? "n/a"} size_ratio=${sizeRatio.toFixed(3)} ` +
      `installed_ratio=${installRatio?.toFixed(3) ?? "n/a"}`
  )
} finally {
  Fs.rmSync(work, { recursive: true, force: true })
}
