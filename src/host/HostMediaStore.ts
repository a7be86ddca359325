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
const WRITE_BYTES = 256 * 1024

/**
 * Reusable piece buffers. A piece goes back to the pool when the host asks for the piece after it: the
 * host has then finished writing it (it copies what it keeps, its MIME sniff). Whatever runs ahead of the
 * host (the async-iterator bridge builds the next piece while the host writes) takes another buffer, so
 * the pool holds as many as are in flight at once: three, in practice.
 */
interface PiecePool {
  readonly take: () => Buffer
  readonly release: (piece: Uint8Array) => void
}

const makePiecePool = (): PiecePool => {
  const free: Array<Buffer> = []
  const own = new Map<ArrayBufferLike, Buffer>()
  return {
    take: () => {
      const reused = free.pop()
      if (reused !== undefined) return reused
      const fresh = Buffer.allocUnsafeSlow(WRITE_BYTES)
      own.set(fresh.buffer, fresh)
      return fresh
    },
    release: (piece) => {
      const buffer = own.get(piece.buffer)
      if (buffer !== undefined) free.push(buffer)
    }
  }
}

/**
 * Joins the plaintext's chunks into pieces of WRITE_BYTES (the last may be smaller) before they cross into
 * the host's async iterator: each crossing costs a promise and a fiber hop, so 400 crossings for 100 MB
 * instead of 1,600. A chunk of a piece or more (a whole voice note) crosses as it is. The pieces are
 * buffers of a {@link PiecePool}, so the copy adds no garbage: a fresh buffer per piece would leave
 * 100 MB for the collector per 100 MB stored, and V8 lets that much external memory pile up before it
 * collects.
 */
const coalesced = <E>(chunks: Stream.Stream<Uint8Array, E>, pool: PiecePool): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let piece: Buffer | undefined
    let filled = 0
    const append = (bytes: Uint8Array) => {
      piece ??= pool.take()
      piece.set(bytes, filled)
      filled += bytes.byteLength
    }
    const take = (): Uint8Array => {
      const full = (piece as Buffer).subarray(0, filled)
      piece = undefined
      filled = 0
      return full
    }
    return chunks.pipe(
      Stream.mapConcat((chunk): Array<Uint8Array> => {
        const out: Array<Uint8Array> = []
        let rest = chunk
        if (filled > 0 && filled + rest.byteLength >= WRITE_BYTES) {
          const n = WRITE_BYTES - filled
          append(rest.subarray(0, n))
          out.push(take())
          rest = rest.subarray(n)
        }
        if (rest.byteLength >= WRITE_BYTES) out.push(rest)
        else if (rest.byteLength > 0) append(rest)
        return out
      }),
      Stream.concat(Stream.suspend(() => (filled > 0 ? Stream.make(take()) : Stream.empty)))
    )
  })

/** Hands `pieces` to the host one by one, returning each to the pool once the host asks for the next. */
async function* releasing(pieces: AsyncIterable<Uint8Array>, pool: PiecePool): AsyncGenerator<Uint8Array> {
  for await (const piece of pieces) {
    yield piece
    pool.release(piece)
  }
}

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
      const pool = makePiecePool()
      const pieces = yield* Stream.toAsyncIterableEffect(
        coalesced(request.chunks, pool).pipe(
          Stream.tapErrorCause((cause) => Effect.sync(() => void (streamFailure = Option.some(cause))))
        )
      )
      const exit = yield* Effect.exit(Effect.tryPromise({
        try: () => saveStream(releasing(pieces, pool), request.contentType, INBOUND_SUBDIR, request.maxBytes, request.fileName),
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
