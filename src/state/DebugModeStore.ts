/**
 * DebugModeStore: the official `<state>/openclaw-weixin/debug-mode.json`, `{"accounts":{"<id>":true|false}}`
 * with a 2-space indent (PROTOCOL §3.8, §7.8), written on `/toggle-debug`. Every check looks at the file,
 * so an edit by hand (or by the official plugin) takes effect at once; but it reads and parses the file
 * only when its fingerprint (StateFiles) changed since the last read, since a check follows every turn.
 * A missing or broken file means "off" for every account (one warning); a toggle then writes a fresh,
 * valid file.
 */
import { Effect, Layer, Option, Schema } from "effect"
import { join } from "node:path"
import { normalizeAccountId } from "../domain/AccountId.js"
import { StateDir } from "./StatePaths.js"
import { StateFiles } from "./StateFiles.js"

const DebugModeFile = Schema.Struct({
  accounts: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
})

export class DebugModeStore extends Effect.Service<DebugModeStore>()("openclaw-weixin/DebugModeStore", {
  effect: Effect.gen(function*() {
    const paths = yield* StateDir
    const files = yield* StateFiles
    const file = join(paths.weixinDir, "debug-mode.json")

    const read = files.readJsonLeniently(file, DebugModeFile).pipe(
      Effect.map((parsed) => Option.match(parsed, {
        onNone: (): Readonly<Record<string, unknown>> => ({}),
        onSome: (value): Readonly<Record<string, unknown>> => value.accounts ?? {}
      }))
    )
    // the flags as last read, and the file's fingerprint taken before that read: a change that lands
    // between the two leaves a fingerprint that no longer matches, so the next check reads again
    let last: { readonly fingerprint: string; readonly accounts: Readonly<Record<string, unknown>> } | undefined
    const readAll = Effect.gen(function*() {
      const fingerprint = yield* files.fingerprint(file)
      if (fingerprint !== undefined && last?.fingerprint === fingerprint) return last.accounts
      const accounts = yield* read
      last = fingerprint === undefined ? undefined : { fingerprint, accounts }
      return accounts
    })

    /** Whether debug mode is on for the account; off when the file is missing or broken. */
    const isOn = Effect.fn("DebugModeStore.isOn")(function*(rawId: string) {
      return (yield* readAll)[normalizeAccountId(rawId)] === true
    })

    /** Flips the account's flag (other accounts' entries are kept) and answers the new value. */
    const toggle = Effect.fn("DebugModeStore.toggle")(function*(rawId: string) {
      const accounts: Record<string, unknown> = { ...(yield* readAll) }
      const id = normalizeAccountId(rawId)
      const next = accounts[id] !== true
      accounts[id] = next
      yield* files.writeText(file, `${JSON.stringify({ accounts }, null, 2)}\n`)
      return next
    })

    return { file, isOn, toggle } as const
  }),
  dependencies: [StateDir.layer, StateFiles.layer]
}) {
  static readonly layerMemory: Layer.Layer<DebugModeStore> = DebugModeStore.DefaultWithoutDependencies.pipe(
    Layer.provide(Layer.merge(StateDir.layerMemory, StateFiles.layerMemory))
  )
}
