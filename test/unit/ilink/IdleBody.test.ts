import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import { idleBody } from "../../../src/ilink/IdleBody.js"
import { exitExactlyAt, settle } from "../../support/CdnTestkit.js"

const options = {
  idle: "30 seconds",
  onIdle: () => "idle" as const,
  onError: (cause: unknown) => `broken: ${cause instanceof Error ? cause.message : String(cause)}` as const
} as const

/** A body the test feeds chunk by chunk. */
const controlled = () => {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  let cancelled = false
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => void (cancelled = true)
  })
  return {
    body,
    send: (bytes: number) => controller?.enqueue(new Uint8Array(bytes)),
    end: () => controller?.close(),
    fail: (error: Error) => controller?.error(error),
    cancelled: () => cancelled
  }
}


describe("idleBody", () => {
  it.effect("a read that waits 30 s fails with onIdle then, not a moment earlier", () =>
    Effect.gen(function*() {
      const source = controlled()
      const fiber = yield* Effect.fork(Stream.runCollect(idleBody(source.body, options)))
      source.send(10)
      expect(yield* exitExactlyAt(fiber, "30 seconds")).toEqual(Exit.fail("idle"))
      expect(source.cancelled()).toBe(true)
    }))

  it.effect("a consumer that takes minutes between reads is not silence: every chunk arrives", () =>
    Effect.gen(function*() {
      const source = controlled()
      for (let i = 1; i <= 3; i++) source.send(i)
      source.end()
      const sizes: Array<number> = []
      yield* idleBody(source.body, options).pipe(
        Stream.runForEach((chunk) =>
          Effect.zipRight(Effect.sync(() => sizes.push(chunk.length)), TestClock.adjust("2 minutes"))
        )
      )
      expect(sizes).toEqual([1, 2, 3])
    }))

  it.effect("a body that keeps moving, 25 s between chunks, is never cut", () =>
    Effect.gen(function*() {
      const source = controlled()
      const fiber = yield* Effect.fork(Stream.runCollect(idleBody(source.body, options)))
      for (let i = 0; i < 6; i++) {
        yield* TestClock.adjust("25 seconds")
        source.send(4)
        yield* settle
      }
      source.end()
      const chunks = yield* Fiber.join(fiber)
      expect(Chunk.toReadonlyArray(chunks).map((c) => c.length)).toEqual([4, 4, 4, 4, 4, 4])
    }))

  it.effect("a body that breaks off fails with onError, after the chunks before the break", () =>
    Effect.gen(function*() {
      const source = controlled()
      const seen: Array<number> = []
      const fiber = yield* Effect.fork(Stream.runForEach(idleBody(source.body, options), (c) => Effect.sync(() => seen.push(c.length))))
      source.send(7)
      yield* settle
      source.fail(new Error("other side closed"))
      const exit = yield* Fiber.await(fiber)
      expect(exit).toEqual(Exit.fail("broken: other side closed"))
      expect(seen).toEqual([7])
    }))

  it.effect("a consumer that stops early cancels the body", () =>
    Effect.gen(function*() {
      const source = controlled()
      source.send(1)
      source.send(2)
      const first = yield* Stream.runCollect(Stream.take(idleBody(source.body, options), 1))
      expect(Chunk.size(first)).toBe(1)
      expect(source.cancelled()).toBe(true)
    }))

  it.effect("no body is an empty stream", () =>
    Effect.gen(function*() {
      expect(Chunk.size(yield* Stream.runCollect(idleBody(null, options)))).toBe(0)
    }))

  it.effect("batchBytes gathers several reads into one stream chunk, and a batch never waits past its size", () =>
    Effect.gen(function*() {
      const source = controlled()
      for (const size of [10, 10, 10, 10, 5]) source.send(size)
      source.end()
      const pulls: Array<ReadonlyArray<number>> = []
      yield* idleBody(source.body, { ...options, batchBytes: () => 20 }).pipe(
        Stream.runForEachChunk((chunk) => Effect.sync(() => pulls.push(Chunk.toReadonlyArray(chunk).map((c) => c.length))))
      )
      expect(pulls).toEqual([[10, 10], [10, 10], [5]])
    }))

  it.effect("a break in the middle of a batch delivers the batch first; the error is made after the consumer has seen it", () =>
    Effect.gen(function*() {
      const source = controlled()
      let counted = 0
      const fiber = yield* Effect.fork(
        idleBody(source.body, { ...options, batchBytes: () => 1000, onError: () => `broken after ${counted} bytes` }).pipe(
          Stream.runForEach((chunk) => Effect.sync(() => void (counted += chunk.length)))
        )
      )
      source.send(48)
      yield* settle
      source.fail(new Error("other side closed"))
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail("broken after 48 bytes"))
    }))
})
