/**
 * The plaintext an upload reads (PROTOCOL §6.2): its size, known before anything is sent, and a stream
 * that reads it afresh each time it runs. The upload reads it once for the MD5 and once per attempt to
 * encrypt and send, so a file is never held in memory; a buffer is only for media already in memory.
 *
 * @example
 * ```ts
 * const source = yield* UploadSource.file("/tmp/report.pdf")   // needs a FileSystem
 * const small = UploadSource.bytes(pngBytes)
 * ```
 */
import { FileSystem } from "@effect/platform"
import { Effect, Stream } from "effect"
import { CdnSourceError } from "./CdnError.js"

export interface UploadSource {
  /** plaintext bytes; the upload fails if a read yields a different count */
  readonly size: number
  /** one complete read of the plaintext; runs once per pass */
  readonly read: Stream.Stream<Uint8Array, CdnSourceError>
}

const CHUNK_BYTES = 64 * 1024

export const UploadSource = {
  /** Media already in memory; served in 64 KiB slices (views, not copies). */
  bytes: (data: Uint8Array): UploadSource => ({
    size: data.length,
    read: Stream.suspend(() =>
      Stream.fromIterable(
        Array.from({ length: Math.ceil(data.length / CHUNK_BYTES) }, (_, i) => data.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES))
      )
    )
  }),

  /** A regular file, streamed from disk on every pass. */
  file: (path: string): Effect.Effect<UploadSource, CdnSourceError, FileSystem.FileSystem> =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const info = yield* fs.stat(path).pipe(
        Effect.mapError((error) => new CdnSourceError({ problem: `cannot stat the file: ${error.message}` }))
      )
      if (info.type !== "File") return yield* new CdnSourceError({ problem: `not a regular file (${info.type})` })
      return {
        size: Number(info.size),
        read: fs.stream(path, { chunkSize: CHUNK_BYTES }).pipe(
          Stream.mapError((error) => new CdnSourceError({ problem: `cannot read the file: ${error.message}` }))
        )
      }
    })
}
