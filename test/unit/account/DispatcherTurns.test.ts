/**
 * The Dispatcher driving host turns (TestAgentTurns) in virtual time: peers overlap, each peer's turns do
 * not, and a held, failing or defecting turn affects only its own message.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, TestClock } from "effect"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { Dispatcher } from "../../../src/account/Dispatcher.js"
import type { ClaimedMessage } from "../../../src/account/Inbox.js"
import { ChunkDelivered, Receipt } from "../../../src/account/Receipt.js"
import { recordingReplyChannel, TestAgentTurns, type TestAgentTurnsService } from "../../../src/account/TestAgentTurns.js"
import { noMedia } from "../../../src/account/InboundMedia.js"

/** A message from `peer` as the Inbox claims it: the peer normalised once, there. */
const claimed = (peer: string, n: number): ClaimedMessage => ({
  key: `mid:${peer}-${n}`,
  peer: Either.getOrThrow(normalizePeerId(peer)),
  message: { from_user_id: peer, context_token: `ctx-${peer}` },
  claimedAt: 0
})

const reply = recordingReplyChannel((text) =>
  Effect.succeed(Receipt.fromChunks("x", [new ChunkDelivered({ clientId: `c-${text}`, messageId: "1" })]))
)

const dispatcherFor = (host: TestAgentTurnsService) =>
  Dispatcher.make({
    concurrency: 4,
    handle: (claimed: ClaimedMessage) =>
      host.run(
        {
          accountId: "a",
          claimed,
          peer: claimed.peer,
          contextToken: claimed.message.context_token,
          runId: `run-${claimed.key}`,
          media: Effect.succeed(noMedia(0))
        },
        reply
      )
  })

describe("Dispatcher with host turns", () => {
  it.scoped("runs different peers' 10 s turns side by side and one peer's turns one after another", () =>
    Effect.gen(function* () {
      const host = yield* TestAgentTurns.make({ delay: Duration.seconds(10), replies: ["ok"] })
      const dispatcher = yield* dispatcherFor(host)
      for (const n of [1, 2]) for (const peer of ["a", "b", "c"]) yield* dispatcher.offer(claimed(peer, n))
      yield* TestClock.adjust(Duration.seconds(10))
      const afterFirst = yield* host.turns
      expect(afterFirst.filter((t) => t.outcome === "completed").map((t) => t.turn.claimed.key).sort()).toEqual([
        "mid:a-1",
        "mid:b-1",
        "mid:c-1"
      ])
      yield* TestClock.adjust(Duration.seconds(10))
      yield* dispatcher.awaitIdle
      const turns = yield* host.turns
      expect(turns.map((t) => t.endedAt)).toEqual([10_000, 10_000, 10_000, 20_000, 20_000, 20_000])
      expect(yield* host.maxActive).toBe(3)
      for (const peer of ["a", "b", "c"]) {
        const own = turns.filter((t) => t.turn.peer.key === peer)
        expect(own[1]!.startedAt).toBeGreaterThanOrEqual(own[0]!.endedAt!)
      }
      expect(turns.every((t) => t.replies.length === 1 && t.replies[0]!.result._tag === "Right")).toBe(true)
    }))

  it.scoped("a held turn holds only its own peer; failed and defecting turns do not stop the next message", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const host = yield* TestAgentTurns.make({ replies: ["ok"] })
      yield* host.script({ peer: "slow" }, { gate, replies: ["finally"] })
      yield* host.script({ key: "mid:b-1" }, { fail: "model unavailable" })
      yield* host.script({ key: "mid:b-2" }, { defect: "bug" })
      const dispatcher = yield* dispatcherFor(host)
      yield* dispatcher.offer(claimed("slow", 1))
      for (const n of [1, 2, 3]) yield* dispatcher.offer(claimed("b", n))
      yield* Effect.repeatN(Effect.yieldNow(), 50)
      const outcomes = Object.fromEntries((yield* host.turns).map((t) => [t.turn.claimed.key, t.outcome]))
      expect(outcomes).toEqual({ "mid:slow-1": undefined, "mid:b-1": "failed", "mid:b-2": "defect", "mid:b-3": "completed" })
      expect(yield* dispatcher.size).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      yield* dispatcher.awaitIdle
      expect((yield* host.turns)[0]?.outcome).toBe("completed")
      expect(reply.sent).toContain("finally")
    }))

  it.scoped("a skipped turn is recorded as skipped and sends nothing", () =>
    Effect.gen(function* () {
      const host = yield* TestAgentTurns.make({ skip: "sender not paired", replies: ["never"] })
      const channel = recordingReplyChannel(() => Effect.die("must not send"))
      const outcome = yield* host.run(
        { accountId: "a", claimed: claimed("z", 1), peer: Either.getOrThrow(normalizePeerId("z")), contextToken: undefined, runId: "r", media: Effect.succeed(noMedia(0)) },
        channel
      )
      expect(outcome).toMatchObject({ _tag: "Skipped", reason: "sender not paired" })
      expect(channel.sent).toEqual([])
    }))
})
