/**
 * CursorStore: each account's long-poll cursor `get_updates_buf` (PROTOCOL §2.2), in the official
 * `accounts/<id>.sync.json` (compact JSON, mode 0600).
 *
 * Reading falls back to the raw-id file, then the single-account legacy file; a file that cannot be read
 * or decoded is skipped with one warning, and with none left the cursor is "" (the server starts afresh).
 */
import { Effect, Layer, Option } from "effect"
import { accountFiles, StateDir } from "./StatePaths.js"
import { StateFiles } from "./StateFiles.js"
import { SyncFile } from "./StoredFiles.js"

export class CursorStore extends Effect.Service<CursorStore>()("openclaw-weixin/CursorStore", {
  effect: Effect.gen(function*() {
    const paths = yield* StateDir
    const files = yield* StateFiles

    /** The stored cursor, or "" when there is none. */
    const load = Effect.fn("CursorStore.load")(function*(rawId: string) {
      for (const file of accountFiles(paths, rawId).cursorSources) {
        const sync = yield* files.readJsonLeniently(file, SyncFile)
        if (Option.isSome(sync)) return sync.value.get_updates_buf
      }
      return ""
    })

    /** Replaces the account's cursor atomically. */
    const save = Effect.fn("CursorStore.save")(function*(rawId: string, getUpdatesBuf: string) {
      yield* files.writeText(accountFiles(paths, rawId).cursor, JSON.stringify({ get_updates_buf: getUpdatesBuf }))
    })

    return { load, save } as const
  }),
  dependencies: [StateDir.layer, StateFiles.layer]
}) {
  /** in memory (StateFiles.layerMemory), for tests of any folder */
  static readonly layerMemory: Layer.Layer<CursorStore> = CursorStore.DefaultWithoutDependencies.pipe(
    Layer.provide(Layer.merge(StateDir.layerMemory, StateFiles.layerMemory))
  )
}
