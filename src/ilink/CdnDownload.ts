/**
 * Inbound media from the CDN (PROTOCOL §1.8.10, §6.3): fetch the ciphertext, decrypt it as it streams, and
 * hand out the plaintext as a `Stream` whose memory use does not grow with the file.
 *
 * The URL is the item's `full_url` when present, else `<cdnBaseUrl>/download?encrypted_query_param=…`
 * (PROTOCOL §1.2), and it must pass the address rule of CdnAddress.ts. The transfer is bounded by the
 * `CdnTimeouts` (answer, then silence between chunks) and by `maxBytes` (mediaMaxMb): an announced size
 * over the cap fails before any request, a declared content-length over it before the body is read, and
 * a body that grows past it as soon as it does. What the item announces about the plaintext (`len`,
 * `md5`) is checked at the end, so a key that happens to decrypt to garbage is caught too.
 *
 * A failure ends the stream with a typed error; the consumer (the host's `saveMediaStream`) must discard
 * what it wrote. Logs and errors name the CDN by origin only: the query of a CDN URL is a credential.
 *
 * @example
 * ```ts
 * const key = yield* inboundMediaKey({ kind: "file", aesKey: item.media?.aes_key })
 * const saved = yield* Effect.scoped(Effect.gen(function*() {
 *   const download = yield* cdn.open({ media: item.media, key, cdnBaseUrl, maxBytes, expectedSize: itemLength(item.len) })
 *   const chunks = yield* Stream.toAsyncIterableEffect(download.plaintext)
 *   return yield* Effect.promise(() => saveMediaStream(chunks, mime, "inbound", maxBytes, fileName))
 * }))
 * ```
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { createHash } from "node:crypto"
import { Duration, Effect, Either, Option, Stream } from "effect"
import { type AesKey, paddedSize } from "../domain/AesKey.js"
import { decryptEcb } from "../domain/EcbCipher.js"
import type { CDNMedia } from "../wire/Message.js"
import { resolveTarget } from "./CdnAddress.js"
import {
  type CdnDownloadError,
  CdnEmptyMedia,
  CdnHttpError,
  CdnIntegrityError,
  CdnNoLocation,
  CdnTimeout,
  CdnTooLarge,
  type CdnTransportError,
  CdnTruncated,
  type CdnUrlRefused,
  scrubUrls
} from "./CdnError.js"
import { CdnTimeouts } from "./CdnTimeouts.js"
import { idleBody } from "./IdleBody.js"
import { webBodyOf } from "./NodeHttp.js"
import { CdnTransport, requestFailure } from "./CdnTransport.js"

export interface CdnDownloadRequest {
  /** the item's CDN reference: `full_url` wins, else `encrypt_query_param` under `cdnBaseUrl` */
  readonly media: CDNMedia
  /** from `inboundMediaKey`: `None` for a key-less image, which the CDN serves in plain */
  readonly key: Option.Option<AesKey>
  /** the configured CDN base URL (account, else section, else the default) */
  readonly cdnBaseUrl: string
  /** the plaintext cap in bytes (`mediaMaxMb`) */
  readonly maxBytes: number
  /** the plaintext size the item announces (`file_item.len`, see {@link itemLength}), checked at the end */
  readonly expectedSize?: number | undefined
  /** the lowercase hex MD5 the item announces (`file_item.md5`, `video_md5`), checked at the end */
  readonly expectedMd5?: string | undefined
}

export interface OpenedDownload {
  /** the CDN's origin, for log lines */
  readonly host: string
  /** the ciphertext size the CDN declared (content-length), when it did */
  readonly declaredBytes: Option.Option<number>
  /** the plaintext size, when the item announced it */
  readonly plaintextBytes: Option.Option<number>
  /** the plaintext; consume it inside the scope that opened the download */
  readonly plaintext: Stream.Stream<Uint8Array, CdnDownloadError>
}

/** A `len` field (a decimal string, PROTOCOL §1.9) as a number; anything else means "not announced". */
export const itemLength = (len: string | undefined): number | undefined =>
  len !== undefined && /^\d{1,16}$/.test(len.trim()) ? Number(len.trim()) : undefined

/** Ciphertext gathered per pull of the body (IdleBody.ts): the checks and the decipher run per batch. */
const BATCH_BYTES = 256 * 1024

const withoutTrailingSlashes = (url: string) => url.replace(/\/+$/, "")

/** `full_url` (trimmed) when present, else the fallback under the CDN base URL (PROTOCOL §1.2). */
export const downloadUrl = (media: CDNMedia, cdnBaseUrl: string): Either.Either<string, CdnNoLocation> => {
  const full = media.full_url?.trim() ?? ""
  if (full !== "") return Either.right(full)
  const param = media.encrypt_query_param ?? ""
  if (param !== "") {
    return Either.right(`${withoutTrailingSlashes(cdnBaseUrl)}/download?encrypted_query_param=${encodeURIComponent(param)}`)
  }
  return Either.left(new CdnNoLocation({ operation: "download", detail: "the item has neither full_url nor encrypt_query_param" }))
}

const contentLength = (value: string | undefined): Option.Option<number> =>
  value !== undefined && /^\d{1,16}$/.test(value.trim()) ? Option.some(Number(value.trim())) : Option.none()

const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

export class CdnDownload extends Effect.Service<CdnDownload>()("openclaw-weixin/CdnDownload", {
  effect: Effect.gen(function*() {
    const transport = yield* CdnTransport

    /** Sends the GET and checks status and declared size; the body is read only by the returned stream. */
    const open = Effect.fn("CdnDownload.open")(function*(request: CdnDownloadRequest) {
      const { key, maxBytes, expectedSize, expectedMd5 } = request
      if (expectedSize !== undefined && expectedSize > maxBytes) {
        return yield* new CdnTooLarge({ operation: "download", limitBytes: maxBytes, sizeBytes: expectedSize, source: "item_length" })
      }
      if (expectedSize === 0) return yield* new CdnEmptyMedia({ operation: "download" })
      const url = yield* downloadUrl(request.media, request.cdnBaseUrl)
      const target = yield* resolveTarget("download", url, request.cdnBaseUrl)
      const host = target.host
      const timeouts = yield* CdnTimeouts
      // the origin only: a server-made URL may carry its signature in the path as well as the query
      yield* Effect.logDebug(`CDN download from ${host}`)

      const response = yield* HttpClient.withScope(transport.client(target.route)).execute(HttpClientRequest.get(target.url.href)).pipe(
        Effect.mapError((error): CdnTransportError | CdnUrlRefused => requestFailure("download", host, error)),
        Effect.timeoutFail({
          duration: timeouts.response,
          onTimeout: () =>
            new CdnTimeout({ operation: "download", host, phase: "response", timeoutMs: Duration.toMillis(timeouts.response) })
        })
      )
      if (response.status < 200 || response.status >= 300) {
        const said = response.headers["x-error-message"]
        return yield* new CdnHttpError({
          operation: "download",
          host,
          status: response.status,
          ...(said === undefined ? {} : { serverMessage: scrubUrls(said) })
        })
      }
      const declared = contentLength(response.headers["content-length"])
      // a key-less image is its own size; ciphertext adds 1 to 16 bytes of padding
      const cipherCap = Option.isSome(key) ? paddedSize(maxBytes) : maxBytes
      if (Option.isSome(declared) && declared.value > cipherCap) {
        return yield* new CdnTooLarge({ operation: "download", limitBytes: maxBytes, sizeBytes: declared.value, source: "declared_length" })
      }

      const plaintext = Stream.suspend(() => {
        let received = 0
        let produced = 0
        const md5 = expectedMd5 === undefined ? undefined : createHash("md5")
        const truncated = (detail: string) =>
          new CdnTruncated({
            operation: "download",
            host,
            receivedBytes: received,
            ...(Option.isSome(declared) ? { expectedBytes: declared.value } : {}),
            detail
          })
        const body = webBodyOf(response)
        if (body === undefined) return Stream.dieMessage("a CDN response was not made by CdnTransport's client (NodeHttp.responseFromWeb)")
        const ciphertext = idleBody<CdnDownloadError>(body, {
          idle: timeouts.idle,
          onIdle: () => new CdnTimeout({ operation: "download", host, phase: "idle", timeoutMs: Duration.toMillis(timeouts.idle) }),
          onError: (cause) => truncated(scrubUrls(describeCause(cause))),
          // a batch never runs past the cap, so a body that grows over it fails as soon as it does
          batchBytes: () => Math.min(BATCH_BYTES, cipherCap + 1 - received)
        }).pipe(
          // checked per pull (a Chunk of the socket's buffers), not per buffer: one effect per read, not per 64 KiB
          Stream.mapChunksEffect((chunks) => {
            for (const chunk of chunks) received += chunk.length
            return received > cipherCap
              ? Effect.fail(new CdnTooLarge({ operation: "download", limitBytes: maxBytes, sizeBytes: received, source: "body" }))
              : Effect.succeed(chunks)
          }),
          Stream.concat(Stream.execute(Effect.suspend(() =>
            Option.isSome(declared) && received < declared.value ? Effect.fail(truncated("the body ended early")) : Effect.void
          )))
        )
        const decrypted: Stream.Stream<Uint8Array, CdnDownloadError> = Option.match(key, {
          onNone: () => ciphertext,
          onSome: (aesKey) => ciphertext.pipe(decryptEcb(aesKey))
        })
        const finalChecks = Effect.suspend((): Effect.Effect<void, CdnDownloadError> => {
          if (produced === 0) return Effect.fail(new CdnEmptyMedia({ operation: "download" }))
          if (expectedSize !== undefined && produced !== expectedSize) {
            return Effect.fail(new CdnIntegrityError({ check: "size", expected: String(expectedSize), actual: String(produced) }))
          }
          const digest = md5?.digest("hex")
          if (digest !== undefined && expectedMd5 !== undefined && digest !== expectedMd5.trim().toLowerCase()) {
            return Effect.fail(new CdnIntegrityError({ check: "md5", expected: expectedMd5, actual: digest }))
          }
          return Effect.void
        })
        return decrypted.pipe(
          Stream.mapChunksEffect((chunks) => {
            for (const chunk of chunks) {
              produced += chunk.length
              md5?.update(chunk)
            }
            return produced > maxBytes
              ? Effect.fail(new CdnTooLarge({ operation: "download", limitBytes: maxBytes, sizeBytes: produced, source: "body" }))
              : Effect.succeed(chunks)
          }),
          Stream.concat(Stream.execute(finalChecks))
        )
      })

      const opened: OpenedDownload = {
        host,
        declaredBytes: declared,
        plaintextBytes: Option.fromNullable(expectedSize),
        plaintext
      }
      return opened
    })

    /** The whole plaintext in memory: for small media (a voice note to transcode), and tests. */
    const bytes = Effect.fn("CdnDownload.bytes")(function*(request: CdnDownloadRequest) {
      return yield* Effect.scoped(Effect.flatMap(open(request), (download) =>
        Stream.runFold(download.plaintext, [] as Array<Uint8Array>, (chunks, chunk) => {
          chunks.push(chunk)
          return chunks
        }).pipe(Effect.map((chunks): Uint8Array => Buffer.concat(chunks)))))
    })

    return { open, bytes } as const
  }),
  dependencies: [CdnTransport.layer]
}) {}
