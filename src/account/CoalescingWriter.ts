/**
 * CoalescingWriter: one writer fiber that keeps one file up to date by rewriting it whole from the state
 * at the moment of each write (ContextTokens keeps one per file).
 *
 * Changes are numbered. `change` records one and wakes the writer without waiting for the disk; a write
 * covers every change recorded before it started, so the changes made while a write runs share the next
 * one. `settled(n)` completes once change n has been written (at once if it already was). A failed write
 * is logged and settles its changes too: the state stays in memory and the next change writes it again.
 *
 * The writer lives in the scope `make` runs in; closing that scope first flushes, then stops the fiber.
 */
import { Effect, Queue, Ref, type Scope, Stream, SubscriptionRef } from "effect"

export interface CoalescingWriter {
  /** records a change, wakes the writer, and returns the change's number */
  readonly change: Effect.Effect<number>
  /** completes once change `n` is settled (0: nothing to wait for) */
  readonly settled: (n: number) => Effect.Effect<void>
  /** completes once every change recorded so far is settled */
  readonly flush: Effect.Effect<void>
}

export const make = <E>(options: {
  /** rewrites the whole file from the current state (read when the write starts) */
  readonly save: Effect.Effect<void, E>
  /** logged, with the cause, when a write fails */
  readonly warning: string
}): Effect.Effect<CoalescingWriter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const recorded = yield* Ref.make(0)
    const written = yield* SubscriptionRef.make(0)
    // one pending wake-up is enough: the write it starts covers every change made before it
    const wake = yield* Queue.sliding<void>(1)

    const writeOnce = Effect.gen(function*() {
      yield* Queue.take(wake)
      const covers = yield* Ref.get(recorded)
      yield* options.save.pipe(Effect.catchAllCause((cause) => Effect.logWarning(options.warning, cause)))
      yield* SubscriptionRef.set(written, covers)
    })
    yield* Effect.forkScoped(Effect.forever(writeOnce))

    const settled = (n: number): Effect.Effect<void> =>
      Effect.flatMap(SubscriptionRef.get(written), (now) =>
        now >= n
          ? Effect.void
          : written.changes.pipe(Stream.filter((done) => done >= n), Stream.take(1), Stream.runDrain))

    const flush = Effect.flatMap(Ref.get(recorded), settled)
    // added after the fork, so it runs before the fiber is interrupted
    yield* Effect.addFinalizer(() => flush)

    return {
      change: Ref.updateAndGet(recorded, (n) => n + 1).pipe(Effect.tap(() => Queue.offer(wake, undefined))),
      settled,
      flush
    }
  })
