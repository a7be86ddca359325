import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Either, Fiber, TestClock } from "effect"
import { Typing } from "../../../src/account/Typing.js"
import { normalizePeerId, type Peer } from "../../../src/domain/PeerId.js"
import type { GetConfigResponse, SendTypingRequest } from "../../../src/wire/Api.js"
import { ILinkApiError, type ILinkError, ILinkTimeoutError } from "../../../src/wire/ILinkError.js"
import { scriptedApi, testConnection } from "../../support/actorHarness.js"

const peerOf = (id: string): Peer => Either.getOrThrow(normalizePeerId(id))
const peer = peerOf("o9cQ8Abc@im.wechat")
const configFailure = new ILinkApiError({ endpoint: "ilink/bot/getconfig", reachedServer: "yes", ret: -4 })

/** getconfig answers from `answers` in order (then the last one forever); sendtyping records with the time. */
const fakeApi = (answers: Array<GetConfigResponse | ILinkError>, typingFails = false) => {
  const configCalls: Array<number> = []
  const typing: Array<{ at: number; request: SendTypingRequest }> = []
  const api = scriptedApi({
    getConfig: () =>
      Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<GetConfigResponse, ILinkError> => {
        configCalls.push(now)
        const answer = answers.length > 1 ? answers.shift()! : answers[0]!
        return "_tag" in answer ? Effect.fail(answer) : Effect.succeed(answer)
      }),
    sendTyping: (_conn: unknown, request: SendTypingRequest) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        typing.push({ at: now, request })
        return typingFails
          ? Effect.fail(new ILinkTimeoutError({ endpoint: "ilink/bot/sendtyping", reachedServer: "maybe", timeoutMs: 10_000 }))
          : Effect.void
      })
  })
  return { api, configCalls, typing }
}

const makeTyping = (api: ReturnType<typeof fakeApi>["api"], randomFraction = 0.5, capacity?: number) =>
  Typing.make({
    accountId: "bot",
    connection: testConnection,
    randomFraction: Effect.succeed(randomFraction),
    ...(capacity === undefined ? {} : { capacity })
  }).pipe(Effect.provide(api))

const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
})

describe("Typing", () => {
  it.effect("keeps a good ticket for the random part of 24 h, then fetches again", () =>
    Effect.gen(function* () {
      const fake = fakeApi([{ ret: 0, typing_ticket: "T1" }, { ret: 0, typing_ticket: "T2" }])
      const typing = yield* makeTyping(fake.api, 0.5)
      expect(yield* typing.ticketFor(peer, "ctx")).toBe("T1")
      yield* TestClock.adjust(Duration.hours(12).pipe(Duration.subtract(Duration.millis(1))))
      expect(yield* typing.ticketFor(peer, "ctx")).toBe("T1")
      expect(fake.configCalls).toHaveLength(1)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* typing.ticketFor(peer, "ctx")).toBe("T2")
      expect(fake.configCalls).toHaveLength(2)
    }))

  it.effect("after failures waits 2 s, then doubles the wait up to 1 h between fetches", () =>
    Effect.gen(function* () {
      const fake = fakeApi([configFailure])
      const typing = yield* makeTyping(fake.api)
      expect(yield* typing.ticketFor(peer, undefined)).toBe("")
      const expectedGaps = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600].map((s) => s * 1000)
      for (const gap of expectedGaps) {
        const before = fake.configCalls.length
        yield* TestClock.adjust(Duration.millis(gap - 1))
        yield* typing.ticketFor(peer, undefined)
        expect(fake.configCalls).toHaveLength(before)
        yield* TestClock.adjust(Duration.millis(1))
        yield* typing.ticketFor(peer, undefined)
        expect(fake.configCalls).toHaveLength(before + 1)
      }
    }))

  it.effect("keeps the last good ticket when a refresh fails", () =>
    Effect.gen(function* () {
      const fake = fakeApi([{ ret: 0, typing_ticket: "T1" }, configFailure])
      const typing = yield* makeTyping(fake.api, 0)
      expect(yield* typing.ticketFor(peer, "ctx")).toBe("T1")
      // a ticket with a life of 0 ms is due from the next millisecond on
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* typing.ticketFor(peer, "ctx")).toBe("T1")
      expect(fake.configCalls).toHaveLength(2)
      expect(fake.configCalls[1]).toBe(1)
      // a failure after a success backs off from the doubled delay (4 s), as the official cache does
      yield* TestClock.adjust(Duration.millis(3_999))
      yield* typing.ticketFor(peer, "ctx")
      expect(fake.configCalls).toHaveLength(2)
    }))

  it.effect("caches per peer, keyed case-insensitively", () =>
    Effect.gen(function* () {
      const fake = fakeApi([{ ret: 0, typing_ticket: "T" }])
      const typing = yield* makeTyping(fake.api)
      yield* typing.ticketFor(peer, undefined)
      yield* typing.ticketFor(peerOf(peer.id.toUpperCase()), undefined)
      yield* typing.ticketFor(peerOf("other@im.wechat"), undefined)
      expect(fake.configCalls).toHaveLength(2)
    }))

  it.effect("remembers at most `capacity` peers, forgetting the oldest first", () =>
    Effect.gen(function* () {
      const fake = fakeApi([{ ret: 0, typing_ticket: "T" }])
      const typing = yield* makeTyping(fake.api, 0.5, 2)
      const [a, b, c] = ["a@im.wechat", "b@im.wechat", "c@im.wechat"].map(peerOf) as [Peer, Peer, Peer]
      yield* typing.ticketFor(a, undefined)
      yield* typing.ticketFor(b, undefined)
      yield* typing.ticketFor(b, undefined)
      expect(fake.configCalls).toHaveLength(2)
      // a third peer pushes out a, the oldest
      yield* typing.ticketFor(c, undefined)
      expect(yield* typing.cachedPeers).toBe(2)
      yield* typing.ticketFor(b, undefined)
      yield* typing.ticketFor(c, undefined)
      expect(fake.configCalls).toHaveLength(3)
      yield* typing.ticketFor(a, undefined)
      expect(fake.configCalls).toHaveLength(4)
      // a thousand peers later the cache still holds two
      for (let i = 0; i < 1_000; i++) yield* typing.ticketFor(peerOf(`p${i}@im.wechat`), undefined)
      expect(yield* typing.cachedPeers).toBe(2)
    }))

  it.effect("sends typing at the start and every 5 s while the turn runs, and cancels at the end", () =>
    Effect.gen(function* () {
      const fake = fakeApi([{ ret: 0, typing_ticket: "T" }])
      const typing = yield* makeTyping(fake.api)
      const gate = yield* Deferred.make<string>()
      const turn = yield* Effect.fork(typing.duringTurn(peer, "ctx", Deferred.await(gate)))
      yield* settle
      expect(fake.typing.map((t) => [t.at, t.request.status])).toEqual([[0, 1]])
      yield* TestClock.adjust(Duration.seconds(5))
      yield* TestClock.adjust(Duration.seconds(5))
      yield* TestClock.adjust(Duration.seconds(4))
      expect(fake.typing.map((t) => [t.at, t.request.status])).toEqual([[0, 1], [5_000, 1], [10_000, 1]])
      yield* Deferred.succeed(gate, "answer")
      expect(yield* Fiber.join(turn)).toBe("answer")
      expect(fake.typing.at(-1)?.request).toEqual({ ilink_user_id: peer.id, typing_ticket: "T", status: 2 })
      const count = fake.typing.length
      yield* TestClock.adjust(Duration.seconds(30))
      expect(fake.typing).toHaveLength(count)
    }))

  it.effect("cancels typing when the turn fails or is interrupted, and passes the failure on", () =>
    Effect.gen(function* () {
      const fake = fakeApi([{ ret: 0, typing_ticket: "T" }])
      const typing = yield* makeTyping(fake.api)
      const failed = yield* Effect.either(typing.duringTurn(peer, "ctx", Effect.zipRight(settle, Effect.fail("agent error"))))
      expect(failed).toEqual(Either.left("agent error"))
      expect(fake.typing.map((t) => t.request.status)).toEqual([1, 2])
      const hanging = yield* Effect.fork(typing.duringTurn(peer, "ctx", Effect.never))
      yield* settle
      yield* Fiber.interrupt(hanging)
      expect(fake.typing.map((t) => t.request.status)).toEqual([1, 2, 1, 2])
    }))

  it.effect("makes no typing calls when the ticket is empty or getconfig fails", () =>
    Effect.gen(function* () {
      for (const answer of [{ ret: 0 }, configFailure] as const) {
        const fake = fakeApi([answer])
        const typing = yield* makeTyping(fake.api)
        const result = yield* typing.duringTurn(peer, "ctx", Effect.zipRight(settle, Effect.succeed(42)))
        expect(result).toBe(42)
        expect(fake.typing).toHaveLength(0)
        expect(fake.configCalls).toHaveLength(1)
      }
    }))

  it.effect("a failing sendtyping never disturbs the turn", () =>
    Effect.gen(function* () {
      const fake = fakeApi([{ ret: 0, typing_ticket: "T" }], true)
      const typing = yield* makeTyping(fake.api)
      const turn = yield* Effect.fork(typing.duringTurn(peer, "ctx", Effect.as(Effect.sleep(Duration.seconds(12)), "ok")))
      yield* TestClock.adjust(Duration.seconds(12))
      expect(yield* Fiber.join(turn)).toBe("ok")
      expect(fake.typing.map((t) => t.request.status)).toEqual([1, 1, 1, 2])
    }))
  it.effect("callers for a peer whose fetch is in flight wait for it: one getconfig, one ticket for all", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const api = scriptedApi({
        getConfig: () => Effect.zipRight(Effect.sync(() => void calls++), Effect.as(Deferred.await(gate), { ret: 0, typing_ticket: "T" }))
      })
      const typing = yield* makeTyping(api)
      const first = yield* Effect.fork(typing.ticketFor(peer, "ctx"))
      yield* settle
      const second = yield* Effect.fork(typing.ticketFor(peerOf(peer.id.toUpperCase()), "ctx"))
      yield* settle
      expect(calls).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      expect([yield* Fiber.join(first), yield* Fiber.join(second)]).toEqual(["T", "T"])
      expect(calls).toBe(1)
    }))

  it.effect("a fetch cut off by an interruption leaves nothing stuck: the next turn fetches again", () =>
    Effect.gen(function* () {
      let calls = 0
      const api = scriptedApi({
        getConfig: () => Effect.zipRight(Effect.sync(() => void calls++), calls === 0 ? Effect.never : Effect.succeed({ ret: 0, typing_ticket: "T2" }))
      })
      const typing = yield* makeTyping(api)
      const hung = yield* Effect.fork(typing.ticketFor(peer, "ctx"))
      yield* settle
      yield* Fiber.interrupt(hung)
      expect(yield* typing.ticketFor(peer, "ctx")).toBe("T2")
      expect(calls).toBe(2)
    }))
})
