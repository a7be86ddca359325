/**
 * Polls a condition with a bounded deadline: for e2e tests that wait on something a real process does.
 * Real time on purpose (the other side is a real process); fails with the last value seen.
 */
import { Duration, Effect, Schedule } from "effect"
import { WaitTimeoutError } from "./HarnessError.js"

const describe = (value: unknown) => (JSON.stringify(value) ?? String(value)).slice(0, 2000)

export const waitUntil = <A, E, R>(
  what: string,
  probe: Effect.Effect<A, E, R>,
  done: (value: A) => boolean,
  options: { readonly timeoutMs: number; readonly intervalMs?: number } = { timeoutMs: 30_000 }
): Effect.Effect<A, E | WaitTimeoutError, R> =>
  Effect.gen(function*() {
    let last: A | undefined
    const attempt = probe.pipe(
      Effect.tap((value) => Effect.sync(() => (last = value))),
      Effect.filterOrFail(done, () => "not yet" as const)
    )
    return yield* attempt.pipe(
      Effect.retry({ schedule: Schedule.spaced(Duration.millis(options.intervalMs ?? 200)), while: (e) => e === "not yet" }),
      Effect.timeoutFail({ duration: Duration.millis(options.timeoutMs), onTimeout: () => new WaitTimeoutError({ what, lastSeen: describe(last) }) }),
      Effect.catchIf((e): e is "not yet" => e === "not yet", () => Effect.fail(new WaitTimeoutError({ what, lastSeen: describe(last) })))
    )
  })
