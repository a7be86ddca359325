/**
 * The sandbox emulator for promise-style adapter tests: started in its own scope, closed by `close`.
 */
import { Effect, Exit, Scope } from "effect"
import { type Emulator, type EmulatorOptions, makeEmulator } from "../../sandbox/emulator/Emulator.js"

export interface RunningEmulator {
  readonly emulator: Emulator
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  readonly close: () => Promise<void>
}

export const startEmulator = async (options: EmulatorOptions = {}): Promise<RunningEmulator> => {
  const scope = Effect.runSync(Scope.make())
  const emulator = await Effect.runPromise(Scope.extend(makeEmulator({ longPollMs: 300, ...options }), scope))
  return {
    emulator,
    run: (effect) => Effect.runPromise(effect),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Settles-tracking wrapper: lets a test assert a promise is still pending. */
export const track = <A>(promise: Promise<A>) => {
  const state: { settled: "pending" | "resolved" | "rejected"; error: unknown } = { settled: "pending", error: undefined }
  const done = promise.then(
    (value) => {
      state.settled = "resolved"
      return value
    },
    (error) => {
      state.settled = "rejected"
      state.error = error
      throw error
    }
  )
  done.catch(() => {})
  return { state, done }
}
