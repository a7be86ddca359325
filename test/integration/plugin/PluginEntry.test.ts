import { describe, expect, it } from "@effect/vitest"
import { HostTooOldError, judgeHostVersion, MIN_HOST_VERSION, parseHostVersion } from "../../../src/plugin/HostVersion.js"
import { makePluginEntry } from "../../../src/plugin/PluginEntry.js"
import { fakeApi, tempDir, testDeps } from "../../support/plugin.js"

const freshEntry = () => {
  const deps = testDeps(tempDir("ocw-entry-"))
  return { deps, entry: makePluginEntry(deps) }
}

describe("register(api) per registration mode", () => {
  it("in cli-metadata registers the channel and reads nothing else from api", () => {
    const { deps, entry } = freshEntry()
    const fake = fakeApi("cli-metadata", { version: "2026.9.6" })
    entry.register(fake.api)
    expect(fake.registered).toEqual([{ plugin: entry.plugin }])
    expect(new Set(fake.touched)).toEqual(new Set(["registrationMode", "registerChannel"]))
    expect(deps.runtime.started).toBe(false)
  })

  it("in setup-only registers the channel without touching api.runtime", () => {
    const { entry } = freshEntry()
    const fake = fakeApi("setup-only")
    entry.register(fake.api)
    expect(fake.registered).toHaveLength(1)
    expect(fake.touched).not.toContain("runtime")
  })

  it("in discovery registers without building the runtime or an unload hook", () => {
    const { deps, entry } = freshEntry()
    const fake = fakeApi("discovery", { version: "2026.9.6" })
    entry.register(fake.api)
    expect(fake.registered).toHaveLength(1)
    expect(fake.disposers).toHaveLength(0)
    expect(deps.runtime.started).toBe(false)
  })

  it("in a CLI process (discovery only) releases the runtime after each adapter call", async () => {
    const { deps, entry } = freshEntry()
    entry.register(fakeApi("discovery", { version: "2026.9.6" }).api)
    const account = entry.plugin.config.resolveAccount({}, "nobody")
    const probe = await entry.plugin.status!.probeAccount!({ account, timeoutMs: 1000, cfg: {} })
    expect(probe).toMatchObject({ ok: false, configured: false, detail: "not logged in" })
    expect(deps.runtime.started).toBe(false)
  })

  it("keeps the runtime between calls once the gateway registered in full, even after a later discovery", async () => {
    const { deps, entry } = freshEntry()
    entry.register(fakeApi("full", { version: "2026.9.6" }).api)
    entry.register(fakeApi("discovery", { version: "2026.9.6" }).api)
    const account = entry.plugin.config.resolveAccount({}, "nobody")
    await entry.plugin.status!.probeAccount!({ account, timeoutMs: 1000, cfg: {} })
    expect(deps.runtime.started).toBe(true)
    await deps.runtime.dispose()
  })

  it("in full registers an unload hook that disposes the runtime", async () => {
    const { deps, entry } = freshEntry()
    const fake = fakeApi("full", { version: "2026.9.6" })
    entry.register(fake.api)
    expect(fake.registered).toHaveLength(1)
    expect(fake.disposers).toHaveLength(1)
    expect(deps.runtime.started).toBe(false)
    // an adapter call builds the runtime lazily
    await entry.plugin.gateway!.stopAccount!({ accountId: "x" } as never)
    expect(deps.runtime.started).toBe(false)
    await entry.plugin.status!.probeAccount!({
      account: entry.plugin.config.resolveAccount({}, "nobody"),
      timeoutMs: 1000,
      cfg: {}
    })
    expect(deps.runtime.started).toBe(true)
    await fake.disposers[0]!()
    expect(deps.runtime.started).toBe(false)
  })
})

describe("host version check", () => {
  it("warns and registers when the host reports no version", () => {
    const { entry } = freshEntry()
    const fake = fakeApi("full")
    entry.register(fake.api)
    expect(fake.registered).toHaveLength(1)
    expect(fake.logs.lines.some((l) => l.includes("warn") && l.includes("did not report its version"))).toBe(true)
  })

  it('warns and registers when the host reports "unknown"', () => {
    const { entry } = freshEntry()
    const fake = fakeApi("discovery", { version: "unknown" })
    entry.register(fake.api)
    expect(fake.registered).toHaveLength(1)
    expect(fake.logs.lines.filter((l) => l.includes("warn"))).toHaveLength(1)
  })

  it("refuses an older host with a message saying what to install, before registering", () => {
    const { entry } = freshEntry()
    const fake = fakeApi("full", { version: "2026.9.5" })
    expect(() => entry.register(fake.api)).toThrow(HostTooOldError)
    expect(() => entry.register(fake.api)).toThrow(/needs OpenClaw 2026\.9\.6 or newer.*npm install -g openclaw@latest/)
    expect(fake.registered).toHaveLength(0)
  })

  it("accepts newer hosts (and prerelease suffixes) silently", () => {
    for (const version of ["2026.9.6", "2026.10.1", "2027.1.1-beta.3"]) {
      const { entry } = freshEntry()
      const fake = fakeApi("full", { version })
      entry.register(fake.api)
      expect(fake.registered).toHaveLength(1)
      expect(fake.logs.lines).toEqual([])
    }
  })

  it("warns on an unparseable version and goes on", () => {
    const { entry } = freshEntry()
    const fake = fakeApi("full", { version: "dev-build" })
    entry.register(fake.api)
    expect(fake.registered).toHaveLength(1)
    expect(fake.logs.lines.some((l) => l.includes('could not read the host version "dev-build"'))).toBe(true)
  })

  it("compares calendar parts numerically, not as text", () => {
    expect(judgeHostVersion("2026.10.1")._tag).toBe("Supported")
    expect(judgeHostVersion("2026.9.10")._tag).toBe("Supported")
    expect(judgeHostVersion("2025.12.31")._tag).toBe("TooOld")
    expect(parseHostVersion("2026.9")).toBeUndefined()
    expect(MIN_HOST_VERSION).toBe("2026.9.6")
  })
})
