/**
 * InboxJournal: each account's inbox journal `accounts/<id>.ocw-inbox.jsonl`, one record per line (the
 * Inbox decides what the records mean). Appends are durable (one fsync per call, however many lines),
 * `replace` rewrites the whole journal atomically (compaction), and `read` drops a last line cut short
 * by a crash, with a warning.
 */
import { Effect, Layer, Option } from "effect"
import { StateError, type StateOperation } from "./StateError.js"
import { accountFiles, StateDir } from "./StatePaths.js"
import { StateFiles } from "./StateFiles.js"

export class InboxJournal extends Effect.Service<InboxJournal>()("openclaw-weixin/InboxJournal", {
  effect: Effect.gen(function*() {
    const paths = yield* StateDir
    const files = yield* StateFiles

    /** Where the account's journal lives, for log lines that send the operator there. */
    const path = (rawId: string): string => accountFiles(paths, rawId).inboxJournal

    const oneLineEach = (file: string, lines: ReadonlyArray<string>, operation: StateOperation) =>
      lines.some((line) => line.includes("\n"))
        ? Effect.fail(
          new StateError({
            path: file,
            operation,
            message: `a journal line for ${file} contains a newline; encode each record as one line`
          })
        )
        : Effect.void

    /** Appends the lines in one durable write; a line with a newline refuses the whole call. */
    const append = Effect.fn("InboxJournal.append")(function*(rawId: string, lines: ReadonlyArray<string>) {
      const file = path(rawId)
      yield* oneLineEach(file, lines, "append")
      if (lines.length > 0) yield* files.appendLines(file, lines)
    })

    /** The journal's complete lines, in order; empty when there is none. */
    const read = Effect.fn("InboxJournal.read")(function*(rawId: string) {
      const file = path(rawId)
      const text = yield* files.readText(file)
      if (Option.isNone(text)) return [] as ReadonlyArray<string>
      const segments = text.value.split("\n")
      // After the last "\n" there is either nothing or a line cut short by a crash.
      const tail = segments.pop()
      if (tail !== undefined && tail !== "") {
        yield* Effect.logWarning(`dropping an incomplete last line of ${file} (left by an interrupted write)`).pipe(
          Effect.annotateLogs({ file })
        )
      }
      return segments as ReadonlyArray<string>
    })

    /** Replaces the whole journal with `lines`, atomically. */
    const replace = Effect.fn("InboxJournal.replace")(function*(rawId: string, lines: ReadonlyArray<string>) {
      const file = path(rawId)
      yield* oneLineEach(file, lines, "write")
      yield* files.writeText(file, lines.map((line) => `${line}\n`).join(""))
    })

    return { path, append, read, replace } as const
  }),
  dependencies: [StateDir.layer, StateFiles.layer]
}) {
  /** in memory (StateFiles.layerMemory), for tests of any folder */
  static readonly layerMemory: Layer.Layer<InboxJournal> = InboxJournal.DefaultWithoutDependencies.pipe(
    Layer.provide(Layer.merge(StateDir.layerMemory, StateFiles.layerMemory))
  )
}
