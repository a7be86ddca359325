/**
 * Login and logout adapters against the emulator's QR endpoints (real HTTP on 127.0.0.1): the web pair
 * `gateway.loginWithQrStart/Wait`, the terminal `auth.login`, and `gateway.logoutAccount`. Then how a
 * CLI login tells the running gateway about the account it saved (resume in place, or start), against a
 * fake gateway RPC: every answer and failure the CLI must survive.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, TestClock } from "effect"
import type { OpenClawPluginApi } from "openclaw/plugin-sdk/core"
import { PassThrough } from "node:stream"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { State } from "../../../src/state/State.js"
import { statePathsFor } from "../../../src/state/StatePaths.js"
import { announceToGateway, type LoginParams } from "../../../src/plugin/LoginAnnouncement.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import {
  GATEWAY_RPC_TIMEOUT_MS,
  type GatewayRpc,
  type GatewayRpcRequest,
  hostGatewayRpc,
  makePluginDeps,
  type PluginDeps
} from "../../../src/plugin/PluginDeps.js"
import { RESUME_ACCOUNT_METHOD } from "../../../src/plugin/ResumeProtocol.js"
import { makePluginEntry } from "../../../src/plugin/PluginEntry.js"
import { PluginRuntime } from "../../../src/plugin/PluginRuntime.js"
import { type RunningEmulator, startEmulator, track } from "../../support/pluginEmulator.js"
import { fakeApi, hostConfig, tempDir, waitFor } from "../../support/plugin.js"

let running: RunningEmulator | undefined
let deps: PluginDeps | undefined
afterEach(async () => {
  await deps?.runtime.dispose()
  await running?.close()
})

const setup = async (autoConfirmQr: boolean, gatewayRpc?: GatewayRpc) => {
  running = await startEmulator({ autoConfirmQr })
  const dir = tempDir("ocw-login-")
  deps = makePluginDeps({
    runtime: new PluginRuntime({ state: State.layerAt(dir) }),
    statePaths: () => statePathsFor(dir),
    terminal: { input: new PassThrough(), output: new PassThrough() },
    gatewayRpc: { value: gatewayRpc }
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

/** A gateway RPC double that records each request and answers with `answer`. */
const recordingRpc = (answer: (request: GatewayRpcRequest) => Promise<unknown>) => {
  const requests: Array<GatewayRpcRequest> = []
  const rpc: GatewayRpc = {
    call: (request) => {
      requests.push(request)
      return answer(request)
    }
  }
  return { rpc, requests }
}

/** An error as the host's RPC client throws it when the gateway answered with one. */
const gatewayError = (gatewayCode: string, message: string) =>
  Object.assign(new Error(message), { name: "GatewayClientRequestError", gatewayCode })

const handedOff = { channel: "openclaw-weixin", accountId: "x", started: true, outcome: { status: "handed-off" } }
const taskOwned = { outcome: { status: "retry", reason: "task-owned" } }

/** A gateway with this build of the plugin: `resume` answers the resume method, channels.start `start`. */
const gatewayAnswering = (resume: unknown, start: unknown = handedOff) =>
  recordingRpc(({ method }) => Promise.resolve(method === RESUME_ACCOUNT_METHOD ? resume : start))

/** A gateway whose plugin build predates the resume method. */
const olderGateway = (start: unknown = handedOff) =>
  recordingRpc(({ method }) =>
    method === RESUME_ACCOUNT_METHOD
      ? Promise.reject(gatewayError("INVALID_REQUEST", `unknown method: ${method}`))
      : Promise.resolve(start)
  )

const methodsOf = (requests: ReadonlyArray<GatewayRpcRequest>) => requests.map(({ method }) => method)

/** What announceToGateway needs: the CLI's params (the account it chose before the login) and the RPC. */
const announceSetup = (rpc: GatewayRpc | undefined, chosenByCli: string | null, cfg: Record<string, unknown> = {}) => {
  const printed: Array<string> = []
  const params: LoginParams = {
    cfg,
    accountId: chosenByCli,
    runtime: { log: (...args: Array<unknown>) => void printed.push(args.join(" ")), error: () => {}, exit: () => {} }
  } as LoginParams
  const announceDeps = makePluginDeps({ gatewayRpc: { value: rpc } })
  return { printed, announce: (accountId: string) => announceToGateway(announceDeps, params, accountId) }
}

describe("telling the running gateway about the saved account", () => {
  it.live("after a QR login, asks the gateway to resume the saved account, then to start it, with the CLI's config", () =>
    Effect.promise(async () => {
      const { requests, rpc } = gatewayAnswering({ _tag: "NotRunningHere", accountId: "x" })
      const t = await setup(true, rpc)
      // the CLI chose "default" before the login: its own channels.start would miss the new account
      await t.plugin.auth!.login!({ cfg: t.cfg, accountId: "default", runtime: t.runtimeEnv })
      const [bot] = await t.run(t.emulator.bots)
      const saved = normalizeAccountId(bot!.botId)
      expect(requests.map(({ cfg, method, params, scopes }) => ({ cfg, method, params, scopes }))).toEqual([
        { cfg: t.cfg, method: "openclaw-weixin.resumeAccount", params: { accountId: saved }, scopes: ["operator.admin"] },
        { cfg: t.cfg, method: "channels.start", params: { channel: "openclaw-weixin", accountId: saved }, scopes: undefined }
      ])
      expect(t.printed.join("\n")).toContain(`The running gateway is starting account ${saved} now.`)
    }))

  it.effect("says an account the gateway ran (here: parked by an expired session) now runs again in place, and starts nothing", () =>
    Effect.gen(function*() {
      const { requests, rpc } = gatewayAnswering({ _tag: "Resumed", accountId: "bot-1", was: "AuthExpired" })
      // the CLI chose the same account: its own channels.start follows (and finds it running)
      const { announce, printed } = announceSetup(rpc, "Bot-1")
      yield* announce("bot-1")
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount"])
      expect(printed).toEqual([
        "The running gateway picked up the new login: account bot-1 runs again in place (its login had expired)."
      ])
    }))

  it.effect("says a healthy account of the same id restarted with its new login", () =>
    Effect.gen(function*() {
      const { rpc } = gatewayAnswering({ _tag: "Resumed", accountId: "bot-2", was: "Running" })
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(printed).toEqual(["The running gateway restarted account bot-2 in place with the new login."])
    }))

  it.effect("says the gateway is starting an account it had only just started itself (the host's own start raced the login)", () =>
    Effect.gen(function*() {
      const { requests, rpc } = gatewayAnswering({ _tag: "Resumed", accountId: "bot-2", was: "Starting" })
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount"])
      expect(printed).toEqual(["The running gateway is starting account bot-2 now."])
    }))

  it.effect("leaves the start of an account the gateway does not run to the CLI when the CLI chose it", () =>
    Effect.gen(function*() {
      const { requests, rpc } = gatewayAnswering({ _tag: "NotRunningHere", accountId: "bot-1" })
      const { announce, printed } = announceSetup(rpc, " Bot-1 ")
      yield* announce(normalizeAccountId("Bot-1"))
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount"])
      expect(printed).toEqual([])
    }))

  it.effect("says when the gateway finds no saved login for the account (another state directory)", () =>
    Effect.gen(function*() {
      const { requests, rpc } = gatewayAnswering({ _tag: "NoStoredLogin", accountId: "bot-2" })
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount"])
      expect(printed.join("\n")).toContain("finds no saved login for account bot-2; is it using the same state directory")
    }))

  it.effect("with an older plugin build in the gateway, starts a new account with channels.start as before", () =>
    Effect.gen(function*() {
      const { requests, rpc } = olderGateway()
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount", "channels.start"])
      expect(printed).toEqual(["The running gateway is starting account bot-2 now."])
    }))

  it.effect("with an older plugin build in the gateway, says a running account needs a gateway restart for its new login", () =>
    Effect.gen(function*() {
      const { rpc } = olderGateway(taskOwned)
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(printed).toEqual([
        "Account bot-2 already runs in the gateway, whose build of openclaw-weixin cannot pick up a new login in place: " +
        "restart the gateway (e.g. `openclaw gateway restart`) to use it."
      ])
    }))

  it.effect("with an older plugin build and the CLI starting the account itself, says a gateway restart may be needed", () =>
    Effect.gen(function*() {
      const { requests, rpc } = olderGateway()
      const { announce, printed } = announceSetup(rpc, "bot-1")
      yield* announce("bot-1")
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount"])
      expect(printed).toEqual([
        "The running gateway has an older build of openclaw-weixin that cannot pick up a new login in place: " +
        "if account bot-1 was already running there, restart the gateway (e.g. `openclaw gateway restart`)."
      ])
    }))

  it.effect("reports a gateway that refuses the request (missing scope), and the login still succeeds", () =>
    Effect.gen(function*() {
      const { requests, rpc } = recordingRpc(() => Promise.reject(gatewayError("INVALID_REQUEST", "missing scope: operator.admin")))
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount"])
      expect(printed.join("\n")).toContain(
        "The gateway refused openclaw-weixin.resumeAccount for account bot-2 (missing scope: operator.admin); the login is saved"
      )
    }))

  it.effect("asks nothing when no gateway RPC is wired (tests)", () =>
    Effect.gen(function*() {
      const { announce, printed } = announceSetup(undefined, "default")
      yield* announce("bot-2")
      expect(printed).toEqual([])
    }))

  it.effect("asks nothing of a remote gateway, which cannot see this machine's login, and says so", () =>
    Effect.gen(function*() {
      const { requests, rpc } = gatewayAnswering({ _tag: "Resumed", accountId: "bot-2", was: "AuthExpired" })
      const { announce, printed } = announceSetup(rpc, "default", { gateway: { mode: "remote" } })
      yield* announce("bot-2")
      expect(requests).toEqual([])
      expect(printed.join("\n")).toContain("saved on this machine only")
    }))

  it.effect("still succeeds when no gateway runs, and says the account starts with the next gateway start", () =>
    Effect.gen(function*() {
      const { requests, rpc } = recordingRpc(() =>
        Promise.reject(new Error("Gateway not reachable at ws://127.0.0.1:18789 (ECONNREFUSED).\nStart it with …"))
      )
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(methodsOf(requests)).toEqual(["openclaw-weixin.resumeAccount"])
      expect(printed).toEqual([
        "No running gateway answered (Gateway not reachable at ws://127.0.0.1:18789 (ECONNREFUSED)); " +
        "account bot-2 starts with the next gateway start."
      ])
    }))

  it.effect("gives up on a gateway that does not answer in time, aborting the request, and the login still succeeds", () =>
    Effect.gen(function*() {
      const aborted = yield* Deferred.make<void>()
      const { rpc } = recordingRpc(({ signal }) =>
        new Promise(() => signal.addEventListener("abort", () => Effect.runSync(Deferred.succeed(aborted, undefined))))
      )
      const { announce, printed } = announceSetup(rpc, "default")
      const fiber = yield* Effect.fork(announce("bot-2"))
      yield* TestClock.adjust(GATEWAY_RPC_TIMEOUT_MS - 1)
      expect(printed).toEqual([])
      yield* TestClock.adjust(1)
      yield* Fiber.join(fiber)
      yield* Deferred.await(aborted)
      expect(printed.join("\n")).toContain("account bot-2 starts with the next gateway start")
    }))

  it.effect("reports a start the gateway declined, with its reason and the command to check", () =>
    Effect.gen(function*() {
      const { rpc } = gatewayAnswering(
        { _tag: "NotRunningHere", accountId: "bot-2" },
        { started: false, outcome: { status: "skipped", reason: "disabled" } }
      )
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(printed).toEqual([
        "The gateway did not start account bot-2 (skipped: disabled); check it with " +
        "`openclaw channels status --channel openclaw-weixin --probe`."
      ])
    }))

  it.effect("says an account the host's task still owns is running (the plugin had not bound it yet)", () =>
    Effect.gen(function*() {
      const { rpc } = gatewayAnswering({ _tag: "NotRunningHere", accountId: "bot-2" }, taskOwned)
      const { announce, printed } = announceSetup(rpc, "default")
      yield* announce("bot-2")
      expect(printed).toEqual(["Account bot-2 is already running in the gateway."])
    }))

  it.effect("turns an answer it cannot read into a message that says how to check, not a failed login", () =>
    Effect.gen(function*() {
      for (const rpc of [gatewayAnswering({ ok: "maybe" }).rpc, gatewayAnswering({ _tag: "NotRunningHere", accountId: "bot-2" }, { ok: "maybe" }).rpc]) {
        const { announce, printed } = announceSetup(rpc, "default")
        yield* announce("bot-2")
        expect(printed.join("\n")).toMatch(/unexpected answer to (openclaw-weixin\.resumeAccount|channels\.start) for account bot-2/)
        expect(printed.join("\n")).toContain("openclaw channels status --channel openclaw-weixin --probe")
      }
    }))
})

describe("wiring the gateway RPC at registration", () => {
  const registerWith = (api: OpenClawPluginApi) => {
    const registeredDeps = makePluginDeps()
    makePluginEntry(registeredDeps).register(api)
    return registeredDeps.gatewayRpc.value
  }

  it("uses the host's RPC client when the host runtime has a gateway surface (the CLI registers `full`)", () => {
    const api = {
      registrationMode: "full",
      config: {},
      runtime: { version: "2026.9.6", gateway: { isAvailable: async () => false, request: async () => undefined } },
      registerChannel: () => {},
      lifecycle: { onDispose: () => () => {} }
    } as unknown as OpenClawPluginApi
    expect(registerWith(api)).toBe(hostGatewayRpc)
  })

  it("wires nothing for an api without the host's gateway runtime, so a login in tests never dials a gateway", () => {
    expect(registerWith(fakeApi("full", { version: "2026.9.6" }).api)).toBeUndefined()
    expect(registerWith(fakeApi("discovery", { version: "2026.9.6" }).api)).toBeUndefined()
    expect(registerWith(fakeApi("setup-only").api)).toBeUndefined()
  })
})
