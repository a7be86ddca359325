/**
 * ContextTokenStore: the two files behind ContextTokens (PROTOCOL §4).
 *
 * - the official `accounts/<id>.context-tokens.json`: user id exactly as the server sent it → token, compact
 *   JSON, so a switch back to the official plugin keeps its conversations. Read leniently: a corrupt file
 *   or one of another shape is no tokens (with one warning); entries that are not non-empty strings are
 *   skipped.
 * - our own `accounts/<id>.ocw-context-activity.json`: when each peer last wrote and replies since.
 */
import { Effect, Layer, Option, Schema } from "effect"
import { StateError } from "./StateError.js"
import { accountFiles, StateDir } from "./StatePaths.js"
import { StateFiles } from "./StateFiles.js"
import { ContextActivityFile, ContextTokensFile } from "./StoredFiles.js"

const encodeActivity = Schema.encode(Schema.parseJson(ContextActivityFile))

export class ContextTokenStore extends Effect.Service<ContextTokenStore>()("openclaw-weixin/ContextTokenStore", {
  effect: Effect.gen(function*() {
    const paths = yield* StateDir
    const files = yield* StateFiles

    /** user id → token, from the official file; missing or unreadable is empty */
    const loadTokens = Effect.fn("ContextTokenStore.loadTokens")(function*(rawId: string) {
      const stored = yield* files.readJsonLeniently(accountFiles(paths, rawId).contextTokens, ContextTokensFile)
      const entries = Option.match(stored, {
        onNone: () => [],
        onSome: (record) =>
          Object.entries(record).filter((entry): entry is [string, string] =>
            typeof entry[1] === "string" && entry[1] !== ""
          )
      })
      // fromEntries defines own properties, so a "__proto__" key cannot touch the prototype.
      return Object.fromEntries(entries) as Readonly<Record<string, string>>
    })

    /** Replaces the official token file atomically. */
    const saveTokens = Effect.fn("ContextTokenStore.saveTokens")(
      function*(rawId: string, tokens: Readonly<Record<string, string>>) {
        yield* files.writeText(accountFiles(paths, rawId).contextTokens, JSON.stringify(tokens))
      }
    )

    /** Our activity file; None when missing or corrupt (with one warning). */
    const loadActivity = Effect.fn("ContextTokenStore.loadActivity")(function*(rawId: string) {
      return yield* files.readJson(accountFiles(paths, rawId).contextActivity, ContextActivityFile)
    })

    /** Replaces our activity file atomically. */
    const saveActivity = Effect.fn("ContextTokenStore.saveActivity")(
      function*(rawId: string, activity: ContextActivityFile) {
        const file = accountFiles(paths, rawId).contextActivity
        const text = yield* encodeActivity(activity).pipe(
          Effect.mapError((error) =>
            new StateError({
              path: file,
              operation: "write",
              message: `refusing to write ${file}: the value does not match its schema (${error.message})`
            })
          )
        )
        yield* files.writeText(file, text)
      }
    )

    return { loadTokens, saveTokens, loadActivity, saveActivity } as const
  }),
  dependencies: [StateDir.layer, StateFiles.layer]
}) {
  /** in memory (StateFiles.layerMemory), for tests of any folder */
  static readonly layerMemory: Layer.Layer<ContextTokenStore> = ContextTokenStore.DefaultWithoutDependencies.pipe(
    Layer.provide(Layer.merge(StateDir.layerMemory, StateFiles.layerMemory))
  )
}
