/**
 * The emulator's own wall clock: real time plus an offset that tests move forward with `advance`,
 * so the 24 h reply window can be crossed without waiting. Server fibers run on Effect's live
 * clock on purpose: a test's TestClock must not freeze the server's long-polls.
 */
import { Clock, Effect } from "effect"

export class EmulatorClock {
  private offsetMs = 0

  /** Current emulator time in epoch milliseconds. */
  readonly now: Effect.Effect<number> = Effect.map(Clock.currentTimeMillis, (real) => real + this.offsetMs)

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`advanceClock needs a non-negative number of ms, got ${ms}`)
    this.offsetMs += ms
  }

  get offset(): number {
    return this.offsetMs
  }
}
