import { describe, expect, it } from "@effect/vitest"
import { Effect, Random, TestClock } from "effect"
import { CLIENT_ID_PATTERN, makeClientId } from "../../../src/domain/ClientId.js"

describe("makeClientId", () => {
  it.effect("stamps the id with the Clock's epoch milliseconds", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_123)
      const id = yield* makeClientId
      expect(id).toMatch(/^openclaw-weixin:1700000000123-[0-9a-f]{8}$/)
      yield* TestClock.adjust("5 seconds")
      expect(yield* makeClientId).toMatch(/^openclaw-weixin:1700000005123-/)
    }))

  it.effect("formats the random part as 8 zero-padded lowercase hex digits", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(42)
      const id = yield* makeClientId.pipe(Effect.withRandom(Random.fixed([0x0a, 0xbcde])))
      expect(id).toBe("openclaw-weixin:42-000abcde")
    }))

  it.effect("is reproducible under a seeded Random and differs between draws", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000)
      // a Random value carries its own state, so each run gets a fresh generator from the same seed
      const draw = Effect.suspend(() =>
        Effect.all([makeClientId, makeClientId, makeClientId]).pipe(Effect.withRandom(Random.make("seed-1")))
      )
      const first = yield* draw
      const again = yield* draw
      const other = yield* Effect.all([makeClientId, makeClientId, makeClientId]).pipe(
        Effect.withRandom(Random.make("seed-2"))
      )
      expect(other).not.toEqual(first)
      expect(again).toEqual(first)
      expect(new Set(first).size).toBe(3)
      for (const id of first) expect(id).toMatch(CLIENT_ID_PATTERN)
    }))
})
