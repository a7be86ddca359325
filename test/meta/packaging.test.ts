/**
 * Packaging: the manifest matches the code, package.json carries the host metadata and no runtime
 * dependencies, the single-file bundle builds the same bytes every time, imports only Node built-ins and
 * the host, loads on its own (Node 20, and Node 24 as the host runs it), and the npm package ships no
 * sandbox/ or test/ files. The voice codec's wasm travels beside dist/index.js: the packed plugin decodes a
 * voice note from its own directory, and without its wasm it fails typed instead of taking the host down.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile, execFileSync, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { promisify } from "node:util"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import { CHANNEL_META } from "../../src/plugin/Meta.js"
import { MIN_HOST_VERSION } from "../../src/plugin/HostVersion.js"
import { channelConfigJsonSchema } from "../../src/config/ChannelConfig.js"
import { startEmulator } from "../support/pluginEmulator.js"
import { seedAccount, seedContextTokens, tempDir } from "../support/plugin.js"
import { bundleSpecifiers, isHostProvided } from "../support/bundleImports.js"
import { expectedManifest, manifestPath, rootDir } from "../support/manifest.js"
import { encodeSilk, testSignal } from "../support/silkFixture.js"

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, any>

describe("openclaw.plugin.json", () => {
  it("equals the manifest generated from the code (run `npx tsx test/support/manifest.ts --write` after a change)", () => {
    expect(readJson(manifestPath)).toEqual(expectedManifest())
  })

  it("carries the JSON schema generated from the ChannelConfig schema, and the package version", () => {
    const manifest = readJson(manifestPath)
    expect(manifest["channelConfigs"]["openclaw-weixin"]["schema"]).toEqual(channelConfigJsonSchema)
    expect(manifest["version"]).toBe(readJson(path.join(rootDir, "package.json"))["version"])
    expect(manifest["channels"]).toEqual(["openclaw-weixin"])
    expect(manifest["configSchema"]).toEqual({ type: "object", additionalProperties: false, properties: {} })
  })
})

describe("package.json", () => {
  const pkg = readJson(path.join(rootDir, "package.json"))

  it("declares the host entry points, channel catalog entry and minimum host version", () => {
    expect(pkg["openclaw"]["extensions"]).toEqual(["./index.ts"])
    expect(pkg["openclaw"]["runtimeExtensions"]).toEqual(["./dist/index.js"])
    // the host's read-only views (security audit, doctor) take the default export's `plugin` from here
    expect(pkg["openclaw"]["setupEntry"]).toBe("./index.ts")
    expect(pkg["openclaw"]["runtimeSetupEntry"]).toBe("./dist/index.js")
    // read by the host's config validation before any plugin loads: our `open` needs no "*" in allowFrom
    expect(pkg["openclaw"]["channel"]).toEqual({ ...CHANNEL_META, doctorCapabilities: { openDmRequiresAllowFromWildcard: false } })
    expect(pkg["openclaw"]["install"]["minHostVersion"]).toBe(`>=${MIN_HOST_VERSION}`)
    expect(pkg["peerDependencies"]["openclaw"]).toBe(`>=${MIN_HOST_VERSION}`)
  })

  it("declares no runtime dependencies: dist/index.js carries them, the source entry uses devDependencies", () => {
    expect(Object.keys(pkg["dependencies"] ?? {})).toEqual([])
    for (const name of ["effect", "@effect/platform", "@effect/platform-node", "silk-wasm"]) {
      expect(pkg["devDependencies"][name]).toMatch(/^\d+\.\d+\.\d+$/)
    }
  })
})

const runAsync = promisify(execFile)

/**
 * What the host does for an installed plugin (docs/HOST-NOTES.md "Plugin install"): `node_modules/openclaw`
 * in the plugin's directory links to the running host, so the bundle's `openclaw/plugin-sdk/*` imports
 * resolve. Nothing else is there.
 */
const linkHost = (pluginDir: string) => {
  mkdirSync(path.join(pluginDir, "node_modules"), { recursive: true })
  symlinkSync(path.join(rootDir, "node_modules", "openclaw"), path.join(pluginDir, "node_modules", "openclaw"), "dir")
}

/** Builds the bundle with the same script as `npm run build`, into `outfile`. */
const buildBundle = (outfile: string) =>
  execFileSync(process.execPath, [path.join(rootDir, "scripts/build.mjs"), "--outfile", outfile], { cwd: rootDir, stdio: "pipe" })

describe("bundle and package contents", () => {
  // two builds into two unrelated plugin directories, loaded with nothing beside them but the host's link
  const first = path.join(tempDir("ocw-bundle-"), "dist", "index.js")
  const second = path.join(tempDir("ocw-bundle-again-"), "dist", "index.js")
  beforeAll(() => {
    buildBundle(first)
    buildBundle(second)
    for (const bundle of [first, second]) linkHost(path.dirname(path.dirname(bundle)))
  }, 120_000)

  it("builds one dist file that loads in a fresh process and default-exports the plugin definition", () => {
    const outDir = path.dirname(first)
    // like a CLI process: register in discovery, then one adapter call that builds the runtime; the
    // process must then exit on its own (nothing left holding the event loop)
    const probe = [
      `const m = await import(${JSON.stringify(first)});`,
      "const d = m.default;",
      "const registered = [];",
      "d.register({ registrationMode: 'discovery', runtime: { version: '2026.9.6' }, config: {},",
      "  logger: { info() {}, warn() {}, error() {} }, registerChannel: (r) => registered.push(r) });",
      "const account = d.plugin.config.resolveAccount({}, 'nobody');",
      "const probe = await d.plugin.status.probeAccount({ account, timeoutMs: 1000, cfg: {} });",
      "console.log(JSON.stringify({ id: d.id, name: d.name, register: typeof d.register, schema: typeof d.configSchema,",
      "  channel: d.plugin.id, registered: registered.length, accounts: d.plugin.config.listAccountIds({}), probe: probe.detail }));"
    ].join("\n")
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", probe], {
      cwd: outDir,
      encoding: "utf8",
      timeout: 20_000,
      env: { ...process.env, OPENCLAW_STATE_DIR: outDir }
    })
    expect(JSON.parse(output.trim())).toEqual({
      id: "openclaw-weixin",
      name: "WeChat",
      register: "function",
      schema: "object",
      channel: "openclaw-weixin",
      registered: 1,
      accounts: [],
      probe: "not logged in"
    })
  }, 60_000)

  it("stays under 1 MB, with no HTTP stack (undici), the host's QR renderer imported, and function names kept", () => {
    const bytes = statSync(first).size
    expect(bytes).toBeLessThan(1_000_000)
    const text = readFileSync(first, "utf8")
    // a string only undici carries: no HTTP library belongs in the bundle
    expect(text.includes("UND_ERR_HEADERS_TIMEOUT")).toBe(false)
    // login QR codes are drawn by the host at run time (the qrcode package is inlined only as the fallback)
    expect(text).toContain("\"openclaw/plugin-sdk/media-runtime\"")
    // identifiers are minified, but keepNames leaves every function's name for stack traces
    expect(text).toContain("\"makeHostQrRenderer\"")
    expect(text).toContain("\"classifyTransportCause\"")
  })

  it("imports nothing but Node built-ins and openclaw (static, dynamic and require)", async () => {
    const specifiers = await bundleSpecifiers(first)
    expect(specifiers.filter((s) => !isHostProvided(s))).toEqual([])
    // the scan sees both kinds: ESM imports of built-ins and the CommonJS requires of inlined packages
    expect(specifiers).toContain("node:fs")
    expect(specifiers).toContain("node:stream")
    expect(specifiers.length).toBeGreaterThan(10)
  }, 30_000)

  it("puts the voice codec's wasm, as the library ships it, and its licence beside the bundle", () => {
    const shipped = readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve("silk-wasm")), "silk.wasm"))
    for (const bundle of [first, second]) {
      const dir = path.dirname(bundle)
      expect(readdirSync(dir).sort()).toEqual(["index.js", "silk.wasm", "silk.wasm.LICENSE"])
      expect(readFileSync(path.join(dir, "silk.wasm")).equals(shipped)).toBe(true)
      expect(readFileSync(path.join(dir, "silk.wasm.LICENSE"), "utf8")).toMatch(/^MIT License/)
    }
  })

  it("builds the same bytes every time, whatever the output directory, with no build-machine paths inside", () => {
    const a = readFileSync(first)
    expect(a.equals(readFileSync(second))).toBe(true)
    const text = a.toString("utf8")
    expect(text.includes(rootDir)).toBe(false)
    expect(text.includes(path.dirname(first))).toBe(false)
  })

  it.live("registers in discovery and in full mode and serves its first adapter calls under Node 24, then lets the process exit", () =>
    Effect.promise(async () => {
      const ensured = execFileSync(process.execPath, [path.join(rootDir, "scripts/ensure-node24.mjs")], {
        cwd: rootDir,
        encoding: "utf8",
        timeout: 120_000
      })
      const node24 = ensured.trim().split("\n").at(-1)!
      const emulator = await startEmulator()
      try {
        const { run } = emulator
        const bot = await run(emulator.emulator.addBot())
        const user = bot.ownerUserId
        const inbound = await run(emulator.emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi", fromUserId: user }))
        const results: Array<Record<string, unknown>> = []
        for (const mode of ["discovery", "full"] as const) {
          // a logged-in account per process, as `channels login` leaves it
          const stateDir = tempDir(`ocw-node24-${mode}-`)
          await seedAccount(stateDir, { id: bot.botId, token: bot.token, baseUrl: emulator.emulator.baseUrl, userId: user })
          await seedContextTokens(stateDir, normalizeAccountId(bot.botId), { [user]: inbound.contextToken! })
          // async: the emulator answering the child runs on this process's event loop
          const { stdout } = await runAsync(node24, [path.join(rootDir, "test/support/registerProbe.mjs"), first, mode, user], {
            cwd: stateDir,
            encoding: "utf8",
            timeout: 30_000,
            env: { PATH: process.env["PATH"] ?? "", HOME: stateDir, OPENCLAW_STATE_DIR: stateDir }
          })
          results.push(JSON.parse(stdout.trim()) as Record<string, unknown>)
        }
        const expected = (mode: string, disposers: number) => ({
          node: "24",
          id: "openclaw-weixin",
          registered: 1,
          disposers,
          accounts: [normalizeAccountId(bot.botId)],
          probe: "accepted",
          sent: "delivered",
          warnings: []
        })
        expect(results).toEqual([expected("discovery", 0), expected("full", 1)])
        const sent = await run(emulator.emulator.sent(bot.botId))
        expect(sent.map((s) => s.text)).toEqual(["hello from discovery", "hello from full"])
        expect(await run(emulator.emulator.violations())).toEqual([])
      } finally {
        await emulator.close()
      }
    }), 180_000)

  it("packs a package.json without dependencies, and no sandbox/ or test/ files", () => {
    const destination = tempDir("ocw-pack-")
    const output = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", destination], {
      cwd: rootDir,
      encoding: "utf8"
    })
    const [report] = JSON.parse(output.slice(output.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>
    const files = report!.files.map((f) => f.path)
    expect(files).toContain("index.ts")
    expect(files).toContain("openclaw.plugin.json")
    expect(files.some((f) => f.startsWith("src/plugin/"))).toBe(true)
    expect(files.filter((f) => f.startsWith("sandbox/") || f.startsWith("test/") || f.startsWith("bench/"))).toEqual([])
    execFileSync("tar", ["-xzf", path.join(destination, report!.filename), "-C", destination, "package/package.json"])
    const packed = readJson(path.join(destination, "package", "package.json"))
    expect(Object.keys(packed["dependencies"] ?? {})).toEqual([])
    expect(packed["peerDependencies"]).toEqual({ openclaw: `>=${MIN_HOST_VERSION}` })
  }, 60_000)
})

/**
 * Run under Node 24 from the unpacked package's directory: decodes the SILK file through the bundle's
 * `silkToWav`, optionally overwrites a file after the first decode and decodes again, then tries bytes that
 * are not SILK; prints one JSON line. An unhandled rejection would end the process non-zero, as it ends
 * the host's gateway.
 */
const voiceProbe = [
  "import { readFileSync, writeFileSync } from 'node:fs';",
  "const [bundle, silkFile, damage] = process.argv.slice(1);",
  "const { silkToWav } = await import(bundle);",
  "const outcome = (bytes) => silkToWav(bytes).then((wav) => {",
  "  const v = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);",
  "  return { riff: String.fromCharCode(...wav.subarray(0, 4)), channels: v.getUint16(22, true), rate: v.getUint32(24, true),",
  "    bits: v.getUint16(34, true), dataBytes: v.getUint32(40, true), fileBytes: wav.byteLength };",
  "}, (error) => ({ rejected: error._tag, message: error.message }));",
  "const silk = readFileSync(silkFile);",
  "const results = [await outcome(silk)];",
  "if (damage) { writeFileSync(damage, 'not wasm'); results.push(await outcome(silk)); }",
  "results.push(await outcome(new Uint8Array([1, 2, 3])));",
  "console.log(JSON.stringify({ node: process.versions.node.split('.')[0], results }));"
].join("\n")

describe("the packed plugin decodes voice notes", () => {
  const work = tempDir("ocw-voice-pack-")
  let packageDir = ""
  let files: Array<string> = []
  let silkFile = ""
  let samples = 0

  beforeAll(async () => {
    // a copy of what package.json `files` names, with the bundle built into it, packed and unpacked
    const stage = path.join(work, "stage")
    const pkg = readJson(path.join(rootDir, "package.json"))
    for (const entry of ["package.json", ...(pkg["files"] as Array<string>)]) {
      if (!entry.startsWith("dist") && existsSync(path.join(rootDir, entry))) {
        cpSync(path.join(rootDir, entry), path.join(stage, entry), { recursive: true })
      }
    }
    buildBundle(path.join(stage, "dist", "index.js"))
    const output = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: stage, encoding: "utf8" })
    const [report] = JSON.parse(output.slice(output.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>
    files = report!.files.map((f) => f.path)
    execFileSync("tar", ["-xzf", path.join(work, report!.filename), "-C", work])
    packageDir = path.join(work, "package")
    const signal = testSignal()
    samples = signal.length
    silkFile = path.join(work, "voice.silk")
    writeFileSync(silkFile, await encodeSilk(signal))
  }, 180_000)

  /** Runs {@link voiceProbe} with Node 24 in a copy of the unpacked package, changed by `prepare`. */
  const probeCopy = (name: string, prepare: (dir: string) => void, damage?: string) => {
    const dir = path.join(work, name)
    cpSync(packageDir, dir, { recursive: true })
    linkHost(dir)
    prepare(dir)
    const ensured = execFileSync(process.execPath, [path.join(rootDir, "scripts/ensure-node24.mjs")], { cwd: rootDir, encoding: "utf8", timeout: 120_000 })
    const node24 = ensured.trim().split("\n").at(-1)!
    const args = ["--input-type=module", "-e", voiceProbe, path.join(dir, "dist", "index.js"), silkFile]
    const run = spawnSync(node24, damage === undefined ? args : [...args, path.join(dir, damage)], {
      cwd: dir,
      encoding: "utf8",
      timeout: 30_000,
      env: { PATH: process.env["PATH"] ?? "", HOME: dir }
    })
    return { status: run.status, stderr: run.stderr, output: JSON.parse(run.stdout.trim()) as { node: string; results: Array<Record<string, unknown>> } }
  }

  const wav = () => ({ riff: "RIFF", channels: 1, rate: 24_000, bits: 16, dataBytes: samples * 2, fileBytes: 44 + samples * 2 })
  const notSilk = {
    rejected: "VoiceDecodeError",
    message: "voice note not decoded (not silk): no #!SILK_V3 header (it starts with 01 02 03); another codec, or a wrong key"
  }

  it("ships the codec's wasm beside dist/index.js and nothing of node_modules", () => {
    expect(files).toContain("dist/index.js")
    expect(files).toContain("dist/silk.wasm")
    expect(files).toContain("dist/silk.wasm.LICENSE")
    expect(files.filter((f) => f.includes("node_modules"))).toEqual([])
    expect(existsSync(path.join(packageDir, "node_modules"))).toBe(false)
  })

  it("decodes a voice note to 24 kHz mono 16-bit WAV under Node 24, from its own directory", () => {
    const { status, stderr, output } = probeCopy("intact", () => {})
    expect(output).toEqual({ node: "24", results: [wav(), notSilk] })
    expect([status, stderr]).toEqual([0, ""])
  }, 60_000)

  it("without its wasm, fails typed and leaves the process running (no unhandled rejection)", () => {
    const { status, stderr, output } = probeCopy("no-wasm", (dir) => rmSync(path.join(dir, "dist", "silk.wasm")))
    expect(output.results[0]).toEqual({
      rejected: "VoiceDecoderUnavailable",
      message: expect.stringMatching(/^the SILK voice decoder is unavailable: cannot read .*\/no-wasm\/dist\/silk\.wasm: ENOENT/)
    })
    expect(output.results[1]).toEqual(notSilk)
    expect([status, stderr]).toEqual([0, ""])
  }, 60_000)

  it("with its wasm replaced after loading, fails typed and leaves the process running", () => {
    const { status, stderr, output } = probeCopy("replaced-wasm", () => {}, "dist/silk.wasm")
    expect(output.results[0]).toEqual(wav())
    expect(output.results[1]).toEqual({
      rejected: "VoiceDecoderUnavailable",
      message: expect.stringMatching(/replaced-wasm\/dist\/silk\.wasm changed on disk since it was loaded; restart the gateway/)
    })
    expect([status, stderr]).toEqual([0, ""])
  }, 60_000)
})
