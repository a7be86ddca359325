/**
 * gateway.startAccount / stopAccount called the way the host calls them, and outbound.sendText while the
 * gateway runs the account, against the emulator over real HTTP on 127.0.0.1 (real time; every wait polls
 * a condition with a deadline).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { AccountAuthExpired } from "../../../src/account/Receipt.js"
import { Supervisor } from "../../../src/account/Supervisor.js"
import { AccountNotConfigured, ChannelRuntimeMissing } from "../../../src/plugin/PluginErrors.js"
import type { PluginDeps } from "../../../src/plugin/PluginDeps.js"
import type { OutboundContext } from "../../../src/plugin/SdkTypes.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { hostCall, pluginWithBot, startAccountInFiber } from "../../support/pluginEmulator.js"
import { fakeGatewayContext, hostConfig } from "../../support/plugin.js"

const setup = Effect.map(pluginWithBot({ dirPrefix: "ocw-gateway-" }), (t) => ({ ...t, cfg: hostConfig({}) }))

const isRunning = (deps: PluginDeps, accountId: string) =>
  Effect.promise(() => deps.runtime.run(Effect.flatMap(Supervisor, (supervisor) => supervisor.isRunning(accountId))))

describe("gateway.startAccount", () => {
  it.live("runs the account until aborted, survives server faults without rejecting, and resolves within a second of the abort", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const fake = fakeGatewayContext(t.accountId, t.cfg)
      const started = yield* Effect.fork(hostCall(() => t.plugin.gateway!.startAccount!(fake.ctx)))
      const states = () => fake.statuses.map((s) => s.statusState)
      yield* waitUntil("the account to be running", Effect.sync(() => states().includes("running")))

      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "hello" })
      yield* waitUntil("the inbound turn", Effect.sync(() => t.bridge.turns.length === 1))
      expect(t.bridge.turns[0]).toMatchObject({ accountId: t.accountId, text: "hello" })
      yield* waitUntil("lastInboundAt", Effect.sync(() => fake.statuses.some((s) => typeof s.lastInboundAt === "number")))

      // transient trouble: failing polls, then a reset connection
      yield* t.emulator.setFault({ endpoint: "getupdates", fault: { kind: "http", status: 502 }, times: 2 })
      yield* t.emulator.setFault({ endpoint: "getupdates", fault: { kind: "reset" }, times: 1 })
      yield* waitUntil("a backoff after the failed polls", Effect.sync(() => states().includes("backoff")))
      yield* waitUntil("running again after the faults", Effect.sync(() => states().at(-1) === "running"), {
        timeoutMs: 20_000
      })
      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "after the faults" })
      yield* waitUntil("the turn after the faults", Effect.sync(() => t.bridge.turns.length === 2))
      expect(started.unsafePoll()).toBeNull()
      expect(fake.statuses.some((s) => s.lastError !== null && s.lastError !== undefined)).toBe(true)

      const abortedAt = performance.now()
      fake.abort.abort()
      yield* Fiber.join(started)
      expect(performance.now() - abortedAt).toBeLessThan(1_000)
      expect(fake.statuses.at(-1)).toMatchObject({ running: false, statusState: "stopped", lifecycle: "stopped" })
      const notifications = yield* t.emulator.notifications(t.bot.botId)
      expect(notifications.map((n) => n.kind)).toEqual(["start", "stop"])
      const sent = yield* t.emulator.sent(t.bot.botId)
      expect(sent.map((s) => s.text)).toEqual(["pong: hello", "pong: after the faults"])
      expect(yield* t.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped), 60_000)

  it.live("resolves at once when the signal is already aborted", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const fake = fakeGatewayContext(t.accountId, t.cfg)
      fake.abort.abort()
      expect(yield* hostCall(() => t.plugin.gateway!.startAccount!(fake.ctx))).toBeUndefined()
      expect(yield* t.emulator.notifications(t.bot.botId)).toEqual([])
    }).pipe(Effect.scoped))

  it.live("rejects with a typed error when the host gives no channelRuntime", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const fake = fakeGatewayContext(t.accountId, t.cfg, { withChannelRuntime: false })
      const error = yield* Effect.flip(hostCall(() => t.plugin.gateway!.startAccount!(fake.ctx)))
      expect(error).toBeInstanceOf(ChannelRuntimeMissing)
      expect((error as Error).message).toContain("ctx.channelRuntime")
      expect(fake.logs.lines.some((l) => l.includes("error") && l.includes("channelRuntime"))).toBe(true)
    }).pipe(Effect.scoped))

  it.live("rejects an account that never logged in, telling the user to run channels login", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const fake = fakeGatewayContext("ghost-im-bot", t.cfg)
      const error = yield* Effect.flip(hostCall(() => t.plugin.gateway!.startAccount!(fake.ctx)))
      expect(error).toBeInstanceOf(AccountNotConfigured)
      expect((error as Error).message).toContain("openclaw channels login --channel openclaw-weixin")
      expect(fake.statuses.at(-1)).toMatchObject({ running: false, configured: false })
    }).pipe(Effect.scoped))

  it.live("rejects a bad channel config with the host path in the message", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const fake = fakeGatewayContext(t.accountId, hostConfig({ dispatchConcurrency: "many" }))
      const error = yield* Effect.flip(hostCall(() => t.plugin.gateway!.startAccount!(fake.ctx)))
      expect((error as Error).message).toContain("channels.openclaw-weixin.dispatchConcurrency")
    }).pipe(Effect.scoped))

  it.live("stopAccount for an account that never started answers without building anything", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const fake = fakeGatewayContext("never-started", t.cfg)
      expect(yield* hostCall(() => t.plugin.gateway!.stopAccount!(fake.ctx))).toBeUndefined()
      expect(t.deps.runtime.started).toBe(false)
    }).pipe(Effect.scoped))
})

describe("status.probeAccount", () => {
  it.live("checks the token with one getconfig and never calls getupdates", () =>
    Effect.gen(function*() {
      const { emulator, bot, plugin } = yield* pluginWithBot({ dirPrefix: "ocw-probe-", withUserId: true })
      const account = plugin.config.resolveAccount({}, bot.botId)
      const probe = () => hostCall(() => plugin.status!.probeAccount!({ account, timeoutMs: 5_000, cfg: {} }))
      // the user has not written yet: getconfig answers a ret, which still proves the token was accepted
      expect(yield* probe()).toMatchObject({ ok: true, configured: true, token: "accepted" })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi" })
      const passed = yield* probe()
      expect(passed).toMatchObject({ ok: true, token: "accepted", detail: "the server accepted the bot token" })
      expect(passed).not.toHaveProperty("error")

      yield* emulator.setFault({ endpoint: "getconfig", fault: { kind: "session_expired" }, times: 1 })
      expect(yield* probe()).toMatchObject({
        ok: false,
        token: "expired",
        error: "the server says the login expired; log in again"
      })

      yield* emulator.setFault({ endpoint: "getconfig", fault: { kind: "http", status: 503 }, times: 1 })
      const unreachable = (yield* probe()) as { readonly error?: string; readonly detail: string }
      expect(unreachable).toMatchObject({ ok: false, token: "unreachable" })
      // the reason goes where the host prints it: "Probe: failed (<error>)"
      expect(unreachable.error).toMatch(/getconfig.*HTTP 503/)
      expect(unreachable.error).toBe(unreachable.detail)

      expect(yield* emulator.requests("getupdates")).toEqual([])
      expect((yield* emulator.requests("getconfig")).length).toBe(4)
    }).pipe(Effect.scoped))
})

describe("outbound.sendText while the gateway runs the account", () => {
  it.live("an account started with textChunkLimit 50 splits a 120-character reply, and a proactive send, into 3 messages each", () =>
    Effect.gen(function*() {
      const long = "abcdefghij".repeat(12)
      const { emulator, bot, accountId, deps, plugin } = yield* pluginWithBot({
        dirPrefix: "ocw-chunks-",
        replyTo: () => long
      })
      const cfg = hostConfig({ textChunkLimit: 50 })
      const { fake, started } = yield* startAccountInFiber(plugin, accountId, cfg)

      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "tell me a long story" })
      const sent = yield* waitUntil("the reply's three messages", emulator.sent(bot.botId), (all) => all.length >= 3)
      expect(sent.map((s) => s.text)).toEqual([long.slice(0, 50), long.slice(50, 100), long.slice(100)])

      // the proactive path of the gateway goes through the running actor's Outbox, with the same limit
      expect(yield* isRunning(deps, accountId)).toBe(true)
      const result = yield* hostCall(() =>
        plugin.outbound!.sendText!({ cfg, to: bot.ownerUserId, text: long, accountId } as OutboundContext)
      )
      expect(result.meta?.["serverMessageIds"]).toHaveLength(3)
      const after = yield* emulator.sent(bot.botId)
      expect(after.slice(3).map((s) => s.text)).toEqual([long.slice(0, 50), long.slice(50, 100), long.slice(100)])
      expect(yield* emulator.violations()).toEqual([])
      fake.abort.abort()
      yield* Fiber.join(started)
    }).pipe(Effect.scoped), 30_000)

  it.live("a proactive send for an account parked as AuthExpired fails at once with the log-in-again error, without calling sendmessage", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const { fake, started } = yield* startAccountInFiber(t.plugin, t.accountId, t.cfg)
      // a turn first, so the user's context token is stored and a send would otherwise go out
      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "hi" })
      yield* waitUntil("the reply to hi", t.emulator.sent(t.bot.botId), (sent) => sent.length === 1)

      yield* t.emulator.expireSession(t.bot.botId)
      yield* waitUntil(
        "the account parked as auth-expired",
        Effect.sync(() => fake.statuses.at(-1)?.statusState === "auth-expired")
      )
      yield* waitUntil("the parked actor to end", isRunning(t.deps, t.accountId), (running) => !running)
      const sendsBefore = (yield* t.emulator.requests("sendmessage")).length

      for (const accountId of [t.accountId, undefined]) {
        const error = yield* Effect.flip(hostCall(() =>
          t.plugin.outbound!.sendText!({
            cfg: t.cfg,
            to: t.bot.ownerUserId,
            text: "cron: daily digest",
            ...(accountId === undefined ? {} : { accountId })
          } as OutboundContext)
        ))
        expect(error).toBeInstanceOf(AccountAuthExpired)
        expect((error as Error).message).toContain("log in again: openclaw channels login --channel openclaw-weixin")
      }
      expect((yield* t.emulator.requests("sendmessage")).length).toBe(sendsBefore)
      // parked is not a failure: the host's promise stays pending until it aborts
      expect(started.unsafePoll()).toBeNull()
      fake.abort.abort()
      yield* Fiber.join(started)
    }).pipe(Effect.scoped), 30_000)
})
