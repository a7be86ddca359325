/**
 * A long-running child process of our own (the gateway, the netns relay): its output is kept in memory,
 * readiness is awaited on an output line with a deadline, and stopping is SIGTERM, wait, then SIGKILL to
 * its own process group only as a last resort. Nothing here signals a process the harness did not start.
 */
import { Clock, Deferred, Effect, Ref } from "effect"
import { spawn, type ChildProcess } from "node:child_process"

export interface ProcessExit {
  readonly code: number | null
  readonly signal: string | null
}

export interface StopResult extends ProcessExit {
  readonly durationMs: number
  /** True when SIGTERM was not enough and the group got SIGKILL. */
  readonly killed: boolean
}

export interface ManagedProcess {
  readonly pid: number
  readonly output: Effect.Effect<string>
  readonly exited: Deferred.Deferred<ProcessExit>
  /** Waits until `pattern` appears in the output; fails with the exit if the process ends first. */
  readonly waitForOutput: (
    pattern: RegExp,
    timeoutMs: number
  ) => Effect.Effect<"matched" | "timeout" | ProcessExit>
  readonly stop: (timeoutMs: number) => Effect.Effect<StopResult>
}

export const spawnManaged = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly env: Readonly<Record<string, string>>; readonly cwd: string }
) =>
  Effect.gen(function*() {
    const exited = yield* Deferred.make<ProcessExit>()
    const outputRef = yield* Ref.make("")
    const changed = yield* Ref.make(yield* Deferred.make<void>())

    // detached: the child leads its own process group, so a last-resort SIGKILL also reaches the workers it forked
    const child: ChildProcess = spawn(file, [...args], {
      cwd: options.cwd,
      env: { ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    const append = (chunk: Buffer) =>
      Effect.runSync(
        Effect.gen(function*() {
          yield* Ref.update(outputRef, (text) => text + chunk.toString("utf8"))
          const previous = yield* Ref.getAndSet(changed, yield* Deferred.make<void>())
          yield* Deferred.succeed(previous, undefined)
        })
      )
    child.stdout?.on("data", append)
    child.stderr?.on("data", append)
    child.on("exit", (code, signal) => Effect.runSync(Deferred.succeed(exited, { code, signal })))
    child.on("error", (error) => {
      append(Buffer.from(`spawn error: ${String(error)}\n`))
      Effect.runSync(Deferred.succeed(exited, { code: null, signal: null }))
    })

    const waitForOutput = (pattern: RegExp, timeoutMs: number) => {
      const loop: Effect.Effect<"matched" | ProcessExit> = Effect.gen(function*() {
        const next = yield* Ref.get(changed)
        if (pattern.test(yield* Ref.get(outputRef))) return "matched" as const
        const done = yield* Deferred.poll(exited)
        if (done._tag === "Some") return yield* done.value
        yield* Effect.raceFirst(Deferred.await(next), Deferred.await(exited))
        return yield* loop
      })
      return loop.pipe(Effect.timeoutTo({ duration: timeoutMs, onTimeout: () => "timeout" as const, onSuccess: (r) => r }))
    }

    const stop = (timeoutMs: number): Effect.Effect<StopResult> =>
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const already = yield* Deferred.poll(exited)
        if (already._tag === "Some") {
          const exit = yield* already.value
          return { ...exit, durationMs: 0, killed: false }
        }
        child.kill("SIGTERM")
        const graceful = yield* Deferred.await(exited).pipe(Effect.timeout(timeoutMs), Effect.option)
        if (graceful._tag === "Some") return { ...graceful.value, durationMs: (yield* Clock.currentTimeMillis) - start, killed: false }
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, "SIGKILL")
          } catch {
            child.kill("SIGKILL")
          }
        }
        const exit = yield* Deferred.await(exited).pipe(
          Effect.timeoutTo({ duration: 5_000, onTimeout: () => ({ code: null, signal: "SIGKILL" }), onSuccess: (e) => e })
        )
        return { ...exit, durationMs: (yield* Clock.currentTimeMillis) - start, killed: true }
      })

    const managed: ManagedProcess = {
      pid: child.pid ?? -1,
      output: Ref.get(outputRef),
      exited,
      waitForOutput,
      stop
    }
    return managed
  })
