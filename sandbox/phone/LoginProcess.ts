/**
 * `openclaw channels login --channel openclaw-weixin` run in the background for the browser phone, exactly
 * as a user runs it in a terminal: the plugin asks the emulator for a QR code, prints it and long-polls its
 * status while the page scans and confirms it. Its output is kept for the page, and what the page types
 * (the number a verify-code check shows on the phone) goes to its stdin, as a person would type it.
 *
 * The process is ours alone: it leads its own process group, and closing the scope ends it (SIGTERM, then
 * SIGKILL to that group only if it ignores SIGTERM).
 */
import { Effect, type Scope } from "effect"
import { spawn } from "node:child_process"
import { inNamespace } from "../gateway/Netns.js"
import { openclawEntry } from "../gateway/Node24.js"
import type { RunningGateway } from "../gateway/Gateway.js"

export interface LoginRun {
  readonly id: number
  /** What the login printed so far, ANSI colours removed. */
  readonly output: () => string
  /** undefined while running */
  readonly exitCode: () => number | null | undefined
  readonly write: (line: string) => void
  /** Ends its stdin: once the phone confirmed, the login has nothing left to ask. */
  readonly endInput: () => void
  readonly stop: () => Promise<void>
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g

/** Starts one login; every run still going is stopped when the scope closes. */
export const makeLoginRunner = (gateway: RunningGateway, channelId: string): Effect.Effect<() => LoginRun, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runs = new Set<LoginRun>()
    yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([...runs].map((run) => run.stop()))))
    let nextId = 1
    return () => {
      const [file, args] = inNamespace(gateway.netns, gateway.node24, [openclawEntry, "channels", "login", "--channel", channelId])
      const child = spawn(file, [...args], { cwd: gateway.root.root, env: { ...gateway.root.env }, stdio: ["pipe", "pipe", "pipe"], detached: true })
      let output = ""
      let exit: number | null | undefined = undefined
      const exited = new Promise<void>((resolve) => {
        child.on("close", (code) => {
          exit = code
          resolve()
        })
        child.on("error", (error) => {
          output += `could not start the login: ${String(error)}\n`
          exit = null
          resolve()
        })
      })
      const append = (chunk: Buffer) => {
        output += chunk.toString("utf8").replace(ANSI, "")
      }
      child.stdout.on("data", append)
      child.stderr.on("data", append)
      child.stdin.on("error", () => {})
      const run: LoginRun = {
        id: nextId++,
        output: () => output,
        exitCode: () => exit,
        write: (line) => {
          if (exit === undefined) child.stdin.write(`${line}\n`)
        },
        endInput: () => {
          child.stdin.end()
        },
        stop: async () => {
          if (exit !== undefined || child.pid === undefined) return
          child.kill("SIGTERM")
          const killer = setTimeout(() => {
            try {
              process.kill(-(child.pid as number), "SIGKILL")
            } catch {
              // already gone
            }
          }, 5_000)
          await exited
          clearTimeout(killer)
        }
      }
      runs.add(run)
      void exited.then(() => runs.delete(run))
      return run
    }
  })
