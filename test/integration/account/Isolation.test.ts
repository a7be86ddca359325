/**
 * Multi-account isolation on the emulator (the production composition: Supervisor, AccountRunner,
 * AccountActors, ILinkApi over HTTP on 127.0.0.1, state stores in a temp dir). One account's trouble (5xx storm, resets, a hung poll, −14,
 * QR re-login), a new login, and a logout must not cost the other accounts a restart, a cursor, a
 * message or a poll gap. Real time; traffic is paced, every wait is a bounded wait on a condition.
 *
 * Bounds. The emulator holds an idle getupdates for LONG_POLL_MS; a healthy account re-polls as soon as
 * its batch is claimed (one fsync'd journal append and an atomic cursor write: milliseconds). On this
 * shared 2-core machine the event loop alone has been seen to stall for ~1.5 s under load, so the bound
 * on a poll gap and on the time to answer is GAP_BOUND_MS = LONG_POLL_MS + 2 s. It stays below anything
 * A's trouble could cost B or C if they shared a resource with A: A's hung poll lasts POLL_TIMEOUT_MS
 * (4 s) and a crash restart waits RESTART_BASE_MS (5 s). A deliberate restart (remove-then-run) is fast,
 * so restarts are caught by the notifystart count and the Supervisor's phase log instead, and a failed
 * poll by the Backoff phase it publishes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { logoutAccount } from "../../../src/login/Logout.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { cursorSeq, type Injection, type IsolationWorld, longestPollGap, makeIsolationWorld } from "../../support/isolationWorld.js"

const LONG_POLL_MS = 500
const GAP_BOUND_MS = LONG_POLL_MS + 2_000
const ANSWER_BOUND_MS = GAP_BOUND_MS
const POLL_TIMEOUT_MS = 4_000
const RESTART_BASE_MS = 5_000
const TRAFFIC_EVERY_MS = 200

const worldOptions = {
  accounts: 3,
  longPollMs: LONG_POLL_MS,
  supervisor: { restartBaseMs: RESTART_BASE_MS, restartCapMs: 10_000, stableAfterMs: 60_000, jitter: false },
  // A's hung poll lasts one client timeout; its storm backs off quickly so the test stays short
  actor: { initialPollTimeoutMs: POLL_TIMEOUT_MS, backoffBaseMs: 200, backoffCapMs: 1_000 }
}

/** All accounts in the index started (as the host starts each) and answering once. */
const startAll = (world: IsolationWorld) =>
  Effect.gen(function*() {
    for (const id of yield* world.store.list()) yield* world.startAccount(id)
    for (const bot of world.bots) yield* world.awaitPhase(bot.botId, "Running")
    for (const bot of world.bots) yield* world.say(bot.botId, `hello-${bot.botId}`)
  })

/** Waits until every injection is answered, then reports the slowest answer (ms after injection). */
const slowestAnswer = (world: IsolationWorld, injections: ReadonlyArray<Injection>) =>
  Effect.gen(function*() {
    yield* waitUntil(`answers to ${injections.length} steady messages`, world.allAnswered(injections), { timeoutMs: 15_000 })
    let slowest = 0
    for (const injection of injections) {
      const at = yield* world.answeredAt(injection)
      slowest = Math.max(slowest, (at ?? Number.POSITIVE_INFINITY) - injection.at)
    }
    return slowest
  })

const gapOf = (world: IsolationWorld, botId: string, from: number, to: number) =>
  Effect.map(world.pollsOf(botId), (polls) => longestPollGap(polls.map((p) => p.at), from, to))

/** The bot's cursor as it sent it, poll by poll: never back to the start, never backwards. */
const cursorNeverWentBack = (world: IsolationWorld, botId: string) =>
  Effect.map(world.pollsOf(botId), (polls) => {
    const seqs = polls.map((p) => cursorSeq(p.cursor))
    const firstKnown = seqs.findIndex((s) => s >= 0)
    return firstKnown >= 0 && seqs.slice(firstKnown).every((s, i, all) => s >= 0 && (i === 0 || s >= all[i - 1]!))
  })

const noDuplicateTurns = (world: IsolationWorld) =>
  Effect.map(world.host.turns, (turns) => {
    const keys = turns.map((t) => `${t.turn.accountId}/${t.turn.claimed.key}`)
    return keys.filter((k, i) => keys.indexOf(k) !== i)
  })

describe("multi-account isolation on the emulator", () => {
  it("measures a bot that stopped polling as one gap up to the end of the window, and reads cursors in order", () => {
    expect(longestPollGap([100, 600, 1_100], 0, 1_500)).toBe(500)
    expect(longestPollGap([100, 600], 0, 5_000)).toBe(4_400)
    expect(longestPollGap([], 1_000, 3_000)).toBe(2_000)
    expect(longestPollGap([0, 3_000, 3_200], 1_000, 3_500)).toBe(3_000)
    expect(cursorSeq("")).toBe(-1)
    expect(cursorSeq(Buffer.from("a1b2.17").toString("base64"))).toBe(17)
  })

  it.live(
    "A's 5xx storm, resets, hung poll, −14 and QR re-login cost B and C no gap, restart or cursor; A resumes on a fresh cursor",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const world = yield* makeIsolationWorld(worldOptions)
        const { emulator, supervisor } = world
        const [a, b, c] = world.bots as [typeof world.bots[0], typeof world.bots[0], typeof world.bots[0]]
        yield* startAll(world)

        const mark = yield* world.phaseMark
        const from = yield* emulator.now
        const traffic = yield* world.steadyTraffic([b.botId, c.botId], TRAFFIC_EVERY_MS, "steady")

        // A's network trouble, for A's token only, consumed in this order
        yield* emulator.setFault({ endpoint: "getupdates", botId: a.botId, times: 4, fault: { kind: "http", status: 503 } })
        yield* emulator.setFault({ endpoint: "getupdates", botId: a.botId, times: 3, fault: { kind: "reset" } })
        yield* emulator.setFault({ endpoint: "getupdates", botId: a.botId, times: 1, fault: { kind: "hang" } })
        // a message that reaches A during its trouble is answered once the trouble is over
        const duringStorm = yield* world.inject(a.botId, "a-during-storm")
        yield* waitUntil(
          "A's fault plans used up",
          Effect.map(emulator.faults, (plans) => plans.every((p) => p.botId !== a.botId || p.remaining === 0)),
          { timeoutMs: 20_000 }
        )
        yield* waitUntil("A answers the message that came during its storm", world.allAnswered([duringStorm]), { timeoutMs: 15_000 })
        expect(yield* world.phasesSince(a.botId, mark)).toContain("Backoff")

        // then −14: A is parked, its run ends, nothing restarts it
        yield* emulator.expireSession(a.botId)
        yield* world.awaitPhase(a.botId, "AuthExpired")
        yield* waitUntil("A's run ended", supervisor.isRunning(a.botId), (running) => !running, { timeoutMs: 5_000 })

        // re-login of A by QR (the phone confirms as the same bot and owner)
        const relogin = yield* world.qrLogin({ botId: a.botId, userId: a.ownerUserId })
        expect(relogin.outcome._tag).toBe("Connected")
        expect(relogin.bot.token).not.toBe(a.token)
        yield* world.awaitPhase(a.botId, "Running")
        yield* world.say(a.botId, "a-after-relogin")

        const to = yield* emulator.now
        const steady = yield* traffic.stop
        expect(steady.filter((i) => i.botId === b.botId).length).toBeGreaterThan(10)
        expect(steady.filter((i) => i.botId === c.botId).length).toBeGreaterThan(10)
        const slowest = yield* slowestAnswer(world, steady)

        // B and C: every steady message answered promptly, polling without a gap
        expect(slowest).toBeLessThanOrEqual(ANSWER_BOUND_MS)
        expect(yield* gapOf(world, b.botId, from, to)).toBeLessThanOrEqual(GAP_BOUND_MS)
        expect(yield* gapOf(world, c.botId, from, to)).toBeLessThanOrEqual(GAP_BOUND_MS)
        for (const bot of [b, c]) {
          // never restarted, never backed off, never lost their place
          expect(yield* world.starts(bot.botId)).toBe(1)
          expect(yield* world.stops(bot.botId)).toBe(0)
          expect(yield* world.phasesSince(bot.botId, mark)).toEqual([])
          expect(yield* cursorNeverWentBack(world, bot.botId)).toBe(true)
          expect((yield* emulator.sent(bot.botId)).every((s) => s.outcome === "delivered")).toBe(true)
        }

        // A: visible trouble, parked, then resumed in place on a fresh cursor with its new token
        expect(yield* world.starts(a.botId)).toBe(2)
        const aPhases = yield* world.phasesSince(a.botId, mark)
        expect(aPhases.slice(aPhases.indexOf("AuthExpired"))).toEqual(["AuthExpired", "Starting", "Running"])
        const aPolls = yield* world.pollsOf(a.botId)
        const afterRelogin = aPolls.filter((p) => p.token === relogin.bot.token)
        expect(afterRelogin.length).toBeGreaterThan(0)
        expect(afterRelogin[0]!.cursor).toBe("")
        expect(aPolls.filter((p) => p.token === a.token).at(-1)!.cursor).not.toBe("")
        // the fresh cursor replays A's history from the server; the Inbox's dedupe answers nothing twice
        expect(yield* noDuplicateTurns(world)).toEqual([])
        expect((yield* emulator.sent(a.botId)).filter((s) => s.text === "re:a-during-storm")).toHaveLength(1)

        yield* emulator.expectNoViolations
      })),
    90_000
  )

  it.live("a new login of D starts only D, and logging out B leaves A, C and D answering without a gap", () =>
    Effect.scoped(Effect.gen(function*() {
      const world = yield* makeIsolationWorld(worldOptions)
      const { emulator, supervisor, store } = world
      const [a, b, c] = world.bots as [typeof world.bots[0], typeof world.bots[0], typeof world.bots[0]]
      yield* startAll(world)

      const mark = yield* world.phaseMark
      const from = yield* emulator.now
      const duringLogin = yield* world.steadyTraffic([a.botId, b.botId, c.botId], TRAFFIC_EVERY_MS, "login")

      // D: a new bot of a new user, logged in by QR while A, B and C are busy
      const login = yield* world.qrLogin({})
      expect(login.outcome._tag).toBe("Connected")
      const d = login.bot
      // the CLI's login asks the running gateway to start the new account, and the host does
      yield* world.startAccount(d.botId)
      yield* world.awaitPhase(d.botId, "Running")
      yield* world.say(d.botId, "d-hello")
      const loginSteady = yield* duringLogin.stop
      expect(yield* slowestAnswer(world, loginSteady)).toBeLessThanOrEqual(ANSWER_BOUND_MS)
      for (const bot of [a, b, c]) {
        expect(yield* world.starts(bot.botId)).toBe(1)
        expect(yield* world.phasesSince(bot.botId, mark)).toEqual([])
      }
      expect(yield* world.starts(d.botId)).toBe(1)

      // B logs out while A, C and D keep getting messages
      const duringLogout = yield* world.steadyTraffic([a.botId, c.botId, d.botId], TRAFFIC_EVERY_MS, "logout")
      const result = yield* logoutAccount(b.botId).pipe(Effect.provide(world.context))
      const loggedOutAt = yield* emulator.now
      expect(result.cleared).toBe(true)
      expect(yield* supervisor.isRunning(b.botId)).toBe(false)
      expect(yield* world.phaseOf(b.botId)).toBeUndefined()
      expect(yield* world.stops(b.botId)).toBe(1)
      // the traffic goes on for a while after the logout: a bounded wait for more injections, not a sleep
      yield* waitUntil(
        "steady traffic after the logout",
        Effect.map(duringLogout.injected, (made) => made.filter((i) => i.at > loggedOutAt).length >= 3 * 8),
        { timeoutMs: 10_000 }
      )
      const logoutSteady = yield* duringLogout.stop
      const to = yield* emulator.now
      expect(yield* slowestAnswer(world, logoutSteady)).toBeLessThanOrEqual(ANSWER_BOUND_MS)

      for (const bot of [a, c]) {
        expect(yield* gapOf(world, bot.botId, from, to)).toBeLessThanOrEqual(GAP_BOUND_MS)
        expect(yield* world.starts(bot.botId)).toBe(1)
        expect(yield* world.stops(bot.botId)).toBe(0)
        expect(yield* world.phasesSince(bot.botId, mark)).toEqual([])
        expect(yield* cursorNeverWentBack(world, bot.botId)).toBe(true)
      }
      // B's run is over: no poll after its logout returned, and its files are gone
      expect((yield* world.pollsOf(b.botId)).filter((p) => p.at > loggedOutAt)).toEqual([])
      expect([...(yield* store.list())].sort()).toEqual(
        [a.botId, c.botId, d.botId].map(normalizeAccountId).sort()
      )
      expect(yield* noDuplicateTurns(world)).toEqual([])
      yield* emulator.expectNoViolations
    })), 90_000)
})
