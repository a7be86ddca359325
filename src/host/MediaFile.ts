/**
 * A local file opened for an upload: checked (a regular file, not empty, not over the cap), kept open
 * for the send, and read afresh from its first byte on every pass. The open handle pins the file the
 * access check approved, so renaming or replacing the path afterwards changes nothing, and memory stays
 * constant in the file size (PROTOCOL §6.2: one pass for the MD5, one per attempt to encrypt and send).
 */
import { open, type FileHandle } from "node:fs/promises"
import * as path from "node:path"
import { Effect, Option, Schema, type Scope, Stream } from "effect"
import { CdnSourceError } from "../ilink/CdnError.js"
import type { UploadSource } from "../ilink/CdnUploadSource.js"

/** The longest file name we send; WeChat shows a name, not a path. */
const NAME_LIMIT = 120
/**
 * Bytes per read of an upload's file: each read is a promise and a step of the upload's stream (MD5 pass,
 * then encrypt-and-send), so 400 reads for 100 MB rather than 1,600 (bench/media-out.ts).
 */
const CHUNK_BYTES = 256 * 1024
/** What the host's MIME sniffing reads of a file. */
export const HEAD_BYTES = 4100

export const MediaLoadCode = Schema.Literal(
  "not-found",
  "not-file",
  "empty",
  "too-large",
  "path-not-allowed",
  "unsupported-url",
  /** the host's SSRF guard refused the URL, or a redirect it led to (a private or loopback address) */
  "url-blocked",
  "fetch-failed",
  "timeout",
  "load-failed"
)
export type MediaLoadCode = typeof MediaLoadCode.Type

/** A media reference that could not be loaded; `reason` is the host's own when it refused. */
export class MediaLoadFailed extends Schema.TaggedError<MediaLoadFailed>("openclaw-weixin/MediaLoadFailed")(
  "MediaLoadFailed",
  {
    /** the reference as shown: a path, or a URL without its query */
    ref: Schema.String,
    code: MediaLoadCode,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `the media ${this.ref} could not be loaded (${this.code}): ${this.reason}`
  }
}

/** A reference for log lines and errors: a URL loses its query and fragment (they may carry tokens). */
export const displayRef = (ref: string): string => {
  const trimmed = ref.trim()
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return trimmed.slice(0, 300)
  try {
    const url = new URL(trimmed)
    return `${url.origin}${url.pathname}`.slice(0, 300)
  } catch {
    return "(unparseable URL)"
  }
}

/**
 * The name WeChat shows for a file: the base name without control characters or separators, at most
 * NAME_LIMIT characters (keeping the extension); `fallback` when nothing is left.
 */
export const sendableFileName = (raw: string | undefined, fallback = "file"): string => {
  const base = path.basename((raw ?? "").replace(/\\/g, "/"))
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, "").trim()
  if (clean === "" || clean === "." || clean === "..") return fallback
  if (clean.length <= NAME_LIMIT) return clean
  const ext = path.extname(clean).slice(0, 16)
  return clean.slice(0, NAME_LIMIT - ext.length) + ext
}

/** Thrown inside a host callback, so the host's loader passes our reason through unchanged. */
export class MediaFileProblem extends Error {
  constructor(readonly code: MediaLoadCode, message: string) {
    super(message)
    this.name = "MediaFileProblem"
  }
}

export interface OpenedMediaFile {
  readonly handle: FileHandle
  readonly size: number
  /** the first bytes, for MIME sniffing */
  readonly head: Buffer
}

/** Opens and checks `filePath` (a promise, for use inside the host's loader); closes it on failure. */
export const openMediaFile = async (filePath: string, maxBytes: number): Promise<OpenedMediaFile> => {
  let handle: FileHandle
  try {
    handle = await open(filePath, "r")
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === "ENOENT" || code === "ENOTDIR") throw new MediaFileProblem("not-found", `no such file: ${filePath}`)
    throw new MediaFileProblem("load-failed", `cannot open ${filePath}: ${String((error as Error).message ?? error)}`)
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new MediaFileProblem("not-file", `not a regular file: ${filePath}`)
    if (info.size === 0) throw new MediaFileProblem("empty", `the file is empty: ${filePath}`)
    if (info.size > maxBytes) {
      throw new MediaFileProblem("too-large", `the file has ${info.size} bytes, over the limit of ${maxBytes} (mediaMaxMb)`)
    }
    const head = Buffer.alloc(Math.min(info.size, HEAD_BYTES))
    await handle.read(head, 0, head.length, 0)
    return { handle, size: info.size, head }
  } catch (error) {
    await handle.close().catch(() => {})
    throw error
  }
}

/** The upload source of an opened file: positional reads of 64 KiB from the first byte, each pass. */
export const fileSource = (opened: OpenedMediaFile): UploadSource => ({
  size: opened.size,
  read: Stream.unfoldEffect(0, (position) =>
    position >= opened.size
      ? Effect.succeed(Option.none())
      : Effect.tryPromise({
        try: async () => {
          const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, opened.size - position))
          const { bytesRead } = await opened.handle.read(chunk, 0, chunk.length, position)
          return bytesRead === 0 ? Option.none() : Option.some([chunk.subarray(0, bytesRead), position + bytesRead] as const)
        },
        catch: (error) => new CdnSourceError({ problem: `cannot read the file: ${String((error as Error).message ?? error)}` })
      }))
})

/** Closes the handle when the scope closes (after the send that reads it). */
export const keepOpenFor = (opened: OpenedMediaFile): Effect.Effect<void, never, Scope.Scope> =>
  Effect.addFinalizer(() => Effect.promise(() => opened.handle.close().catch(() => {})))
