/**
 * Login and logout adapters against the emulator's QR endpoints (real HTTP on 127.0.0.1): the web pair
 * `gateway.loginWithQrStart/Wait`, the terminal `auth.login`, and `gateway.logoutAccount`.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { PassThrough } from "node:stream"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import { StateStore, statePathsFor } from "../../src/layers/StateStore.js"
import { makeWeixinChannelPlugin } from "../../src/plugin/ChannelPlugin.js"
import { makePluginDeps, type PluginDeps } from "../../src/plugin/PluginDeps.js"
import { PluginRuntime } from "../../src/plugin/PluginRuntime.js"
import { type RunningEmulator, startEmulator, track } from "./emulatorSupport.js"
import { hostConfig, tempDir, waitFor } from "./support.js"

let running: RunningEmulator | undefined
let deps: PluginDeps | undefined
afterEach(async () => {
  await deps?.runtime.dispose()
  await running?.close()
})

const setup = async (autoConfirmQr: boolean) => {
  running = await startEmulator({ autoConfirmQr })
  const dir = tempDir("ocw-login-")
  deps = makePluginDeps({
    runtime: new PluginRuntime({ stateStore: StateStore.layerAt(dir) }),
    statePaths: () => statePathsFor(dir),
    terminal: { input: new PassThrough(), output: new PassThrough() }
  })
  const cfg = hostConfig({ baseUrl: running.emulator.baseUrl })
  deps.latestConfig.value = cfg
  const printed: Array<string> = []
  const runtimeEnv = { log: (...args: Array<unknown>) => void printed.push(args.join(" ")), error: () => {}, exit: () => {} }
  return { ...running, dir, cfg, printed, runtimeEnv, plugin: makeWeixinChannelPlugin(deps) }
}

describe("web login (gateway.loginWithQrStart / loginWithQrWait)", () => {
  it.live("returns the QR as a PNG data URL, then reports the saved account as connected", () =>
    Effect.promise(async () => {
      const t = await setup(true)
      const start = await t.plugin.gateway!.loginWithQrStart!({ accountId: "web-1" })
      expect(start.qrDataUrl).toMatch(/^data:image\/png;base64,/)
      expect(start.sessionKey).toBe("web-1")
      const wait = await t.plugin.gateway!.loginWithQrWait!({ sessionKey: start.sessionKey!, timeoutMs: 10_000 })
      expect(wait.connected).toBe(true)
      const [bot] = await t.run(t.emulator.bots)
      expect(t.plugin.config.listAccountIds(t.cfg)).toEqual([normalizeAccountId(bot!.botId)])
      expect(t.plugin.config.resolveAccount(t.cfg, bot!.botId).configured).toBe(true)
    }))

  it.live("answers a wait without a pending login with a message, not an error", () =>
    Effect.promise(async () => {
      const t = await setup(false)
      const wait = await t.plugin.gateway!.loginWithQrWait!({ sessionKey: "nothing-here", timeoutMs: 1_000 })
      expect(wait.connected).toBe(false)
      expect(wait.message).toContain("No login is in progress")
    }))
})

describe("terminal login (auth.login)", () => {
  it.live("prints the QR and its link, saves the account, and says where it was saved", () =>
    Effect.promise(async () => {
      const t = await setup(true)
      await t.plugin.auth!.login!({ cfg: t.cfg, accountId: "my-bot", runtime: t.runtimeEnv })
      const [bot] = await t.run(t.emulator.bots)
      const text = t.printed.join("\n")
      expect(text).toContain("open this link instead")
      expect(text).toContain(`account ${normalizeAccountId(bot!.botId)}`)
      expect(text).toContain(`saved as ${normalizeAccountId(bot!.botId)}`)
      expect(t.plugin.config.listAccountIds(t.cfg)).toEqual([normalizeAccountId(bot!.botId)])
    }))

  it.live("asks for the number shown on the phone on the terminal and sends what the user types", () =>
    Effect.promise(async () => {
      const t = await setup(false)
      const input = deps!.terminal.input as PassThrough
      const output = deps!.terminal.output as PassThrough
      let prompted = ""
      output.on("data", (chunk: Buffer) => void (prompted += chunk.toString()))
      const login = track(t.plugin.auth!.login!({ cfg: t.cfg, accountId: null, runtime: t.runtimeEnv }))
      await waitFor(() => t.printed.some((l) => l.includes("open this link instead")), "the QR")
      const qr = await t.run(t.emulator.qr.info())
      await t.run(t.emulator.qr.scan(qr.qrcode))
      await t.run(t.emulator.qr.requireVerifyCode(qr.qrcode, "4711"))
      await waitFor(() => prompted.includes("Type it here"), "the verify-code prompt")
      input.write("4711\n")
      let codeSent = false
      await waitFor(() => codeSent, "the typed number to reach the server", 10_000, async () => {
        const polls = await t.run(t.emulator.requests("get_qrcode_status"))
        codeSent = polls.some((r) => r.query["verify_code"] === "4711")
      })
      await t.run(t.emulator.qr.confirm(qr.qrcode))
      await login.done
      expect(t.plugin.config.listAccountIds(t.cfg)).toHaveLength(1)
    }))

  it.live("ends normally when the bot is already bound to this OpenClaw", () =>
    Effect.promise(async () => {
      const t = await setup(false)
      const login = track(t.plugin.auth!.login!({ cfg: t.cfg, accountId: null, runtime: t.runtimeEnv }))
      await waitFor(() => t.printed.some((l) => l.includes("open this link instead")), "the QR")
      const qr = await t.run(t.emulator.qr.info())
      await t.run(t.emulator.qr.alreadyBound(qr.qrcode))
      await login.done
      expect(t.printed.join("\n")).toContain("already connected")
      expect(t.plugin.config.listAccountIds(t.cfg)).toEqual([])
    }))

  it.live("rejects with the outcome when the QR login fails", () =>
    Effect.promise(async () => {
      const t = await setup(false)
      // nothing listens on port 1: the QR cannot even be fetched
      const unreachable = hostConfig({ baseUrl: "http://127.0.0.1:1/" })
      const error = await t.plugin.auth!.login!({ cfg: unreachable, accountId: null, runtime: t.runtimeEnv })
        .catch((e: unknown) => e)
      expect((error as Error).message).toMatch(/^Login failed: /)
      expect(t.plugin.config.listAccountIds(t.cfg)).toEqual([])
    }))

  it.live("rejects a QR base URL that is not http(s) before starting, naming the config path", () =>
    Effect.promise(async () => {
      const t = await setup(false)
      const bad = hostConfig({ baseUrl: "ftp://nowhere" })
      const error = await t.plugin.auth!.login!({ cfg: bad, accountId: null, runtime: t.runtimeEnv }).catch((e: unknown) => e)
      expect((error as Error).message).toContain(`channels.openclaw-weixin.baseUrl: baseUrl "ftp://nowhere"`)
    }))
})

describe("gateway.logoutAccount", () => {
  it.live("deletes the account's files and index entry, and is harmless when repeated", () =>
    Effect.promise(async () => {
      const t = await setup(true)
      await t.plugin.auth!.login!({ cfg: t.cfg, accountId: null, runtime: t.runtimeEnv })
      const [accountId] = t.plugin.config.listAccountIds(t.cfg)
      const account = t.plugin.config.resolveAccount(t.cfg, accountId)
      const ctx = { cfg: t.cfg, accountId: accountId!, account, runtime: t.runtimeEnv }
      expect(await t.plugin.gateway!.logoutAccount!(ctx)).toEqual({ cleared: true, loggedOut: true, accountId })
      expect(t.plugin.config.listAccountIds(t.cfg)).toEqual([])
      expect(t.plugin.config.resolveAccount(t.cfg, accountId).configured).toBe(false)
      expect(await t.plugin.gateway!.logoutAccount!(ctx)).toMatchObject({ cleared: false, loggedOut: true })
    }))
})
