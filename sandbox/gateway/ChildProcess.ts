/**
 * Runs a command of our own to completion with a bounded deadline and collects its output.
 * On timeout the child (and only it) gets SIGTERM, then SIGKILL if it ignores that.
 */
import { Clock, Effect } from "effect"
import { spawn } from "node:child_process"

export interface CommandResult {
  readonly code: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
  readonly durationMs: number
  readonly timedOut: boolean
}

export interface RunCommandOptions {
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
  readonly timeoutMs: number
  readonly stdin?: string
}

export const runCommand = (file: string, args: ReadonlyArray<string>, options: RunCommandOptions) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const result = yield* Effect.async<Omit<CommandResult, "durationMs">>((resume) => {
      const child = spawn(file, [...args], { cwd: options.cwd, env: { ...options.env }, stdio: ["pipe", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      let timedOut = false
      let killTimer: NodeJS.Timeout | undefined
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")))
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
      // a child that exits without reading stdin makes the write fail with EPIPE; that is not an error here
      child.stdin.on("error", () => {})
      child.stdin.end(options.stdin ?? "")
      const deadline = setTimeout(() => {
        timedOut = true
        child.kill("SIGTERM")
        killTimer = setTimeout(() => child.kill("SIGKILL"), 5_000)
      }, options.timeoutMs)
      child.on("error", (error) => {
        clearTimeout(deadline)
        resume(Effect.succeed({ code: null, signal: null, stdout, stderr: `${stderr}${String(error)}\n`, timedOut }))
      })
      child.on("close", (code, signal) => {
        clearTimeout(deadline)
        if (killTimer) clearTimeout(killTimer)
        resume(Effect.succeed({ code, signal, stdout, stderr, timedOut }))
      })
      return Effect.sync(() => {
        clearTimeout(deadline)
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      })
    })
    const finished = yield* Clock.currentTimeMillis
    return { ...result, durationMs: finished - started } satisfies CommandResult
  })
