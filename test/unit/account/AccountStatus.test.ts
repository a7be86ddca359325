import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { AccountPhase, makeAccountState, markPollDone, setPhase } from "../../../src/account/AccountStatus.js"

describe("AccountStatus", () => {
  it.effect("a completed poll makes the account Running and stamps the poll, and the new messages when it brought some", () =>
    Effect.gen(function*() {
      const state = yield* makeAccountState
      yield* setPhase(state, AccountPhase.Backoff({ nextAttemptAt: 5_000, attempt: 2 }))
      yield* TestClock.adjust(1_000)
      yield* markPollDone(state, false)
      expect(yield* state.get).toEqual({ phase: AccountPhase.Running(), lastPollAt: 1_000 })
      yield* TestClock.adjust(1_000)
      yield* markPollDone(state, true)
      expect(yield* state.get).toEqual({ phase: AccountPhase.Running(), lastPollAt: 2_000, lastInboundAt: 2_000 })
      yield* TestClock.adjust(1_000)
      yield* markPollDone(state, false)
      expect(yield* state.get).toEqual({ phase: AccountPhase.Running(), lastPollAt: 3_000, lastInboundAt: 2_000 })
    }))

  it.effect("a poll that completes after the stop leaves the account Stopped", () =>
    Effect.gen(function*() {
      const state = yield* makeAccountState
      yield* setPhase(state, AccountPhase.Stopped())
      yield* markPollDone(state, true)
      expect((yield* state.get).phase).toEqual(AccountPhase.Stopped())
    }))
})
