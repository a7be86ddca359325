import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, FastCheck, Fiber, Logger, Option, Scope, TestClock } from "effect"
import { Dispatcher } from "../../../src/account/Dispatcher.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { normalizePeerId, type Peer } from "../../../src/domain/PeerId.js"

interface Msg {
  readonly key: string
  readonly peer: Peer
  readonly seq: number
}

/** A message from `sender` as the Inbox claims it: the peer normalised once, there. */
const msg = (sender: string, seq: number): Msg => ({
  key: `mid:${sender}-${seq}`,
  peer: Either.getOrThrow(normalizePeerId(sender)),
  seq
})

describe("Dispatcher", () => {
  it.scoped.prop(
    "keeps each peer's messages in offer order and never runs two turns of one peer at once",
    {
      plan: FastCheck.array(
        FastCheck.record({ peer: FastCheck.integer({ min: 0, max: 4 }), work: FastCheck.integer({ min: 0, max: 5 }) }),
        { minLength: 1, maxLength: 60 }
      ),
      concurrency: FastCheck.integer({ min: 1, max: 6 }),
      capacity: FastCheck.integer({ min: 1, max: 20 })
    },
    ({ plan, concurrency, capacity }) =>
      Effect.gen(function* () {
        const handled = new Map<string, Array<number>>()
        const running = new Set<string>()
        let overlap = false
        const work = new Map<string, number>()
        const dispatcher = yield* Dispatcher.make<Msg, never>({
          concurrency,
          capacity,
          handle: (m) =>
            Effect.gen(function* () {
              // peer ids differ in case and prefix only: the FIFO key is the peer's key
              const lane = m.peer.key as string
              if (running.has(lane)) overlap = true
              running.add(lane)
              for (let i = 0; i < (work.get(m.key) ?? 0); i++) yield* Effect.yieldNow()
              running.delete(lane)
              handled.set(lane, [...(handled.get(lane) ?? []), m.seq])
            })
        })
        const offered = new Map<string, Array<number>>()
        for (const [seq, step] of plan.entries()) {
          const spelling = seq % 3 === 0 ? `user:Peer${step.peer}@im.wechat` : `peer${step.peer}@im.wechat`
          const m = msg(spelling, seq)
          work.set(m.key, step.work)
          const lane = `peer${step.peer}@im.wechat`
          offered.set(lane, [...(offered.get(lane) ?? []), seq])
          yield* dispatcher.offer(m)
        }
        yield* dispatcher.awaitIdle
        expect(overlap).toBe(false)
        expect(Object.fromEntries(handled)).toEqual(Object.fromEntries(offered))
        expect(yield* dispatcher.activePeers).toBe(0)
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it.scoped("runs at most `concurrency` peers at once and uses all of them", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      let active = 0
      let maxActive = 0
      const done: Array<string> = []
      const dispatcher = yield* Dispatcher.make<Msg, never>({
        concurrency: 3,
        capacity: 100,
        handle: (m) =>
          Effect.gen(function* () {
            active++
            maxActive = Math.max(maxActive, active)
            yield* Deferred.await(gate)
            active--
            done.push(m.key)
          })
      })
      for (let p = 0; p < 10; p++) yield* dispatcher.offer(msg(`p${p}`, 0))
      yield* waitUntil("three turns running", Effect.sync(() => active === 3))
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow()
      expect(active).toBe(3)
      expect(yield* dispatcher.size).toBe(10)
      expect(yield* dispatcher.workers).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      yield* dispatcher.awaitIdle
      expect(maxActive).toBe(3)
      // an idle dispatcher holds no worker fiber; new work starts one again
      yield* waitUntil("the workers ended", dispatcher.workers, (n) => n === 0)
      yield* dispatcher.offer(msg("p0", 1))
      yield* dispatcher.awaitIdle
      expect(done).toContain("mid:p0-1")
      yield* waitUntil("the worker ended", dispatcher.workers, (n) => n === 0)
      expect(done).toHaveLength(11)
    })
  )

  it.scoped("suspends offer at capacity and delivers every message once room frees up", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const done: Array<number> = []
      const dispatcher = yield* Dispatcher.make<Msg, never>({
        concurrency: 2,
        capacity: 3,
        handle: (m) => Deferred.await(gate).pipe(Effect.tap(() => Effect.sync(() => done.push(m.seq))))
      })
      yield* dispatcher.offer(msg("a", 1))
      yield* dispatcher.offer(msg("b", 2))
      yield* dispatcher.offer(msg("a", 3))
      const blocked = yield* Effect.fork(dispatcher.offer(msg("c", 4)))
      for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(blocked))).toBe(true)
      expect(yield* dispatcher.size).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(blocked)
      yield* dispatcher.awaitIdle
      expect([...done].sort()).toEqual([1, 2, 3, 4])
      expect(done.indexOf(1)).toBeLessThan(done.indexOf(3))
    })
  )

  it.scoped("a failing or defecting turn does not block that peer's next message", () =>
    Effect.gen(function* () {
      const done: Array<number> = []
      const dispatcher = yield* Dispatcher.make<Msg, never>({
        concurrency: 1,
        handle: (m) => {
          if (m.seq === 1) return Effect.fail("agent exploded")
          if (m.seq === 2) return Effect.die(new Error("bug in the turn"))
          if (m.seq === 3) throw new Error("thrown while building the turn")
          return Effect.sync(() => done.push(m.seq))
        }
      })
      for (const seq of [1, 2, 3, 4, 5]) yield* dispatcher.offer(msg("a", seq))
      yield* dispatcher.awaitIdle
      expect(done).toEqual([4, 5])
      // the workers are still alive after the failures
      yield* dispatcher.offer(msg("b", 6))
      yield* dispatcher.awaitIdle
      expect(done).toEqual([4, 5, 6])
    })
  )

  it.scoped("interleaves peers instead of draining one chatty peer first", () =>
    Effect.gen(function* () {
      const order: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const dispatcher = yield* Dispatcher.make<Msg, never>({
        concurrency: 1,
        handle: (m) =>
          Deferred.await(gate).pipe(Effect.zipRight(Effect.sync(() => order.push(`${m.peer.id}${m.seq}`))))
      })
      for (const seq of [1, 2, 3]) yield* dispatcher.offer(msg("a", seq))
      yield* dispatcher.offer(msg("b", 1))
      yield* Deferred.succeed(gate, undefined)
      yield* dispatcher.awaitIdle
      expect(order.indexOf("b1")).toBeLessThan(order.indexOf("a3"))
    })
  )

  it.scoped("logs a failed turn with its message key and says it will not be retried, and why", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const dispatcher = yield* Dispatcher.make<Msg, never>({ concurrency: 1, handle: () => Effect.fail("agent exploded") }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      yield* dispatcher.offer(msg("a", 1))
      yield* dispatcher.awaitIdle
      const line = lines.find((l) => l.includes("failed"))
      expect(line).toContain("mid:a-1")
      expect(line).toContain("will not be retried")
      expect(line).toContain("could repeat replies")
      expect(line).not.toContain("stays claimed")
    })
  )
})

describe("Dispatcher bypass (host control commands such as /stop)", () => {
  it.scoped("a bypassing message runs while its peer's turn is held, within capacity; the peer's FIFO goes on after", () =>
    Effect.gen(function* () {
      const held = yield* Deferred.make<void>()
      const order: Array<string> = []
      const dispatcher = yield* Dispatcher.make<Msg, never>({
        concurrency: 2,
        capacity: 3,
        bypass: (m) => m.seq === 99,
        handle: (m) =>
          Effect.gen(function* () {
            order.push(`start ${m.seq}`)
            if (m.seq === 1) yield* Deferred.await(held)
            order.push(`end ${m.seq}`)
          })
      })
      yield* dispatcher.offer(msg("alice@im.wechat", 1))
      yield* dispatcher.offer(msg("alice@im.wechat", 2))
      yield* waitUntil("the first turn held", Effect.sync(() => order.includes("start 1")))
      yield* dispatcher.offer(msg("alice@im.wechat", 99))
      yield* waitUntil("the bypassing turn done", Effect.sync(() => order.includes("end 99")))
      // "/stop" ran while turn 1 was held; turn 2 still waits behind turn 1
      expect(order).toEqual(["start 1", "start 99", "end 99"])
      expect(yield* dispatcher.size).toBe(2)
      yield* Deferred.succeed(held, undefined)
      yield* dispatcher.awaitIdle
      expect(order).toEqual(["start 1", "start 99", "end 99", "end 1", "start 2", "end 2"])
      expect(yield* dispatcher.size).toBe(0)
    }))

  it.scoped("a bypassing message still takes a permit: with the dispatcher full, its offer waits", () =>
    Effect.gen(function* () {
      const held = yield* Deferred.make<void>()
      const ran: Array<number> = []
      const dispatcher = yield* Dispatcher.make<Msg, never>({
        concurrency: 1,
        capacity: 1,
        bypass: (m) => m.seq === 99,
        handle: (m) => Effect.zipRight(Effect.sync(() => ran.push(m.seq)), m.seq === 1 ? Deferred.await(held) : Effect.void)
      })
      yield* dispatcher.offer(msg("alice@im.wechat", 1))
      const offering = yield* Effect.fork(dispatcher.offer(msg("alice@im.wechat", 99)))
      yield* waitUntil("the first turn running", Effect.sync(() => ran.length === 1))
      expect(Option.isNone(yield* Fiber.poll(offering))).toBe(true)
      yield* Deferred.succeed(held, undefined)
      yield* Fiber.join(offering)
      yield* dispatcher.awaitIdle
      expect(ran).toEqual([1, 99])
    }))

  it.scoped("gathers a peer's quick joinable messages into one turn: each restarts the window, the first that does not join ends it", () =>
    Effect.gen(function* () {
      const turns: Array<ReadonlyArray<number>> = []
      const joins = (m: Msg) => m.seq < 100
      const dispatcher = yield* Dispatcher.make<Msg, never>({
        concurrency: 2,
        capacity: 64,
        handle: (m, joined) => Effect.sync(() => turns.push([m.seq, ...joined.map((j) => j.seq)])),
        gather: { windowMs: 1_000, joins, max: 4 }
      })
      const a = "alice@im.wechat"
      yield* dispatcher.offer(msg(a, 1))
      yield* TestClock.adjust("600 millis")
      yield* dispatcher.offer(msg(a, 2))
      yield* TestClock.adjust("600 millis")
      // 1.2 s after the first line, but within a window of the second: still gathering
      expect(turns).toEqual([])
      yield* dispatcher.offer(msg(a, 3))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      expect(turns).toEqual([[1, 2, 3]])
      // a quiet window: one line is one turn
      yield* dispatcher.offer(msg(a, 4))
      yield* TestClock.adjust("1 second")
      expect(turns).toEqual([[1, 2, 3], [4]])
      // a message that does not join (a command, media) ends the gathering and runs on its own, in order
      yield* dispatcher.offer(msg(a, 5))
      yield* dispatcher.offer(msg(a, 6))
      yield* dispatcher.offer(msg(a, 105))
      yield* dispatcher.offer(msg(a, 7))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      expect(turns).toEqual([[1, 2, 3], [4], [5, 6], [105], [7]])
      // at most `max` lines in one turn
      for (const seq of [10, 11, 12, 13, 14, 15]) yield* dispatcher.offer(msg(a, seq))
      for (let i = 0; i < 6; i++) yield* TestClock.adjust("1 second")
      expect(turns.slice(5)).toEqual([[10, 11, 12, 13], [14, 15]])
      yield* dispatcher.awaitIdle
      // every permit came back: the gathered messages held theirs until their turn ended
      expect(yield* dispatcher.size).toBe(0)
      expect(yield* dispatcher.activePeers).toBe(0)
    }))

  it.scoped("without gathering (window 0) every message is its own turn at once; a stop in the window runs none", () =>
    Effect.gen(function* () {
      const turns: Array<ReadonlyArray<number>> = []
      const off = yield* Dispatcher.make<Msg, never>({
        handle: (m, joined) => Effect.sync(() => turns.push([m.seq, ...joined.map((j) => j.seq)])),
        gather: { windowMs: 0, joins: () => true, max: 10 }
      })
      yield* off.offer(msg("bob@im.wechat", 1))
      yield* off.offer(msg("bob@im.wechat", 2))
      yield* off.awaitIdle
      expect(turns).toEqual([[1], [2]])

      const ran: Array<number> = []
      const scope = yield* Scope.make()
      const on = yield* Dispatcher.make<Msg, never>({
        handle: (m, joined) => Effect.sync(() => ran.push(m.seq, ...joined.map((j) => j.seq))),
        gather: { windowMs: 5_000, joins: () => true, max: 10 }
      }).pipe(Scope.extend(scope))
      yield* on.offer(msg("carol@im.wechat", 1))
      yield* on.offer(msg("carol@im.wechat", 2))
      yield* TestClock.adjust("1 second")
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("1 minute")
      // nothing ran, so nothing is marked done: the Inbox runs both lines again after the restart
      expect(ran).toEqual([])
    }))
})
