/**
 * CoalescingWriter: a writer fiber that keeps one file up to date with the state at the moment of each
 * write: ContextTokens rewrites each of its files whole, QuoteStore appends the lines queued since the
 * last write. The fiber is alive only while there is something to write (OnDemandWorker.ts), so an idle
 * account holds none.
 *
 * Changes are numbered. `change` records one and wakes the writer without waiting for the disk; a write
 * covers every change recorded before it started, so the changes made while a write runs share the next
 * one. `settled(n)` completes once change n has been written (at once if it already was). A failed write
 * is logged and settles its changes too: the state stays in memory and the next change writes it again.
 *
 * The writer lives in the scope `make` runs in; closing that scope first flushes, then stops the fiber.
 */
import { Effect, type Scope } from "effect"
import { OnDemandWorker } from "./OnDemandWorker.js"
import { Watched } from "./Watched.js"

export interface CoalescingWriter {
  /** records a change, wakes the writer, and returns the change's number */
  readonly change: Effect.Effect<number>
  /** completes once change `n` is settled (0: nothing to wait for) */
  readonly settled: (n: number) => Effect.Effect<void>
  /** completes once every change recorded so far is settled */
  readonly flush: Effect.Effect<void>
}

/** A class, so its steps are methods shared by every writer, not closures made for each (ARCHITECTURE "Light accounts"). */
class Writer implements CoalescingWriter {
  private recorded = 0

  constructor(private readonly written: Watched<number>, private readonly writer: OnDemandWorker) {}

  /** the number of the latest change; a write that starts now covers it */
  get latest(): number {
    return this.recorded
  }

  get change(): Effect.Effect<number> {
    return Effect.suspend(() => {
      const n = ++this.recorded
      return Effect.as(this.writer.wake, n)
    })
  }

  settled(n: number): Effect.Effect<void> {
    return this.written.until((done) => done >= n)
  }

  get flush(): Effect.Effect<void> {
    return Effect.suspend(() => this.settled(this.recorded))
  }
}

export const make = <E>(options: {
  /** writes the current state (read when the write starts): the whole file, or what was queued */
  readonly save: Effect.Effect<void, E>
  /** logged, with the cause, when a write fails */
  readonly warning: string
}): Effect.Effect<CoalescingWriter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const written = yield* Watched.make(0)
    // set before anything can wake the worker: only the writer's own `change` does
    let self: Writer | undefined
    // one write covers every change recorded before it started
    const worker = yield* OnDemandWorker.make(Effect.suspend(() => {
      const covers = self === undefined ? 0 : self.latest
      return options.save.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(options.warning, cause)),
        Effect.zipRight(written.update(() => covers))
      )
    }))
    const writer = new Writer(written, worker)
    self = writer
    // added after the worker's stop finalizer, so it runs before the worker is interrupted
    yield* Effect.addFinalizer(() => writer.flush)
    return writer
  })
