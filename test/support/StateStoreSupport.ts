/** Shared set-up of the StateStore tests: a store rooted at a fresh temp dir, with its warnings captured. */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Effect, Logger } from "effect"
import { StateStore } from "../../src/state/StateStore.js"

/** A StateStore in a fresh temp dir; `warnings` collects every warning logged while `body` runs. */
export const inStateDirWithWarnings = <A, E>(
  prefix: string,
  body: (stateDir: string, warnings: ReadonlyArray<string>) => Effect.Effect<A, E, StateStore | FileSystem.FileSystem>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stateDir = yield* fs.makeTempDirectoryScoped({ prefix })
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    return yield* body(stateDir, warnings).pipe(
      Effect.provide(StateStore.layerAt(stateDir)),
      Effect.provide(Logger.replace(Logger.defaultLogger, capture))
    )
  }).pipe(Effect.provide(NodeContext.layer))
