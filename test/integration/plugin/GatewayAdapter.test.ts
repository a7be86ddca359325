/**
 * gateway.startAccount / stopAccount called the way the host calls them, and outbound.sendText while the
 * gateway runs the account, against the emulator over real HTTP on 127.0.0.1 (real time; every wait polls
 * a condition with a deadline).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { AccountAuthExpired } from "../../../src/account/Receipt.js"
import { BoundAccounts } from "../../../src/plugin/PluginLayer.js"
import { AccountNotConfigured, ChannelRuntimeMissing } from "../../../src/plugin/PluginErrors.js"
import type { PluginDeps } from "../../../src/plugin/PluginDeps.js"
import type { OutboundContext } from "../../../src/plugin/SdkTypes.js"
import { emulatorPerTest, startAccountUntilRunning, track } from "../../support/pluginEmulator.js"
import { fakeGatewayContext, hostConfig, waitFor } from "../../support/plugin.js"

const perTest = emulatorPerTest()

const setup = async () => ({ ...(await perTest.startPluginWithBot({ dirPrefix: "ocw-gateway-" })), cfg: hostConfig({}) })

describe("gateway.startAccount", () => {
  it.live("runs the account until aborted, survives server faults without rejecting, and resolves within a second of the abort", () =>
    Effect.promise(async () => {
      const t = await setup()
      const fake = fakeGatewayContext(t.accountId, t.cfg)
      const started = track(t.plugin.gateway!.startAccount!(fake.ctx))
      const states = () => fake.statuses.map((s) => s.statusState)
      await waitFor(() => states().includes("running"), "the account to be running")

      await t.run(t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "hello" }))
      await waitFor(() => t.bridge.turns.length === 1, "the inbound turn")
      expect(t.bridge.turns[0]).toMatchObject({ accountId: t.accountId, text: "hello" })
      await waitFor(() => fake.statuses.some((s) => typeof s.lastInboundAt === "number"), "lastInboundAt")

      // transient trouble: failing polls, then a reset connection
      await t.run(t.emulator.setFault({ endpoint: "getupdates", fault: { kind: "http", status: 502 }, times: 2 }))
      await t.run(t.emulator.setFault({ endpoint: "getupdates", fault: { kind: "reset" }, times: 1 }))
      await waitFor(() => states().includes("backoff"), "a backoff after the failed polls")
      await waitFor(() => states().at(-1) === "running", "running again after the faults", 20_000)
      await t.run(t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "after the faults" }))
      await waitFor(() => t.bridge.turns.length === 2, "the turn after the faults")
      expect(started.state.settled).toBe("pending")
      expect(fake.statuses.some((s) => s.lastError !== null && s.lastError !== undefined)).toBe(true)

      const abortedAt = performance.now()
      fake.abort.abort()
      await started.done
      expect(performance.now() - abortedAt).toBeLessThan(1_000)
      expect(fake.statuses.at(-1)).toMatchObject({ running: false, statusState: "stopped", lifecycle: "stopped" })
      const notifications = await t.run(t.emulator.notifications(t.bot.botId))
      expect(notifications.map((n) => n.kind)).toEqual(["start", "stop"])
      const sent = await t.run(t.emulator.sent(t.bot.botId))
      expect(sent.map((s) => s.text)).toEqual(["pong: hello", "pong: after the faults"])
      expect(await t.run(t.emulator.violations())).toEqual([])
    }), 60_000)

  it.live("resolves at once when the signal is already aborted", () =>
    Effect.promise(async () => {
      const t = await setup()
      const fake = fakeGatewayContext(t.accountId, t.cfg)
      fake.abort.abort()
      await expect(t.plugin.gateway!.startAccount!(fake.ctx)).resolves.toBeUndefined()
      expect(await t.run(t.emulator.notifications(t.bot.botId))).toEqual([])
    }))

  it.live("rejects with a typed error when the host gives no channelRuntime", () =>
    Effect.promise(async () => {
      const t = await setup()
      const fake = fakeGatewayContext(t.accountId, t.cfg, { withChannelRuntime: false })
      const error = await t.plugin.gateway!.startAccount!(fake.ctx).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ChannelRuntimeMissing)
      expect((error as Error).message).toContain("ctx.channelRuntime")
      expect(fake.logs.lines.some((l) => l.includes("error") && l.includes("channelRuntime"))).toBe(true)
    }))

  it.live("rejects an account that never logged in, telling the user to run channels login", () =>
    Effect.promise(async () => {
      const t = await setup()
      const fake = fakeGatewayContext("ghost-im-bot", t.cfg)
      const error = await t.plugin.gateway!.startAccount!(fake.ctx).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AccountNotConfigured)
      expect((error as Error).message).toContain("openclaw channels login --channel openclaw-weixin")
      expect(fake.statuses.at(-1)).toMatchObject({ running: false, configured: false })
    }))

  it.live("rejects a bad channel config with the host path in the message", () =>
    Effect.promise(async () => {
      const t = await setup()
      const fake = fakeGatewayContext(t.accountId, hostConfig({ dispatchConcurrency: "many" }))
      const error = await t.plugin.gateway!.startAccount!(fake.ctx).catch((e: unknown) => e)
      expect((error as Error).message).toContain("channels.openclaw-weixin.dispatchConcurrency")
    }))

  it.live("stopAccount for an account that never started answers without building anything", () =>
    Effect.promise(async () => {
      const t = await setup()
      const fake = fakeGatewayContext("never-started", t.cfg)
      await expect(t.plugin.gateway!.stopAccount!(fake.ctx)).resolves.toBeUndefined()
      expect(t.deps.runtime.started).toBe(false)
    }))
})

describe("status.probeAccount", () => {
  it.live("checks the token with one getconfig and never calls getupdates", () =>
    Effect.promise(async () => {
      const { emulator, run, bot, plugin } = await perTest.startPluginWithBot({ dirPrefix: "ocw-probe-", withUserId: true })
      const account = plugin.config.resolveAccount({}, bot.botId)
      // the user has not written yet: getconfig answers a ret, which still proves the token was accepted
      const probe = await plugin.status!.probeAccount!({ account, timeoutMs: 5_000, cfg: {} })
      expect(probe).toMatchObject({ ok: true, configured: true, token: "accepted" })
      await run(emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi" }))
      const withContext = await plugin.status!.probeAccount!({ account, timeoutMs: 5_000, cfg: {} })
      expect(withContext).toMatchObject({ ok: true, token: "accepted", detail: "the server accepted the bot token" })

      await run(emulator.setFault({ endpoint: "getconfig", fault: { kind: "session_expired" }, times: 1 }))
      const expired = await plugin.status!.probeAccount!({ account, timeoutMs: 5_000, cfg: {} })
      expect(expired).toMatchObject({ ok: false, token: "expired" })

      await run(emulator.setFault({ endpoint: "getconfig", fault: { kind: "http", status: 503 }, times: 1 }))
      const down = await plugin.status!.probeAccount!({ account, timeoutMs: 5_000, cfg: {} })
      expect(down).toMatchObject({ ok: false, token: "unreachable" })

      expect(await run(emulator.requests("getupdates"))).toEqual([])
      expect((await run(emulator.requests("getconfig"))).length).toBe(4)
    }))
})

describe("outbound.sendText while the gateway runs the account", () => {
  const actorOf = (deps: PluginDeps, accountId: string) =>
    deps.runtime.run(Effect.flatMap(BoundAccounts, (accounts) => accounts.actor(accountId)))

  it.live("an account started with textChunkLimit 50 splits a 120-character reply, and a proactive send, into 3 messages each", () =>
    Effect.promise(async () => {
      const long = "abcdefghij".repeat(12)
      const { emulator, run, bot, accountId, deps, plugin } = await perTest.startPluginWithBot({
        dirPrefix: "ocw-chunks-",
        replyTo: () => long
      })
      const cfg = hostConfig({ textChunkLimit: 50 })
      const { fake, started } = await startAccountUntilRunning(plugin, accountId, cfg)

      await run(emulator.injectInbound({ botId: bot.botId, kind: "text", text: "tell me a long story" }))
      let sent = await run(emulator.sent(bot.botId))
      await waitFor(() => sent.length >= 3, "the reply's three messages", 10_000, async () => {
        sent = await run(emulator.sent(bot.botId))
      })
      expect(sent.map((s) => s.text)).toEqual([long.slice(0, 50), long.slice(50, 100), long.slice(100)])

      // the proactive path of the gateway goes through the running actor's Outbox, with the same limit
      expect(Option.isSome(await actorOf(deps, accountId))).toBe(true)
      const result = await plugin.outbound!.sendText!({ cfg, to: bot.ownerUserId, text: long, accountId } as OutboundContext)
      expect(result.meta?.["serverMessageIds"]).toHaveLength(3)
      sent = await run(emulator.sent(bot.botId))
      expect(sent.slice(3).map((s) => s.text)).toEqual([long.slice(0, 50), long.slice(50, 100), long.slice(100)])
      expect(await run(emulator.violations())).toEqual([])
      fake.abort.abort()
      await started.done
    }), 30_000)

  it.live("a proactive send for an account parked as AuthExpired fails at once with the log-in-again error, without calling sendmessage", () =>
    Effect.promise(async () => {
      const t = await setup()
      const { fake, started } = await startAccountUntilRunning(t.plugin, t.accountId, t.cfg)
      // a turn first, so the user's context token is stored and a send would otherwise go out
      await t.run(t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "hi" }))
      let sent = await t.run(t.emulator.sent(t.bot.botId))
      await waitFor(() => sent.length === 1, "the reply to hi", 10_000, async () => {
        sent = await t.run(t.emulator.sent(t.bot.botId))
      })

      await t.run(t.emulator.expireSession(t.bot.botId))
      await waitFor(() => fake.statuses.at(-1)?.statusState === "auth-expired", "the account parked as auth-expired")
      let actor = await actorOf(t.deps, t.accountId)
      await waitFor(() => Option.isNone(actor), "the parked actor to end", 10_000, async () => {
        actor = await actorOf(t.deps, t.accountId)
      })
      const sendsBefore = (await t.run(t.emulator.requests("sendmessage"))).length

      for (const accountId of [t.accountId, undefined]) {
        const error = await t.plugin.outbound!.sendText!({
          cfg: t.cfg,
          to: t.bot.ownerUserId,
          text: "cron: daily digest",
          ...(accountId === undefined ? {} : { accountId })
        } as OutboundContext).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(AccountAuthExpired)
        expect((error as Error).message).toContain("log in again: openclaw channels login --channel openclaw-weixin")
      }
      expect((await t.run(t.emulator.requests("sendmessage"))).length).toBe(sendsBefore)
      // parked is not a failure: the host's promise stays pending until it aborts
      expect(started.state.settled).toBe("pending")
      fake.abort.abort()
      await started.done
    }), 30_000)
})
