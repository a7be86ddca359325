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

export const make = <A>(initial: A): Effect.Effect<Watched<A>> =>
  Effect.sync(() => {
    let value = initial
    const waiters = new Set<Waiter<A>>()
    return {
      get: Effect.sync(() => value),
      update: (f) =>
        Effect.sync(() => {
          value = f(value)
          for (const waiter of waiters) {
            if (!waiter.holds(value)) continue
            waiters.delete(waiter)
            waiter.wake()
          }
        }),
      until: (holds) =>
        Effect.async<void>((resume) => {
          if (holds(value)) return resume(Effect.void)
          const waiter: Waiter<A> = { holds, wake: () => resume(Effect.void) }
          waiters.add(waiter)
          return Effect.sync(() => void waiters.delete(waiter))
        })
    }
  })

export const Watched = { make }
