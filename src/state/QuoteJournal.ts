/**
 * QuoteJournal: each account's quote store on disk, `accounts/<id>.ocw-quotes.jsonl`, one record per line
 * (src/account/QuoteStore.ts decides what a record means; PROTOCOL §7.5 is the official equivalent).
 * Appends are durable (one fsync per call), `replace` rewrites the journal atomically (compaction), and
 * `read` drops a last line cut short by a crash, with a warning. The file is ours: the official plugin keeps
 * its quotes in SQLite and never reads this one.
 */
import { Effect, Layer, Option } from "effect"
import { StateError } from "./StateError.js"
import { accountFiles, ownFileName, StateDir } from "./StatePaths.js"
import { StateFiles } from "./StateFiles.js"

const QUOTES = ownFileName("quotes")

export class QuoteJournal extends Effect.Service<QuoteJournal>()("openclaw-weixin/QuoteJournal", {
  effect: Effect.gen(function*() {
    const paths = yield* StateDir
    const files = yield* StateFiles

    const path = (rawId: string): string => accountFiles(paths, rawId).own(QUOTES, ".jsonl")

    const oneLineEach = (file: string, lines: ReadonlyArray<string>) =>
      lines.some((line) => line.includes("\n"))
        ? Effect.fail(new StateError({ path: file, operation: "append", message: `a quote record for ${file} contains a newline` }))
        : Effect.void

    const append = Effect.fn("QuoteJournal.append")(function*(rawId: string, lines: ReadonlyArray<string>) {
      const file = path(rawId)
      yield* oneLineEach(file, lines)
      if (lines.length > 0) yield* files.appendLines(file, lines)
    })

    /** The complete lines, in order; empty when there is no journal. */
    const read = Effect.fn("QuoteJournal.read")(function*(rawId: string) {
      const file = path(rawId)
      const text = yield* files.readText(file)
      if (Option.isNone(text)) return [] as ReadonlyArray<string>
      const segments = text.value.split("\n")
      const tail = segments.pop()
      if (tail !== undefined && tail !== "") {
        yield* Effect.logWarning(`dropping an incomplete last line of ${file} (left by an interrupted write)`)
      }
      return segments.filter((line) => line !== "") as ReadonlyArray<string>
    })

    const replace = Effect.fn("QuoteJournal.replace")(function*(rawId: string, lines: ReadonlyArray<string>) {
      const file = path(rawId)
      yield* oneLineEach(file, lines)
      yield* files.writeText(file, lines.map((line) => `${line}\n`).join(""))
    })

    return { path, append, read, replace } as const
  }),
  dependencies: [StateDir.layer, StateFiles.layer]
}) {
  static readonly layerMemory: Layer.Layer<QuoteJournal> = QuoteJournal.DefaultWithoutDependencies.pipe(
    Layer.provide(Layer.merge(StateDir.layerMemory, StateFiles.layerMemory))
  )
}
