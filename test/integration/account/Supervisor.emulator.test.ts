/**
 * Three real AccountActors under the Supervisor, against the sandbox emulator over HTTP on 127.0.0.1,
 * with the real state stores on a temp dir. One account's session expires, it is parked, a new QR login
 * resumes it in place, then it is logged out: the other two accounts run on untouched throughout
 * (never restarted: one notifystart each; their messages keep getting turns). Real time; every wait is
 * a bounded wait on a condition.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, HashMap, Layer, Option, Redacted } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { HostQrRenderer } from "../../../src/host/HostQrRenderer.js"
import { LoginFlow } from "../../../src/login/LoginFlow.js"
import { LoginPromptUnavailable } from "../../../src/login/LoginPrompt.js"
import { logoutAccount } from "../../../src/login/Logout.js"
import { Supervisor } from "../../../src/account/Supervisor.js"
import { TestAgentTurns } from "../../../src/account/TestAgentTurns.js"
import { defaultChannelConfig } from "../../../src/config/ChannelConfig.js"
import { ActorTuning, RestartTuning } from "../../../src/config/Tuning.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { State } from "../../../src/state/State.js"
import { makeTempDir, turnSummaries } from "../../support/actorHarness.js"
import { InboundMediaStore } from "../../../src/account/InboundMediaStore.js"

describe("Supervisor with real accounts on the emulator", () => {
  it.live("expiry, re-login and logout of one account leave the other two running untouched", () =>
    Effect.scoped(Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 300, qrStatusHoldMs: 300 })
      const dir = yield* makeTempDir("ocw-supervisor-")
      const host = yield* TestAgentTurns.make()
      // the production runner and LoginFlow, which tells the Supervisor about the logins it saves
      const world = LoginFlow.DefaultWithoutDependencies.pipe(
        Layer.provideMerge(Supervisor.layer),
        Layer.provideMerge(Layer.mergeAll(ILinkApi.Default, State.layerAt(dir), InboundMediaStore.layerMemory)),
        Layer.provide(HostQrRenderer.layer),
        Layer.provide(Layer.succeed(ActorTuning, { initialPollTimeoutMs: 2_000 })),
        Layer.provide(
          Layer.succeed(RestartTuning, { restartBaseMs: 200, restartCapMs: 1_000, stableAfterMs: 10_000, jitter: false })
        )
      )
      const context = yield* Layer.build(world)
      const [supervisor, store, flow] = yield* Effect.all([Supervisor, AccountStore, LoginFlow]).pipe(Effect.provide(context))

      const bots = [yield* emulator.addBot(), yield* emulator.addBot(), yield* emulator.addBot()]
      const [a, b, c] = bots.map((bot) => normalizeAccountId(bot.botId)) as [string, string, string]
      for (const bot of bots) {
        const id = normalizeAccountId(bot.botId)
        yield* store.save(id, { token: Redacted.make(bot.token), baseUrl: emulator.baseUrl, userId: bot.ownerUserId })
        yield* store.register(id)
      }

      const phase = (id: string) =>
        Effect.map(supervisor.snapshot, (all) => Option.getOrUndefined(Option.map(HashMap.get(all, id), (s) => s.phase._tag)))
      const phaseIs = (id: string, expected: string) => Effect.map(phase(id), (p) => p === expected)
      const texts = Effect.map(turnSummaries(host), (turns) => turns.map((t) => t.text))
      const turnFor = (text: string) => Effect.map(texts, (all) => all.includes(text))
      const say = (botIndex: number, text: string) =>
        Effect.gen(function*() {
          const bot = bots[botIndex]!
          yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text })
          yield* waitUntil(`a turn for "${text}"`, turnFor(text), { timeoutMs: 10_000 })
        })
      const starts = (botIndex: number) =>
        Effect.map(emulator.notifications(bots[botIndex]!.botId), (ns) => ns.filter((n) => n.kind === "start").length)

      // all three start from the index, each with its host binding
      for (const id of yield* store.list()) yield* supervisor.start(id, { turns: host, config: defaultChannelConfig })
      for (const id of [a, b, c]) yield* waitUntil(`${id} running`, phaseIs(id, "Running"), { timeoutMs: 10_000 })
      yield* say(0, "to a")
      yield* say(1, "to b")
      yield* say(2, "to c")

      // b's session expires: b is parked, a and c carry on
      yield* emulator.expireSession(bots[1]!.botId)
      yield* waitUntil("b parked", phaseIs(b, "AuthExpired"), { timeoutMs: 10_000 })
      // parked: its run ends (after notifystop) and nothing restarts it
      yield* waitUntil("b's run ended", Effect.map(supervisor.isRunning(b), (running) => !running), { timeoutMs: 5_000 })
      yield* say(0, "to a while b is parked")
      yield* say(2, "to c while b is parked")
      expect(yield* phase(b)).toBe("AuthExpired")
      expect(yield* starts(1)).toBe(1)

      // a new QR login for b resumes it in place
      const login = yield* Effect.fork(
        flow.login({ qrBaseUrl: emulator.baseUrl, pollIntervalMs: 100, timeoutMs: 10_000 }).pipe(
          Effect.provide(LoginPromptUnavailable)
        )
      )
      yield* waitUntil("a QR code", Effect.map(emulator.requests("get_bot_qrcode"), (r) => r.length === 1), { timeoutMs: 5_000 })
      yield* emulator.qr.confirm(undefined, { botId: bots[1]!.botId, userId: bots[1]!.ownerUserId })
      const outcome = yield* Fiber.join(login)
      expect(outcome._tag).toBe("Connected")
      yield* waitUntil("b running again", phaseIs(b, "Running"), { timeoutMs: 10_000 })
      yield* say(1, "to b after login")
      // the new session polls from a fresh cursor: its first getupdates carries an empty get_updates_buf
      const newToken = (yield* emulator.bots).find((bot) => bot.botId === bots[1]!.botId)?.token
      expect(newToken).not.toBe(bots[1]!.token)
      const newPolls = (yield* emulator.requests("getupdates")).filter((r) => r.headers["authorization"] === `Bearer ${newToken}`)
      expect(JSON.parse(newPolls[0]?.body ?? "{}").get_updates_buf).toBe("")
      expect(newPolls.length).toBeGreaterThan(1)

      // b logs out: its files are gone, a and c carry on
      expect((yield* logoutAccount(b).pipe(Effect.provide(context))).cleared).toBe(true)
      expect(yield* store.list()).toEqual([a, c])
      expect(Option.isNone(yield* store.load(b))).toBe(true)
      expect(yield* phase(b)).toBeUndefined()
      expect(yield* supervisor.isRunning(b)).toBe(false)
      yield* say(0, "to a after b logged out")
      yield* say(2, "to c after b logged out")

      // a and c were started exactly once; b once, and once more after its new login
      expect([yield* starts(0), yield* starts(1), yield* starts(2)]).toEqual([1, 2, 1])
      expect(yield* phase(a)).toBe("Running")
      expect(yield* phase(c)).toBe("Running")
      yield* emulator.expectNoViolations
    })), 60_000)
})
