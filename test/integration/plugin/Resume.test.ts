/**
 * A CLI login resumes an account the gateway runs, through the gateway method the plugin registers
 * (`openclaw-weixin.resumeAccount`), against the emulator over real HTTP on 127.0.0.1.
 *
 * Two plugin instances over one state dir stand for the two processes: the "gateway" (its entry registered
 * in `full`, accounts started the way the host starts them) and the "CLI" (`auth.login`, whose gateway RPC
 * is routed straight to the method the gateway registered, as the host's RPC would carry it). Real time;
 * every wait polls a condition with a deadline.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AsyncLocalStorage } from "node:async_hooks"
import type { OpenClawPluginApi } from "openclaw/plugin-sdk/core"
import { PassThrough } from "node:stream"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { State } from "../../../src/state/State.js"
import { statePathsFor } from "../../../src/state/StatePaths.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { type GatewayRpc, type GatewayRpcRequest, makePluginDeps } from "../../../src/plugin/PluginDeps.js"
import { makePluginEntry } from "../../../src/plugin/PluginEntry.js"
import { PluginRuntime } from "../../../src/plugin/PluginRuntime.js"
import type { ResumeRequest } from "../../../src/plugin/ResumeMethod.js"
import { RESUME_ACCOUNT_METHOD, RESUME_ACCOUNT_SCOPE } from "../../../src/plugin/ResumeProtocol.js"
import { emulatorPerTest, startAccountUntilRunning } from "../../support/pluginEmulator.js"
import { hostConfig, seedAccount, tempDir, testDeps, turnText, waitFor } from "../../support/plugin.js"
import type { AgentTurnsService } from "../../../src/account/AgentTurns.js"
import { ChannelTurns } from "../../../src/host/ChannelTurns.js"

const perTest = emulatorPerTest()

type Handler = (request: ResumeRequest) => Promise<void>

/** A `full` registration api that keeps the gateway methods registered through it. */
const gatewayApi = (registrationMode = "full") => {
  const methods = new Map<string, { readonly handler: Handler; readonly scope: unknown }>()
  const api = {
    registrationMode,
    config: {},
    runtime: { version: "2026.9.6" },
    registerChannel: () => {},
    registerGatewayMethod: (name: string, handler: Handler, opts?: { readonly scope?: unknown }) =>
      void methods.set(name, { handler, scope: opts?.scope }),
    lifecycle: { onDispose: () => () => {} }
  } as unknown as OpenClawPluginApi
  return { api, methods }
}

interface Answer {
  readonly ok: boolean
  readonly payload: unknown
  readonly error: { readonly code: string; readonly message: string } | undefined
}

/** Calls a registered method the way the host dispatches a request, and returns what it responded. */
const callMethod = async (handler: Handler, params: Record<string, unknown>): Promise<Answer> => {
  const answers: Array<Answer> = []
  await handler({
    params,
    respond: (ok, payload, error) => void answers.push({ ok, payload, error: error as Answer["error"] })
  })
  expect(answers).toHaveLength(1)
  return answers[0]!
}

/**
 * Stands for the host's per-request async context (its "root work"): the host runs a method's handler
 * inside it, and refuses agent turns started from it once the request is over (docs/HOST-NOTES.md).
 */
const hostRequest = new AsyncLocalStorage<string>()

/** The host's RPC as the CLI sees it, carried to the gateway's registered handler in this process. */
const rpcTo = (handler: Handler, calls: Array<GatewayRpcRequest>): GatewayRpc => ({
  call: async (request) => {
    calls.push(request)
    if (request.method !== RESUME_ACCOUNT_METHOD) return { outcome: { status: "retry", reason: "task-owned" } }
    const answer = await hostRequest.run(`request ${request.method}`, () => callMethod(handler, { ...request.params }))
    if (answer.ok) return answer.payload
    throw Object.assign(new Error(answer.error?.message), { name: "GatewayClientRequestError", gatewayCode: answer.error?.code })
  }
})

interface Turn {
  readonly accountId: string
  readonly text: string
  /** the host request whose async context the turn's host calls would run in, if any */
  readonly inRequest: string | undefined
}

/**
 * Agent turns that record each turn (and the async context its calls of the host would run in, through the
 * account's `inHostContext` as the gateway adapter wires it) and reply `pong: <text>`.
 */
const recordingBridge = (turns: Array<Turn>) =>
  Layer.succeed(ChannelTurns, {
    forAccount: (input) =>
      Effect.succeed<AgentTurnsService>({
        run: (turn, reply) =>
          Effect.gen(function*() {
            const inHostContext = input.inHostContext ?? ((fn) => fn())
            turns.push({ accountId: input.accountId, text: turnText(turn), inRequest: inHostContext(() => hostRequest.getStore()) })
            yield* reply.sendText(`pong: ${turnText(turn)}`).pipe(Effect.orDie)
            return { _tag: "Completed", replies: 1 } as const
          })
      })
  })

/** A gateway running two logged-in accounts (a, b) the way the host starts them, with the method registered. */
const gatewayWithTwoAccounts = async () => {
  const { emulator, run } = await perTest.start({ autoConfirmQr: true })
  const bot = await run(emulator.addBot())
  const other = await run(emulator.addBot())
  const dir = tempDir("ocw-resume-")
  for (const b of [bot, other]) await seedAccount(dir, { id: b.botId, token: b.token, baseUrl: emulator.baseUrl })
  const turns: Array<Turn> = []
  const deps = perTest.keep(testDeps(dir, { bridge: recordingBridge(turns) }))
  const { api, methods } = gatewayApi()
  const entry = makePluginEntry(deps)
  entry.register(api)
  const cfg = hostConfig({ baseUrl: emulator.baseUrl })
  const accountId = normalizeAccountId(bot.botId)
  const a = await startAccountUntilRunning(entry.plugin, accountId, cfg, "account a running")
  const b = await startAccountUntilRunning(entry.plugin, normalizeAccountId(other.botId), cfg, "account b running")
  const handler = methods.get(RESUME_ACCOUNT_METHOD)!.handler
  return { emulator, run, dir, deps, cfg, bot, other, accountId, a, b, turns, handler }
}

/** `openclaw channels login` in a separate "CLI" plugin over the same state dir, talking to `handler`. */
const cliLogin = async (dir: string, cfg: Record<string, unknown>, handler: Handler, chosenByCli: string) => {
  const calls: Array<GatewayRpcRequest> = []
  const deps = makePluginDeps({
    runtime: new PluginRuntime({ state: State.layerAt(dir) }),
    statePaths: () => statePathsFor(dir),
    terminal: { input: new PassThrough(), output: new PassThrough() },
    gatewayRpc: { value: rpcTo(handler, calls) }
  })
  deps.runtime.setTransient(true)
  const printed: Array<string> = []
  const runtime = { log: (...args: Array<unknown>) => void printed.push(args.join(" ")), error: () => {}, exit: () => {} }
  await makeWeixinChannelPlugin(deps).auth!.login!({ cfg, accountId: chosenByCli, runtime })
  return { printed: printed.join("\n"), calls }
}

const pollsWith = async (t: Awaited<ReturnType<typeof gatewayWithTwoAccounts>>, token: string) =>
  (await t.run(t.emulator.requests("getupdates"))).some((r) => r.headers["authorization"] === `Bearer ${token}`)

/**
 * After a new login of account a: it polls with `newToken`, runs again in place (the host's startAccount
 * never ended), and answers `text` with its host calls outside any request's async context.
 */
const expectResumedInPlace = async (t: Awaited<ReturnType<typeof gatewayWithTwoAccounts>>, newToken: string, text: string) => {
  let polling = false
  await waitFor(() => polling, "account a polling with the new token", 10_000, async () => {
    polling = await pollsWith(t, newToken)
  })
  await waitFor(() => t.a.fake.statuses.at(-1)?.statusState === "running", "account a running again")
  expect(t.a.started.state.settled).toBe("pending")
  await t.run(t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text }))
  await waitFor(() => t.turns.some((turn) => turn.text === text), `the turn "${text}" after the new login`)
  expect(t.turns.find((turn) => turn.text === text)?.inRequest).toBeUndefined()
  let sent = await t.run(t.emulator.sent(t.bot.botId))
  await waitFor(() => sent.some((s) => s.text === `pong: ${text}` && s.outcome === "delivered"), "the reply", 10_000, async () => {
    sent = await t.run(t.emulator.sent(t.bot.botId))
  })
}

describe("the resumeAccount gateway method", () => {
  it.live("is registered in full mode only (the gateway), with the scope of channels.start", () =>
    Effect.promise(async () => {
      const t = await gatewayWithTwoAccounts()
      for (const mode of ["discovery", "setup-runtime", "tool-discovery"]) {
        const other = gatewayApi(mode)
        makePluginEntry(t.deps).register(other.api)
        expect([...other.methods.keys()], mode).toEqual([])
      }
      const { api, methods } = gatewayApi()
      makePluginEntry(t.deps).register(api)
      expect([...methods.keys()]).toEqual(["openclaw-weixin.resumeAccount"])
      expect(methods.get(RESUME_ACCOUNT_METHOD)!.scope).toBe(RESUME_ACCOUNT_SCOPE)
      expect(RESUME_ACCOUNT_SCOPE).toBe("operator.admin")
    }))

  it.live("resumes an account parked by −14 in place with the login a CLI saved, leaving the other account alone", () =>
    Effect.promise(async () => {
      const t = await gatewayWithTwoAccounts()
      await t.run(t.emulator.expireSession(t.bot.botId))
      await waitFor(() => t.a.fake.statuses.at(-1)?.statusState === "auth-expired", "account a parked as auth-expired")
      const bStartsBefore = (await t.run(t.emulator.notifications(t.other.botId))).filter((n) => n.kind === "start").length

      // the user logs in again from the CLI: the emulator confirms the QR as the same bot, with a new token
      await t.run(t.emulator.qr.autoConfirmNextAs(t.bot.botId))
      const login = await cliLogin(t.dir, t.cfg, t.handler, t.accountId)
      const newToken = (await t.run(t.emulator.bots)).find((bot) => bot.botId === t.bot.botId)!.token
      expect(newToken).not.toBe(t.bot.token)
      expect(login.calls.map((c) => c.method)).toEqual([RESUME_ACCOUNT_METHOD])
      expect(login.printed).toContain(
        `The running gateway picked up the new login: account ${t.accountId} runs again in place (its login had expired).`
      )

      await expectResumedInPlace(t, newToken, "back again")

      // b: never stopped, never started again, still answering
      const bEvents = await t.run(t.emulator.notifications(t.other.botId))
      expect(bEvents.filter((n) => n.kind === "start")).toHaveLength(bStartsBefore)
      expect(bEvents.map((n) => n.kind)).not.toContain("stop")
      expect(t.b.started.state.settled).toBe("pending")
      await t.run(t.emulator.injectInbound({ botId: t.other.botId, kind: "text", text: "b still here" }))
      await waitFor(() => t.turns.some((turn) => turn.text === "b still here"), "b's turn")
      expect(await t.run(t.emulator.violations())).toEqual([])
    }), 60_000)

  it.live("restarts a healthy account of the same id with its new login", () =>
    Effect.promise(async () => {
      const t = await gatewayWithTwoAccounts()
      // told while it runs: the run stops (notifystop) and starts again (notifystart), in place
      expect(await callMethod(t.handler, { accountId: t.bot.botId })).toEqual({
        ok: true,
        payload: { _tag: "Resumed", accountId: t.accountId, was: "Running" },
        error: undefined
      })
      let kinds: ReadonlyArray<string> = []
      await waitFor(() => kinds.join(",") === "start,stop,start", "a stopped and started again", 10_000, async () => {
        kinds = (await t.run(t.emulator.notifications(t.bot.botId))).map((n) => n.kind)
      })
      expect(t.a.started.state.settled).toBe("pending")

      await t.run(t.emulator.qr.autoConfirmNextAs(t.bot.botId))
      const login = await cliLogin(t.dir, t.cfg, t.handler, "default")
      // the server retires the old token as soon as the same bot logs in again, so the old run may have
      // met −14 and parked before the gateway hears of the login: either way it runs again in place
      expect(login.printed).toMatch(
        new RegExp(`account ${t.accountId} (in place with the new login|runs again in place \\(its login had expired\\))`)
      )
      const newToken = (await t.run(t.emulator.bots)).find((bot) => bot.botId === t.bot.botId)!.token
      let polling = false
      await waitFor(() => polling, "account a polling with the new token", 10_000, async () => {
        polling = await pollsWith(t, newToken)
      })
      await t.run(t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "new token" }))
      await waitFor(() => t.turns.some((turn) => turn.text === "new token"), "the turn on the new token")
      expect(t.turns.find((turn) => turn.text === "new token")?.inRequest).toBeUndefined()
      expect((await t.run(t.emulator.notifications(t.other.botId))).map((n) => n.kind)).toEqual(["start"])
      expect(await t.run(t.emulator.violations())).toEqual([])
    }), 60_000)

  it.live("answers clearly for an account it does not run, one without a login, and bad params", () =>
    Effect.promise(async () => {
      const t = await gatewayWithTwoAccounts()
      // logged in (files present) but never started by the host in this gateway
      const idle = await t.run(t.emulator.addBot())
      await seedAccount(t.dir, { id: idle.botId, token: idle.token, baseUrl: t.emulator.baseUrl })
      expect(await callMethod(t.handler, { accountId: idle.botId })).toEqual({
        ok: true,
        payload: { _tag: "NotRunningHere", accountId: normalizeAccountId(idle.botId) },
        error: undefined
      })
      expect(await callMethod(t.handler, { accountId: "nobody-im-bot" })).toEqual({
        ok: true,
        payload: { _tag: "NoStoredLogin", accountId: "nobody-im-bot" },
        error: undefined
      })
      for (const params of [{}, { accountId: "  " }, { accountId: 7 }]) {
        const answer = await callMethod(t.handler, params)
        expect(answer).toMatchObject({ ok: false, error: { code: "INVALID_REQUEST" } })
        expect(answer.error?.message).toContain("openclaw-weixin.resumeAccount needs { accountId: string }")
      }
      // none of it touched the running accounts
      for (const bot of [t.bot, t.other]) {
        expect((await t.run(t.emulator.notifications(bot.botId))).map((n) => n.kind)).toEqual(["start"])
      }
      expect(t.a.fake.statuses.at(-1)?.statusState).toBe("running")
    }), 60_000)
})

describe("a web login in the gateway (web.login.start / web.login.wait)", () => {
  it.live("resumes the account parked by −14 in place; its host calls run outside the login requests", () =>
    Effect.promise(async () => {
      const t = await gatewayWithTwoAccounts()
      t.deps.latestConfig.value = t.cfg
      await t.run(t.emulator.expireSession(t.bot.botId))
      await waitFor(() => t.a.fake.statuses.at(-1)?.statusState === "auth-expired", "account a parked as auth-expired")

      // the Control UI's QR login: two gateway requests, each handled inside the request's async context
      await t.run(t.emulator.qr.autoConfirmNextAs(t.bot.botId))
      const gateway = makeWeixinChannelPlugin(t.deps).gateway
      const start = await hostRequest.run("web.login.start", () => gateway!.loginWithQrStart!({ accountId: t.accountId }))
      const wait = await hostRequest.run(
        "web.login.wait",
        () => gateway!.loginWithQrWait!({ sessionKey: start.sessionKey!, timeoutMs: 10_000 })
      )
      expect(wait).toMatchObject({ connected: true, accountId: t.accountId })
      const newToken = (await t.run(t.emulator.bots)).find((bot) => bot.botId === t.bot.botId)!.token
      expect(newToken).not.toBe(t.bot.token)

      await expectResumedInPlace(t, newToken, "after web login")
      expect((await t.run(t.emulator.notifications(t.other.botId))).map((n) => n.kind)).toEqual(["start"])
      expect(await t.run(t.emulator.violations())).toEqual([])
    }), 60_000)
})
