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
 * With a `windowMs`, a woken writer first waits that long, so every change of the window shares one
 * write: for files nobody waits on, where a crash may lose the last window (ContextTokens' activity, the
 * quote store, the Inbox's cursor). A `flush` ends the wait at once.
 *
 * The writer lives in the scope `make` runs in; closing that scope first flushes, then stops the fiber.
 */
import { Deferred, Duration, Effect, type Scope } from "effect"
import { addLightFinalizer } from "./LightFinalizer.js"
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
  // the latest change a flush waits for: while it is not written, the writer does not wait out its window
  private wanted = 0
  private writtenUpTo = 0
  // ends the window the writer is waiting out, if it is waiting
  private hurry: Deferred.Deferred<void> | undefined

  constructor(private readonly written: Watched<number>, private readonly windowMs: number) {}

  /** set once by `make`, before anything can wake it: only `change` does */
  worker: OnDemandWorker | undefined

  get change(): Effect.Effect<number> {
    return Effect.suspend(() => {
      const n = ++this.recorded
      return this.worker === undefined ? Effect.succeed(n) : Effect.as(this.worker.wake, n)
    })
  }

  settled(n: number): Effect.Effect<void> {
    return this.written.until((done) => done >= n)
  }

  get flush(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.wanted = this.recorded
      const hurry = this.hurry
      return Effect.zipRight(hurry === undefined ? Effect.void : Deferred.succeed(hurry, undefined), this.settled(this.wanted))
    })
  }

  /** One run of the writer fiber: waits out the window unless a flush is waiting, then writes. */
  step<E>(save: Effect.Effect<void, E>, warning: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const write = Effect.suspend(() => {
        const covers = this.recorded
        return save.pipe(
          Effect.catchAllCause((cause) => Effect.logWarning(warning, cause)),
          Effect.zipRight(Effect.suspend(() => {
            this.writtenUpTo = covers
            return this.written.update(() => covers)
          }))
        )
      })
      if (this.windowMs === 0 || this.wanted > this.writtenUpTo) return write
      return Effect.flatMap(Deferred.make<void>(), (hurry) => {
        this.hurry = hurry
        return Effect.raceFirst(Effect.sleep(Duration.millis(this.windowMs)), Deferred.await(hurry)).pipe(
          Effect.ensuring(Effect.sync(() => void (this.hurry = undefined))),
          Effect.zipRight(write)
        )
      })
    })
  }
}

export const make = <E>(options: {
  /** writes the current state (read when the write starts): the whole file, or what was queued */
  readonly save: Effect.Effect<void, E>
  /** logged, with the cause, when a write fails */
  readonly warning: string
  /** how long a woken writer waits for more changes before it writes (0, the default: it writes at once) */
  readonly windowMs?: number
}): Effect.Effect<CoalescingWriter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const writer = new Writer(yield* Watched.make(0), options.windowMs ?? 0)
    writer.worker = yield* OnDemandWorker.make(writer.step(options.save, options.warning))
    // added after the worker's stop finalizer, so it runs before the worker is interrupted; a flush needs
    // none of the fiber refs `Effect.addFinalizer` would keep (LightFinalizer.ts)
    yield* addLightFinalizer(() => writer.flush)
    return writer
  })
