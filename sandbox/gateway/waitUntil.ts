/**
 * The one wait-until helper of the repository (the sandbox, the e2e harness and every test use it):
 * polls `probe` until `done` accepts its value, and fails with WaitTimeoutError naming what it waited for
 * and the last value seen.
 *
 * Real time on purpose, never the Clock: the other side is real I/O (a process, a socket, a file), and a
 * test on TestClock must not have virtual time move while it waits. Between probes it first only yields
 * to the event loop, then waits longer and longer real intervals up to `intervalMs` (default 200 ms), so
 * a fiber that is about to finish is seen at once and a slow process is not polled in a tight loop.
 *
 * @example
 * ```ts
 * yield* waitUntil("two polls", pollCount, (n) => n >= 2)
 * yield* waitUntil("the account running", isRunning, { timeoutMs: 20_000 })
 * ```
 */
import { Effect } from "effect"
import { WaitTimeoutError } from "./HarnessError.js"

export interface WaitOptions {
  /** give up after this much real time (default 10 s) */
  readonly timeoutMs?: number
  /** the longest pause between two probes (default 200 ms) */
  readonly intervalMs?: number
}

const describe = (value: unknown) => (JSON.stringify(value) ?? String(value)).slice(0, 2000)

/** A real-time pause that TestClock does not control; 0 yields to the event loop once. */
const pause = (ms: number) =>
  Effect.async<void>((resume) => {
    if (ms <= 0) {
      const handle = setImmediate(() => resume(Effect.void))
      return Effect.sync(() => clearImmediate(handle))
    }
    const handle = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(handle))
  })

export function waitUntil<A, E, R>(
  what: string,
  probe: Effect.Effect<A, E, R>,
  done?: ((value: A) => boolean) | WaitOptions,
  options?: WaitOptions
): Effect.Effect<A, E | WaitTimeoutError, R> {
  const accept = typeof done === "function" ? done : (value: A) => Boolean(value)
  const { timeoutMs = 10_000, intervalMs = 200 } = (typeof done === "function" ? options : done) ?? {}
  return Effect.gen(function*() {
    const deadline = performance.now() + timeoutMs
    for (let round = 0;; round++) {
      const value = yield* probe
      if (accept(value)) return value
      if (performance.now() > deadline) return yield* new WaitTimeoutError({ what, lastSeen: describe(value) })
      yield* Effect.yieldNow()
      // 0 (event loop only) for the first rounds, then 1, 2, 4 … ms up to the interval
      yield* pause(round < 8 ? 0 : Math.min(intervalMs, 2 ** (round - 8)))
    }
  })
}
