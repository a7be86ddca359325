/** Keyed wake-ups for long-polls: waiters on a key are released together when it fires. */
import { Deferred, Effect, FiberId, Option } from "effect"

export class Signals {
  private readonly waiters = new Map<string, Set<Deferred.Deferred<void>>>()

  fire(key: string): void {
    const set = this.waiters.get(key)
    if (set === undefined) return
    this.waiters.delete(key)
    for (const waiter of set) Deferred.unsafeDone(waiter, Effect.void)
  }

  /** True when fired before the timeout. */
  wait(key: string, timeoutMs: number): Effect.Effect<boolean> {
    return Effect.suspend(() => {
      const waiter = Deferred.unsafeMake<void>(FiberId.none)
      let set = this.waiters.get(key)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(key, set)
      }
      set.add(waiter)
      return Deferred.await(waiter).pipe(
        Effect.timeoutOption(`${Math.max(0, timeoutMs)} millis`),
        Effect.map(Option.isSome),
        Effect.ensuring(Effect.sync(() => this.waiters.get(key)?.delete(waiter)))
      )
    })
  }
}
