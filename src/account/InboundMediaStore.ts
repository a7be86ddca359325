/**
 * InboundMediaStore: where the decrypted media of an inbound message goes (ARCHITECTURE "Media"), a tag
 * the account owns. `save` consumes a plaintext stream under a size cap and answers with a local path the
 * host can hand to the agent; a stream that fails, or grows past the cap, leaves nothing behind.
 *
 * Implementations: over the host's media store (`saveMediaStream`) in src/host/HostMediaStore.ts; in
 * memory here ({@link InboundMediaStore.layerMemory}) for tests, with the same observable rules.
 *
 * @example
 * ```ts
 * const store = yield* InboundMediaStore
 * const saved = yield* store.save({ chunks: download.plaintext, fileName: "report.pdf", maxBytes })
 * ```
 */
import { Context, Effect, Layer, Schema, Stream } from "effect"
import { mimeFromFileName } from "../domain/InboundMediaName.js"

/** What to store: the plaintext, and what is known about it. */
export interface InboundMediaSaveRequest<E> {
  readonly chunks: Stream.Stream<Uint8Array, E>
  /** an authoritative type (audio/wav, video/mp4); absent: the store decides from the name and the bytes */
  readonly contentType?: string | undefined
  /** the sender's file name, already made safe (domain/InboundMediaName.ts) */
  readonly fileName?: string | undefined
  /** the size cap in bytes (`mediaMaxMb`) */
  readonly maxBytes: number
}

/** A stored media file. */
export interface StoredInboundMedia {
  /** absolute local path (the in-memory store answers `memory://inbound/<n>`) */
  readonly path: string
  readonly size: number
  /** the type the store settled on, when it knows one */
  readonly contentType?: string | undefined
}

export const InboundMediaStoreProblem = Schema.Literal("too_large", "unavailable", "write_failed")
export type InboundMediaStoreProblem = typeof InboundMediaStoreProblem.Type

/** The store refused or failed to keep the media. */
export class InboundMediaStoreError extends Schema.TaggedError<InboundMediaStoreError>("openclaw-weixin/InboundMediaStoreError")(
  "InboundMediaStoreError",
  {
    problem: InboundMediaStoreProblem,
    detail: Schema.String
  }
) {
  override get message(): string {
    const what: Record<InboundMediaStoreProblem, string> = {
      too_large: "the media is over the size cap (mediaMaxMb)",
      unavailable: "the host's media store is not available",
      write_failed: "the media could not be written"
    }
    return `media store: ${what[this.problem]}: ${this.detail}`
  }
}

export interface InboundMediaStoreShape {
  /** Stores the whole stream, or nothing: a failed stream fails with its own error, and no file is left. */
  readonly save: <E>(request: InboundMediaSaveRequest<E>) => Effect.Effect<StoredInboundMedia, E | InboundMediaStoreError>
  /** Whether a file stored earlier is still there (a re-dispatched turn reuses it instead of downloading again). */
  readonly exists: (path: string) => Effect.Effect<boolean>
}

/** The in-memory store, with a way for tests to read back what it holds. */
export interface MemoryInboundMediaStore extends InboundMediaStoreShape {
  readonly read: (path: string) => Uint8Array | undefined
  readonly files: () => ReadonlyArray<{ readonly path: string; readonly fileName: string | undefined; readonly bytes: Uint8Array }>
  /** forget a file, as if the host had cleaned it up */
  readonly remove: (path: string) => void
}

export const makeMemoryInboundMediaStore = (): MemoryInboundMediaStore => {
  const stored = new Map<string, { readonly fileName: string | undefined; readonly bytes: Uint8Array }>()
  let next = 0
  const save = <E>(request: InboundMediaSaveRequest<E>): Effect.Effect<StoredInboundMedia, E | InboundMediaStoreError> =>
    Effect.gen(function*() {
      const parts: Array<Uint8Array> = []
      let size = 0
      yield* Stream.runForEach(request.chunks, (chunk) => {
        size += chunk.byteLength
        if (size > request.maxBytes) {
          return Effect.fail(new InboundMediaStoreError({ problem: "too_large", detail: `over ${request.maxBytes} bytes` }))
        }
        return Effect.sync(() => void parts.push(chunk))
      })
      const path = `memory://inbound/${++next}${request.fileName === undefined ? "" : `/${request.fileName}`}`
      stored.set(path, { fileName: request.fileName, bytes: Buffer.concat(parts) })
      const contentType = request.contentType ?? mimeFromFileName(request.fileName)
      return { path, size, ...(contentType === undefined ? {} : { contentType }) }
    })
  return {
    save,
    exists: (path) => Effect.sync(() => stored.has(path)),
    read: (path) => stored.get(path)?.bytes,
    files: () => [...stored].map(([path, file]) => ({ path, ...file })),
    remove: (path) => void stored.delete(path)
  }
}

export class InboundMediaStore extends Context.Tag("openclaw-weixin/InboundMediaStore")<InboundMediaStore, InboundMediaStoreShape>() {
  /** A fresh in-memory store. */
  static readonly layerMemory: Layer.Layer<InboundMediaStore> = Layer.sync(InboundMediaStore, makeMemoryInboundMediaStore)

  /** A given store (a test keeps the in-memory one to read back what it holds). */
  static readonly layerFrom = (store: InboundMediaStoreShape): Layer.Layer<InboundMediaStore> =>
    Layer.succeed(InboundMediaStore, store)
}
