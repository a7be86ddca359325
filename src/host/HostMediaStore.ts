/**
 * The real InboundMediaStore (src/account/InboundMediaStore.ts): the host's media store,
 * `saveMediaStream` of `openclaw/plugin-sdk/media-store` (docs/HOST-NOTES.md). It writes a temp file in
 * the host's `media/inbound` folder, checks the size cap as the bytes arrive, settles the MIME type with
 * the host's own detection (the sender's file name, then the bytes), and publishes the file atomically;
 * when the stream fails or passes the cap, the temp file is removed and nothing is published.
 *
 * The host module is imported on the first media item, never at registration: CLI and metadata processes
 * load the plugin without ever needing it.
 */
import { stat } from "node:fs/promises"
import { Cause, Effect, Exit, Layer, Option, Stream } from "effect"
import {
  InboundMediaStore,
  InboundMediaStoreError,
  type InboundMediaSaveRequest,
  type InboundMediaStoreShape,
  type StoredInboundMedia
} from "../account/InboundMediaStore.js"
import { describeThrown } from "./ChannelRuntime.js"

type MediaStoreModule = typeof import("openclaw/plugin-sdk/media-store")

/** the subfolder of the host's media dir that holds inbound media (the host's own default) */
const INBOUND_SUBDIR = "inbound"

let loaded: Promise<MediaStoreModule> | undefined
const loadMediaStore = Effect.tryPromise({
  try: () => (loaded ??= import("openclaw/plugin-sdk/media-store").catch((error: unknown) => {
    loaded = undefined
    throw error
  })),
  catch: (error) => new InboundMediaStoreError({ problem: "unavailable", detail: describeThrown(error) })
})

/** Bytes handed to the host's store per write: fewer, larger writes than the network's 64 KiB chunks. */
const WRITE_BYTES = 1024 * 1024

/**
 * Joins small chunks into pieces of at least WRITE_BYTES (the last may be smaller) before they cross into
 * the host's async iterator: each crossing costs a promise and a fiber hop, so 100 crossings for 100 MB
 * instead of 1,600. Memory stays bounded by one piece.
 */
const coalesced = <E>(chunks: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let pending: Array<Uint8Array> = []
    let size = 0
    const take = (): Uint8Array => {
      const piece = Buffer.concat(pending, size)
      pending = []
      size = 0
      return piece
    }
    return chunks.pipe(
      Stream.mapConcat((chunk) => {
        pending.push(chunk)
        size += chunk.byteLength
        return size >= WRITE_BYTES ? [take()] : []
      }),
      Stream.concat(Stream.suspend(() => (size > 0 ? Stream.make(take()) : Stream.empty)))
    )
  })

const isTooLarge = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "code" in error && (error as { code?: unknown }).code === "too-large"

/** The store over a `saveMediaStream`; the layer passes the host's, tests may pass another. */
export const makeHostMediaStore = (
  saveMediaStream: Effect.Effect<MediaStoreModule["saveMediaStream"], InboundMediaStoreError>
): InboundMediaStoreShape => {
  const save = <E>(request: InboundMediaSaveRequest<E>): Effect.Effect<StoredInboundMedia, E | InboundMediaStoreError> =>
    Effect.gen(function*() {
      const saveStream = yield* saveMediaStream
      // the stream's own typed failure (a CDN error) is kept aside: the host only sees that iteration threw
      let streamFailure: Option.Option<Cause.Cause<E>> = Option.none()
      const chunks = yield* Stream.toAsyncIterableEffect(
        coalesced(request.chunks).pipe(
          Stream.tapErrorCause((cause) => Effect.sync(() => void (streamFailure = Option.some(cause))))
        )
      )
      const exit = yield* Effect.exit(Effect.tryPromise({
        try: () => saveStream(chunks, request.contentType, INBOUND_SUBDIR, request.maxBytes, request.fileName),
        catch: (error) => error
      }))
      if (Exit.isSuccess(exit)) {
        const saved = exit.value
        return { path: saved.path, size: saved.size, ...(saved.contentType === undefined ? {} : { contentType: saved.contentType }) }
      }
      if (Option.isSome(streamFailure)) return yield* Effect.failCause(streamFailure.value)
      const thrown = Cause.squash(exit.cause)
      return yield* new InboundMediaStoreError({
        problem: isTooLarge(thrown) ? "too_large" : "write_failed",
        detail: describeThrown(thrown)
      })
    })

  const exists = (path: string) =>
    Effect.promise(() => stat(path).then((s) => s.isFile(), () => false))

  return { save, exists }
}

export const HostMediaStore = {
  /** The host's media store, loaded on first use. */
  layer: Layer.sync(InboundMediaStore, () => makeHostMediaStore(Effect.map(loadMediaStore, (m) => m.saveMediaStream)))
}
