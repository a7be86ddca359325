/**
 * Crash-safe file primitives over @effect/platform FileSystem; they fail with `StateError`.
 *
 * - `writeFileAtomic`: write a uniquely named temp file beside the target (mode 0600), fsync it, rename it
 *   over the target, then fsync the directory (best effort). A crash at any moment leaves the target either
 *   wholly old or wholly new; at worst a stray temp file remains, which readers never open.
 * - `appendLinesDurably`: one open/append/fsync/close per call, so a caller can batch many lines per fsync.
 * - `appendToWholeFile`: the same for a file the caller knows exists and ends with a whole line (it
 *   wrote it itself), without the existence check and the look at the last byte.
 * - `ensurePrivateDirectory`: recursive mkdir with mode 0700.
 *
 * Temp files are named `.<target name>.tmp-<pid>-<process nonce>-<counter>` (StatePaths `tempFileNameFor`,
 * which `isTempFileName` recognises): the nonce, random and drawn once per process, keeps the names of two
 * processes apart even when a pid comes back; the counter keeps one process's apart. A fresh random name
 * per write cost a `getrandom` call on every state write.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { toStateError } from "./StateError.js"
import { tempFileNameFor } from "./StatePaths.js"

export const PRIVATE_FILE_MODE = 0o600
export const PRIVATE_DIRECTORY_MODE = 0o700

const processNonce = randomBytes(6).toString("hex")
let tempCounter = 0

const tempNameFor = (targetName: string): string =>
  tempFileNameFor(targetName, `${process.pid}-${processNonce}-${(tempCounter++).toString(36)}`)

/** mkdir -p with mode 0700 (the mode applies to every directory it creates). */
export const ensurePrivateDirectory = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(directory, { recursive: true, mode: PRIVATE_DIRECTORY_MODE }).pipe(
      Effect.mapError(toStateError(directory, "makeDirectory"))
    )
  })

// Persists the rename itself; some platforms/filesystems refuse fsync on a directory, hence best effort.
const syncDirectoryBestEffort = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(directory, { flag: "r" })
    yield* handle.sync
  }).pipe(Effect.scoped, Effect.ignore)

/**
 * Replace `target` with `bytes` atomically. The parent directory must exist. On failure the temp file is
 * removed and the target is untouched.
 */
export const writeFileAtomic = (target: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const directory = path.dirname(target)
    const temp = path.join(directory, tempNameFor(path.basename(target)))
    const writeTemp = Effect.gen(function*() {
      const handle = yield* fs.open(temp, { flag: "wx", mode: PRIVATE_FILE_MODE })
      // writeAll reports an empty buffer as a zero-length write failure
      if (bytes.length > 0) yield* handle.writeAll(bytes)
      yield* handle.sync
    }).pipe(Effect.scoped, Effect.mapError(toStateError(target, "write")))
    yield* writeTemp.pipe(
      Effect.zipRight(fs.rename(temp, target).pipe(Effect.mapError(toStateError(target, "write")))),
      Effect.tapError(() => fs.remove(temp).pipe(Effect.ignore))
    )
    yield* syncDirectoryBestEffort(directory)
  })

const NEWLINE = 0x0a
const encoder = new TextEncoder()

/**
 * Append `lines` (each followed by "\n") to `target` and fsync once. If the file ends in a partial line
 * left by a crash, a "\n" goes first so the partial fragment stays on its own line and the new lines
 * remain whole. The parent directory is created (0700) only when the file does not exist yet, so the
 * common case — appending to an existing journal — costs no directory call besides the existence check.
 */
export const appendLinesDurably = (target: string, lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const existed = yield* fs.exists(target).pipe(Effect.orElseSucceed(() => true))
    if (!existed) yield* ensurePrivateDirectory(path.dirname(target))
    yield* Effect.gen(function*() {
      const handle = yield* fs.open(target, { flag: "a+", mode: PRIVATE_FILE_MODE })
      const info = yield* handle.stat
      let separator = ""
      if (info.size > 0n) {
        yield* handle.seek(info.size - 1n, "start")
        const last = new Uint8Array(1)
        yield* handle.read(last)
        if (last[0] !== NEWLINE) separator = "\n"
      }
      const text = separator + lines.map((line) => `${line}\n`).join("")
      yield* handle.writeAll(encoder.encode(text))
      yield* handle.sync
    }).pipe(Effect.scoped, Effect.mapError(toStateError(target, "append")))
    if (!existed) yield* syncDirectoryBestEffort(path.dirname(target))
  })

/**
 * Append `lines` to `target`, which the caller knows exists and ends with a newline (or is empty): open,
 * write, fsync, close. Were the file removed meanwhile, it is created again (0600), without the directory
 * fsync that `appendLinesDurably` gives a new file.
 */
export const appendToWholeFile = (target: string, lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(target, { flag: "a", mode: PRIVATE_FILE_MODE })
    yield* handle.writeAll(encoder.encode(lines.map((line) => `${line}\n`).join("")))
    yield* handle.sync
  }).pipe(Effect.scoped, Effect.mapError(toStateError(target, "append")))
