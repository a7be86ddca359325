/**
 * Starts bench/support/emulator-child.ts in a child process for the length of the scope, and asks it
 * things over IPC. The child inherits tsx's loader flags from this process's execArgv.
 */
import { Effect } from "effect"
import { fork } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { BotInfo } from "../../sandbox/emulator/Emulator.js"
import type { Ask } from "./emulator-child.js"

export interface ChildEmulator {
  readonly baseUrl: string
  readonly cdnBaseUrl: string
  /** the bot the child made at start */
  readonly bot: BotInfo
  readonly ask: <A>(message: DistributiveOmit<Ask, "id">) => Effect.Effect<A>
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

interface Ready {
  readonly baseUrl: string
  readonly cdnBaseUrl: string
  readonly bot: BotInfo
}

export const childEmulator = (options: { readonly longPollMs?: number; readonly uploadUrlMode?: "param" } = {}) =>
  Effect.acquireRelease(
    Effect.async<{ child: ReturnType<typeof fork>; ready: Ready }>((resume) => {
      const args = [
        ...(options.longPollMs === undefined ? [] : [`--long-poll-ms=${options.longPollMs}`]),
        ...(options.uploadUrlMode === undefined ? [] : [`--upload-url-mode=${options.uploadUrlMode}`])
      ]
      const child = fork(Path.join(Path.dirname(fileURLToPath(import.meta.url)), "emulator-child.ts"), args, { stdio: "inherit" })
      child.once("message", (ready: Ready) => resume(Effect.succeed({ child, ready })))
    }),
    ({ child }) => Effect.sync(() => child.disconnect())
  ).pipe(Effect.map(({ child, ready }): ChildEmulator => {
    let next = 0
    const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
    child.on("message", (message: { kind: string; id: number; value?: unknown; error?: string }) => {
      const pending = waiting.get(message.id)
      waiting.delete(message.id)
      if (message.error !== undefined) pending?.reject(new Error(message.error))
      else pending?.resolve(message.value)
    })
    return {
      ...ready,
      ask: <A>(message: DistributiveOmit<Ask, "id">) =>
        Effect.promise(() =>
          new Promise<A>((resolve, reject) => {
            const id = next++
            waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
            child.send({ ...message, id })
          })
        )
    }
  }))
