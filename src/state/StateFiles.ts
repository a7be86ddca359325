/**
 * StateFiles: the file operations every store is built on, with the state folder's policies in one place.
 *
 * - A missing file reads as None; a JSON file that is corrupt or of an unknown shape reads as None too,
 *   with one warning per file (naming it, so the operator can fix or delete it).
 * - Writes are atomic (AtomicFile: temp file, fsync, rename); files are 0600, created directories 0700.
 * - Appends are durable (one fsync per call) and keep lines whole after a torn last line. A file this
 *   layer has itself written or appended to whole skips that check from then on (three calls fewer).
 * - Every other failure is a `StateError` naming the path and the fix.
 *
 * - `fingerprint` tells cheaply whether a file changed since it was last read, so a store that must see an
 *   edit by hand at once (DebugModeStore) need not read the file on every check.
 *
 * `layer` works on the real file system. `layerMemory` keeps the files in a Map with the same observable
 * semantics, so the stores built on it behave like the real ones in the unit tests of any folder.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type { PlatformError } from "@effect/platform/Error"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Context, Effect, Layer, Option, Ref, Schema } from "effect"
import { statSync } from "node:fs"
import { dirname } from "node:path"
import { appendLinesDurably, appendToWholeFile, ensurePrivateDirectory, writeFileAtomic } from "./AtomicFile.js"
import { type StateError, toStateError } from "./StateError.js"

export interface StateFilesService {
  /** the file's text; None when it does not exist */
  readonly readText: (file: string) => Effect.Effect<Option.Option<string>, StateError>
  /** decoded JSON; None when missing, or (with one warning) when corrupt or of another shape */
  readonly readJson: <A, I>(file: string, schema: Schema.Schema<A, I>) => Effect.Effect<Option.Option<A>, StateError>
  /** like `readJson`, but a file that cannot be read at all is None too (with one warning) */
  readonly readJsonLeniently: <A, I>(file: string, schema: Schema.Schema<A, I>) => Effect.Effect<Option.Option<A>>
  /** replaces the file atomically, creating its directory (0700) when missing */
  readonly writeText: (file: string, text: string) => Effect.Effect<void, StateError>
  /** appends each line and a "\n", durably; creates the file (0600) and its directory when missing */
  readonly appendLines: (file: string, lines: ReadonlyArray<string>) => Effect.Effect<void, StateError>
  /** removes the file; a missing file is fine */
  readonly remove: (file: string) => Effect.Effect<void, StateError>
  /** the names in a directory; a missing directory is empty */
  readonly list: (directory: string) => Effect.Effect<ReadonlyArray<string>, StateError>
  /**
   * A value that changes whenever the file does (it is written, replaced, created or removed); undefined
   * when that cannot be told, and the caller should read the file.
   */
  readonly fingerprint: (file: string) => Effect.Effect<string | undefined>
}

type RawFiles = Omit<StateFilesService, "readJson" | "readJsonLeniently">

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

const encoder = new TextEncoder()

const nodeFiles = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const withPlatform = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
    effect.pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.provideService(Path.Path, path))
  // files this layer wrote whole (their last line ends with "\n"), so an append needs no look at the end;
  // forgotten on any failure, when they are removed, or replaced by text that ends mid-line
  const whole = new Set<string>()
  const noting = <A, E>(file: string, wholeAfter: boolean, effect: Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      whole.delete(file)
      return Effect.tap(effect, () => void (wholeAfter ? whole.add(file) : whole.delete(file)))
    })
  const files: RawFiles = {
    readText: (file) =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<string>())),
        Effect.mapError(toStateError(file, "read"))
      ),
    writeText: (file, text) =>
      noting(
        file,
        text === "" || text.endsWith("\n"),
        withPlatform(ensurePrivateDirectory(dirname(file)).pipe(Effect.zipRight(writeFileAtomic(file, encoder.encode(text)))))
      ),
    appendLines: (file, lines) =>
      Effect.suspend(() => noting(file, true, withPlatform(whole.has(file) ? appendToWholeFile(file, lines) : appendLinesDurably(file, lines)))),
    remove: (file) =>
      noting(
        file,
        false,
        fs.remove(file).pipe(
          Effect.catchIf(isNotFound, () => Effect.void),
          Effect.mapError(toStateError(file, "remove"))
        )
      ),
    list: (directory) =>
      fs.readDirectory(directory).pipe(
        Effect.catchIf(isNotFound, () => Effect.succeed([] as Array<string>)),
        Effect.mapError(toStateError(directory, "list"))
      ),
    fingerprint: (file) => Effect.sync(() => nodeFingerprint(file))
  }
  return files
})

// A file modified this recently may change again within the same tick of the file system's clock without
// its time moving (as git's "racy" index entries): its fingerprint is not trusted until it is older.
const RACY_MS = 2_000n

// A synchronous stat, on purpose: it asks the kernel for cached metadata and returns at once, where an
// asynchronous one would wait in libuv's thread pool behind the writers' fsyncs. Inode, size and the
// modification time in nanoseconds: an atomic replace changes the inode, an edit in place the others.
const nodeFingerprint = (file: string): string | undefined => {
  try {
    const info = statSync(file, { bigint: true, throwIfNoEntry: false })
    if (info === undefined) return "absent"
    if (BigInt(Date.now()) - info.mtimeMs < RACY_MS) return undefined
    return `${info.ino}:${info.size}:${info.mtimeNs}`
  } catch {
    return undefined
  }
}

/** Files in a Map: same results as on disk, without modes or fsync. */
const memoryFiles = Effect.sync((): RawFiles => {
  const files = new Map<string, string>()
  return {
    readText: (file) => Effect.sync(() => Option.fromNullable(files.get(file))),
    writeText: (file, text) => Effect.sync(() => void files.set(file, text)),
    appendLines: (file, lines) =>
      Effect.sync(() => {
        const existing = files.get(file) ?? ""
        // as on disk: a torn last line keeps its own line, the new lines stay whole
        const separator = existing !== "" && !existing.endsWith("\n") ? "\n" : ""
        files.set(file, existing + separator + lines.map((line) => `${line}\n`).join(""))
      }),
    remove: (file) => Effect.sync(() => void files.delete(file)),
    list: (directory) =>
      Effect.sync(() =>
        [...files.keys()].filter((file) => dirname(file) === directory).map((file) => file.slice(directory.length + 1))
      ),
    // the text itself: it changes exactly when the file does
    fingerprint: (file) => Effect.sync(() => files.has(file) ? `text:${files.get(file)}` : "absent")
  }
})

/** Adds the JSON reading policy (and its warn-once memory) to raw file operations. */
const withJsonReading = (raw: RawFiles) =>
  Effect.gen(function*() {
    const warned = yield* Ref.make<ReadonlySet<string>>(new Set())
    const warnOnce = (file: string, problem: string) =>
      Ref.modify(warned, (seen): [boolean, ReadonlySet<string>] =>
        seen.has(file) ? [false, seen] : [true, new Set([...seen, file])]).pipe(
          Effect.flatMap((first) => first ? Effect.logWarning(problem).pipe(Effect.annotateLogs({ file })) : Effect.void)
        )

    const readJson = <A, I>(file: string, schema: Schema.Schema<A, I>) =>
      Effect.gen(function*() {
        const text = yield* raw.readText(file)
        if (Option.isNone(text)) return Option.none<A>()
        const decoded = Schema.decodeUnknownOption(Schema.parseJson(schema))(text.value)
        if (Option.isNone(decoded)) {
          yield* warnOnce(file, `${file} is not valid JSON of the expected shape; treating it as missing (fix or delete it)`)
        }
        return decoded
      })

    const readJsonLeniently = <A, I>(file: string, schema: Schema.Schema<A, I>) =>
      readJson(file, schema).pipe(
        Effect.catchTag("StateError", (error) =>
          warnOnce(file, `${error.message}; treating it as missing`).pipe(Effect.as(Option.none<A>())))
      )

    return StateFiles.of({ ...raw, readJson, readJsonLeniently })
  })

export class StateFiles extends Context.Tag("openclaw-weixin/StateFiles")<StateFiles, StateFilesService>() {
  /** the real file system */
  static readonly layer: Layer.Layer<StateFiles> = Layer.effect(StateFiles, Effect.flatMap(nodeFiles, withJsonReading)).pipe(
    Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer))
  )
  /**
   * Files in memory, one Map per build of the layer: the stores of one `State.layerMemory` (or of several
   * `layerMemory`s provided together) share it, as they share one directory on disk.
   */
  static readonly layerMemory: Layer.Layer<StateFiles> = Layer.effect(StateFiles, Effect.flatMap(memoryFiles, withJsonReading))
}
