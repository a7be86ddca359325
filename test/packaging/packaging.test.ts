/**
 * Packaging: the manifest matches the code, package.json carries the host metadata, the single-file
 * bundle builds and loads on its own, and the npm package ships no sandbox/ or test/ files.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { CHANNEL_META } from "../../src/plugin/Meta.js"
import { MIN_HOST_VERSION } from "../../src/plugin/HostVersion.js"
import { channelConfigJsonSchema } from "../../src/schemas/ChannelConfig.js"
import { tempDir } from "../plugin/support.js"
import { expectedManifest, manifestPath, rootDir } from "./manifest.js"

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, any>

describe("openclaw.plugin.json", () => {
  it("equals the manifest generated from the code (run `npx tsx test/packaging/manifest.ts --write` after a change)", () => {
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
    expect(pkg["openclaw"]["channel"]).toEqual({ ...CHANNEL_META })
    expect(pkg["openclaw"]["install"]["minHostVersion"]).toBe(`>=${MIN_HOST_VERSION}`)
    expect(pkg["peerDependencies"]["openclaw"]).toBe(`>=${MIN_HOST_VERSION}`)
  })
})

describe("bundle and package contents", () => {
  it("builds one dist file that loads in a fresh process and default-exports the plugin definition", () => {
    const outDir = tempDir("ocw-bundle-")
    const outfile = path.join(outDir, "index.js")
    execFileSync(process.execPath, [path.join(rootDir, "scripts/build.mjs"), "--outfile", outfile], { cwd: rootDir, stdio: "pipe" })
    // loaded from a directory with no node_modules: every dependency must be inside the file
    // like a CLI process: register in discovery, then one adapter call that builds the runtime; the
    // process must then exit on its own (nothing left holding the event loop)
    const probe = [
      `const m = await import(${JSON.stringify(outfile)});`,
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
    const bundle = readFileSync(outfile, "utf8")
    // only node built-ins and the host may stay imports (static, dynamic or require)
    const specifiers = [
      ...bundle.matchAll(/\bimport\s*(?:\*\s*as\s*[\w$]+|\{[^}]*\}|[\w$]+)\s*from\s*"([^"]+)"/g),
      ...bundle.matchAll(/\b(?:require|import)\(\s*"([^"]+)"\s*\)/g)
    ].map((m) => m[1]!)
    expect(specifiers.filter((s) => !s.startsWith("node:") && s !== "openclaw" && !s.startsWith("openclaw/"))).toEqual([])
    expect(specifiers.some((s) => s === "node:fs")).toBe(true)
  }, 60_000)

  it("ships no sandbox/ or test/ files in the npm package", () => {
    const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: rootDir, encoding: "utf8" })
    const [report] = JSON.parse(output) as Array<{ files: Array<{ path: string }> }>
    const files = report!.files.map((f) => f.path)
    expect(files).toContain("index.ts")
    expect(files).toContain("openclaw.plugin.json")
    expect(files.some((f) => f.startsWith("src/plugin/"))).toBe(true)
    expect(files.filter((f) => f.startsWith("sandbox/") || f.startsWith("test/") || f.startsWith("bench/"))).toEqual([])
  }, 60_000)
})
