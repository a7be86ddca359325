/**
 * Watched: a value that fibers can wait on until it meets a condition (ARCHITECTURE "Light accounts").
 *
 * It does for the actor's counters (writes done, messages in flight) what `SubscriptionRef.changes`
 * plus a stream filter did, without a PubSub per value: a waiter is one callback in a set, checked on
 * each update and removed when it is met or its fiber is interrupted. Updates are synchronous, so a
 * waiter never misses a value it was waiting for.
 */
import { Effect } from "effect"

export interface Watched<A> {
  readonly get: Effect.Effect<A>
  /** sets the value and wakes every waiter it satisfies */
  readonly update: (f: (current: A) => A) => Effect.Effect<void>
  /** completes once the value meets `holds` (at once if it already does) */
  readonly until: (holds: (value: A) => boolean) => Effect.Effect<void>
}

interface Waiter<A> {
  readonly holds: (value: A) => boolean
  readonly wake: () => void
}

/**
 * A class, so `update` and `until` are shared methods and not two closures made per value: an idle
 * account holds several of these (ARCHITECTURE "Light accounts").
 */
class WatchedValue<A> implements Watched<A> {
  private value: A
  // made on the first wait: most values are never waited on while idle
  private waiters: Set<Waiter<A>> | undefined

  constructor(initial: A) {
    this.value = initial
  }

  get get(): Effect.Effect<A> {
    return Effect.sync(() => this.value)
  }

  update(f: (current: A) => A): Effect.Effect<void> {
    return Effect.sync(() => {
      this.value = f(this.value)
      if (this.waiters === undefined) return
      for (const waiter of this.waiters) {
        if (!waiter.holds(this.value)) continue
        this.waiters.delete(waiter)
        waiter.wake()
      }
    })
  }

  until(holds: (value: A) => boolean): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (holds(this.value)) return resume(Effect.void)
      const waiter: Waiter<A> = { holds, wake: () => resume(Effect.void) }
      const waiters = this.waiters ??= new Set()
      waiters.add(waiter)
      return Effect.sync(() => void waiters.delete(waiter))
    })
  }
}

export const make = <A>(initial: A): Effect.Effect<Watched<A>> => Effect.sync(() => new WatchedValue(initial))

export const Watched = { make }
