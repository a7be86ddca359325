/**
 * The composition root at work: host-started accounts, logins, channel restarts and disposal, through
 * the plugin's adapters against the emulator over real HTTP on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Supervisor } from "../../../src/account/Supervisor.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import type { PluginDeps } from "../../../src/plugin/PluginDeps.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { hostCall, pluginWithBot, startAccountInFiber } from "../../support/pluginEmulator.js"
import { hostConfig } from "../../support/plugin.js"

const setup = (options: { readonly autoConfirmQr?: boolean } = {}) =>
  Effect.gen(function*() {
    const started = yield* pluginWithBot({
      dirPrefix: "ocw-layer-",
      emulator: { autoConfirmQr: options.autoConfirmQr ?? false }
    })
    const cfg = hostConfig({ baseUrl: started.emulator.baseUrl })
    started.deps.latestConfig.value = cfg
    return { ...started, cfg }
  })

const isRunning = (deps: PluginDeps, accountId: string) =>
  Effect.promise(() => deps.runtime.run(Effect.flatMap(Supervisor, (supervisor) => supervisor.isRunning(accountId))))

describe("PluginLayer", () => {
  it.live("a channel restart (new startAccount before the old one ends) leaves one poller that serves the new start", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const first = yield* startAccountInFiber(t.plugin, t.accountId, t.cfg, "the first start running")
      const second = yield* startAccountInFiber(t.plugin, t.accountId, t.cfg, "the second start running")
      first.fake.abort.abort()
      yield* Fiber.join(first.started)
      yield* hostCall(() => t.plugin.gateway!.stopAccount!(first.fake.ctx))
      // neither the old start's end nor its stopAccount stopped the account the new start owns
      expect(yield* isRunning(t.deps, t.accountId)).toBe(true)
      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "after restart" })
      yield* waitUntil("the turn after the restart", Effect.sync(() => t.bridge.turns.length === 1))
      expect(second.started.unsafePoll()).toBeNull()
      second.fake.abort.abort()
      yield* Fiber.join(second.started)
      expect(yield* isRunning(t.deps, t.accountId)).toBe(false)
      const kinds = (yield* t.emulator.notifications(t.bot.botId)).map((n) => n.kind)
      expect(kinds).toEqual(["start", "stop", "start", "stop"])
      expect(yield* t.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped), 30_000)

  it.live("a login saved in the gateway for an account the host has not started does not start polling it", () =>
    Effect.gen(function*() {
      const t = yield* setup({ autoConfirmQr: true })
      const start = yield* hostCall(() => t.plugin.gateway!.loginWithQrStart!({ accountId: "web" }))
      const wait = yield* hostCall(() =>
        t.plugin.gateway!.loginWithQrWait!({ sessionKey: start.sessionKey!, timeoutMs: 10_000 })
      )
      expect(wait.connected).toBe(true)
      const bots = yield* t.emulator.bots
      const fresh = bots.find((b) => b.botId !== t.bot.botId)!
      expect(yield* isRunning(t.deps, normalizeAccountId(fresh.botId))).toBe(false)
      expect(yield* t.emulator.requests("getupdates")).toEqual([])
    }).pipe(Effect.scoped), 30_000)

  it.live("a login saved in the gateway for an account it runs restarts it in place with the new token", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const { fake, started } = yield* startAccountInFiber(t.plugin, t.accountId, t.cfg)
      yield* t.emulator.expireSession(t.bot.botId)
      yield* waitUntil("parked", Effect.sync(() => fake.statuses.at(-1)?.statusState === "auth-expired"))
      // the web login confirms as the same bot: a new token for the account the host started here
      const start = yield* hostCall(() => t.plugin.gateway!.loginWithQrStart!({ accountId: "again" }))
      yield* t.emulator.qr.confirm(undefined, { botId: t.bot.botId, userId: t.bot.ownerUserId })
      const wait = yield* hostCall(() =>
        t.plugin.gateway!.loginWithQrWait!({ sessionKey: start.sessionKey!, timeoutMs: 10_000 })
      )
      expect(wait).toMatchObject({ connected: true, accountId: t.accountId })
      yield* waitUntil("running again", Effect.sync(() => fake.statuses.at(-1)?.statusState === "running"))
      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "after the new login" })
      yield* waitUntil("the turn after the new login", Effect.sync(() => t.bridge.turns.length === 1))
      expect(started.unsafePoll()).toBeNull()
      fake.abort.abort()
      yield* Fiber.join(started)
    }).pipe(Effect.scoped), 30_000)

  it.live("disposing the runtime (host unload) stops every running account with notifystop", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const { fake, started } = yield* startAccountInFiber(t.plugin, t.accountId, t.cfg, "the account running")
      yield* Effect.promise(() => t.deps.runtime.dispose())
      const kinds = (yield* t.emulator.notifications(t.bot.botId)).map((n) => n.kind)
      expect(kinds).toEqual(["start", "stop"])
      // the host aborts the account after unloading; the pending start still ends quietly
      fake.abort.abort()
      expect(yield* Fiber.join(started)).toBeUndefined()
    }).pipe(Effect.scoped), 30_000)
})
