/**
 * Outbound media to the CDN (PROTOCOL §1.8.5, §1.8.9, §6.2): size and MD5 of the plaintext, a fresh file
 * key and AES key, `getuploadurl`, then the ciphertext POSTed as a stream with an exact content-length.
 *
 * The plaintext is read twice (MD5, then encrypt-and-send) and never held whole, so memory does not grow
 * with the file. The upload goes to `upload_full_url`, else `<cdnBaseUrl>/upload?…` (PROTOCOL §1.2), under
 * the address rule of CdnAddress.ts. Success is HTTP 200 with `x-encrypted-param`. A 4xx fails at once
 * with the server's message; any other status, a 200 without the header, or a network failure is retried
 * at most twice more after a jittered backoff ({@link uploadRetrySchedule}). A transfer that makes no
 * progress for `CdnTimeouts.idle` fails.
 *
 * The result holds what the outgoing item needs (PROTOCOL §5.1): its `media` (`encrypt_query_param`, the
 * key as base64 of its hex text, `encrypt_type` 1) and the sizes.
 *
 * @example
 * ```ts
 * const uploaded = yield* cdn.upload({ conn, toUserId, mediaType: uploadMediaTypeOf(mime), source, cdnBaseUrl })
 * const item = { type: 4, file_item: { media: uploaded.media, file_name, len: String(uploaded.plaintextBytes) } }
 * ```
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { createHash, randomBytes } from "node:crypto"
import { Clock, Duration, Effect, Option, Ref, Schedule, Stream } from "effect"
import { aesKeyFromBytes, aesKeyHex, outboundAesKeyField, paddedSize } from "../domain/AesKey.js"
import { encryptEcb } from "../domain/EcbCipher.js"
import type { OutboundUploadMediaType } from "../domain/MediaRouting.js"
import { resolveTarget } from "./CdnAddress.js"
import {
  CdnEmptyMedia,
  CdnHttpError,
  CdnNoLocation,
  CdnSourceError,
  CdnTimeout,
  type CdnTransportError,
  type CdnUploadError,
  CdnUploadUnconfirmed,
  type CdnUrlRefused,
  scrubUrls
} from "./CdnError.js"
import { CdnTimeouts } from "./CdnTimeouts.js"
import { CdnTransport, requestFailure } from "./CdnTransport.js"
import type { UploadSource } from "./CdnUploadSource.js"
import { ILinkApi } from "./ILinkApi.js"
import type { ILinkConnection } from "./ILinkConnection.js"

export interface CdnUploadRequest {
  /** the account's iLink connection, for getuploadurl */
  readonly conn: ILinkConnection
  /** the recipient, as getuploadurl wants it */
  readonly toUserId: string
  /** from `uploadMediaTypeOf(mime)` */
  readonly mediaType: OutboundUploadMediaType
  readonly source: UploadSource
  /** the configured CDN base URL: the fallback location, and the host the address rule trusts */
  readonly cdnBaseUrl: string
}

export interface UploadedMedia {
  /** the outgoing item's `media` */
  readonly media: { readonly encrypt_query_param: string; readonly aes_key: string; readonly encrypt_type: 1 }
  /** `file_item.len` (as a decimal string on the wire) */
  readonly plaintextBytes: number
  /** `image_item.mid_size`, `video_item.video_size` */
  readonly ciphertextBytes: number
  /** lowercase hex MD5 of the plaintext */
  readonly md5: string
  readonly filekey: string
}

/** Two more attempts after the first, about 1 s and 2 s later (±20 %), as the jitter spreads them. */
export const uploadRetrySchedule = Schedule.exponential(Duration.seconds(1)).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(2))
)

/** How much of a 4xx body becomes the error's server message when there is no `x-error-message`. */
const MESSAGE_BYTES = 1024

const withoutTrailingSlashes = (url: string) => url.replace(/\/+$/, "")

/** Fails when a read yields a different number of bytes than the source declared. */
const exactly = (size: number) => (read: Stream.Stream<Uint8Array, CdnSourceError>): Stream.Stream<Uint8Array, CdnSourceError> =>
  Stream.suspend(() => {
    let seen = 0
    const changed = () => new CdnSourceError({ problem: `the media changed while it was read (expected ${size} bytes, read ${seen})` })
    return read.pipe(
      Stream.mapEffect((chunk) => {
        seen += chunk.length
        return seen > size ? Effect.fail(changed()) : Effect.succeed(chunk)
      }),
      Stream.concat(Stream.execute(Effect.suspend(() => (seen === size ? Effect.void : Effect.fail(changed())))))
    )
  })

const retryable = (error: CdnUploadError): boolean =>
  error._tag === "CdnUploadUnconfirmed" || error._tag === "CdnTransportError" ||
  (error._tag === "CdnHttpError" && (error.status < 400 || error.status >= 500))

const startOfBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string> =>
  response.stream.pipe(
    Stream.runFoldWhile(Buffer.alloc(0), (text) => text.length < MESSAGE_BYTES, (text, chunk) => Buffer.concat([text, chunk])),
    Effect.map((text) => text.subarray(0, MESSAGE_BYTES).toString("utf8").trim()),
    Effect.orElseSucceed(() => "")
  )

export class CdnUpload extends Effect.Service<CdnUpload>()("openclaw-weixin/CdnUpload", {
  effect: Effect.gen(function*() {
    const transport = yield* CdnTransport
    const api = yield* ILinkApi

    const upload = Effect.fn("CdnUpload.upload")(function*(request: CdnUploadRequest) {
      const { source } = request
      if (!Number.isSafeInteger(source.size) || source.size < 0) {
        return yield* new CdnSourceError({ problem: `the size ${source.size} is not a byte count` })
      }
      if (source.size === 0) return yield* new CdnEmptyMedia({ operation: "upload" })
      const read = source.read.pipe(exactly(source.size))
      const md5 = yield* Stream.runFold(read, createHash("md5"), (hash, chunk) => hash.update(chunk)).pipe(
        Effect.map((hash) => hash.digest("hex"))
      )
      const ciphertextBytes = paddedSize(source.size)
      const key = aesKeyFromBytes(yield* Effect.sync(() => randomBytes(16)))
      const filekey = yield* Effect.sync(() => randomBytes(16).toString("hex"))

      const answer = yield* api.getUploadUrl(request.conn, {
        filekey,
        media_type: request.mediaType,
        to_user_id: request.toUserId,
        rawsize: source.size,
        rawfilemd5: md5,
        filesize: ciphertextBytes,
        no_need_thumb: true,
        aeskey: aesKeyHex(key)
      })
      const full = answer.upload_full_url?.trim() ?? ""
      const param = answer.upload_param ?? ""
      if (full === "" && param === "") {
        return yield* new CdnNoLocation({ operation: "upload", detail: "getuploadurl returned neither upload_full_url nor upload_param" })
      }
      const url = full !== ""
        ? full
        : `${withoutTrailingSlashes(request.cdnBaseUrl)}/upload?encrypted_query_param=${encodeURIComponent(param)}` +
          `&filekey=${encodeURIComponent(filekey)}`
      const target = yield* resolveTarget("upload", url, request.cdnBaseUrl)
      const host = target.host
      const client = transport.client(target.route)
      const timeouts = yield* CdnTimeouts
      const idleMs = Duration.toMillis(timeouts.idle)
      const attempts = yield* Ref.make(0)

      const attempt = Effect.gen(function*() {
        const attemptNo = yield* Ref.updateAndGet(attempts, (n) => n + 1)
        yield* Effect.logDebug(`CDN upload to ${host}: ${source.size} bytes, attempt ${attemptNo}`)
        const lastProgress = yield* Ref.make(yield* Clock.currentTimeMillis)
        const sourceFailure = yield* Ref.make(Option.none<CdnSourceError>())
        const body = read.pipe(
          Stream.tapError((error) => Ref.set(sourceFailure, Option.some(error))),
          encryptEcb(key),
          Stream.tap(() => Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.set(lastProgress, now)))
        )
        const post = HttpClientRequest.post(target.url.href).pipe(
          HttpClientRequest.bodyStream(body, { contentType: "application/octet-stream", contentLength: ciphertextBytes })
        )
        const exchange = Effect.gen(function*() {
          const response = yield* HttpClient.withScope(client).execute(post).pipe(
            Effect.catchAll((error): Effect.Effect<never, CdnTransportError | CdnUrlRefused | CdnSourceError> =>
              // a source that failed mid-read breaks the request; say so rather than blame the network
              Effect.flatMap(Ref.get(sourceFailure), (failed) =>
                Effect.fail(Option.getOrElse(failed, (): CdnTransportError | CdnUrlRefused | CdnSourceError =>
                  requestFailure("upload", host, error))))
            )
          )
          const said = response.headers["x-error-message"]
          if (response.status === 200) {
            const param = response.headers["x-encrypted-param"] ?? ""
            if (param !== "") return param
            return yield* new CdnUploadUnconfirmed({ host, attempts: attemptNo })
          }
          const serverMessage = said !== undefined
            ? said
            : response.status >= 400 && response.status < 500
            ? yield* startOfBody(response)
            : ""
          return yield* new CdnHttpError({
            operation: "upload",
            host,
            status: response.status,
            ...(serverMessage === "" ? {} : { serverMessage: scrubUrls(serverMessage) })
          })
        }).pipe(Effect.scoped)
        // one deadline for the whole exchange, reset by every chunk that leaves: slow is fine, stuck is not
        const watchdog = Effect.gen(function*() {
          while (true) {
            const waited = (yield* Clock.currentTimeMillis) - (yield* Ref.get(lastProgress))
            if (waited >= idleMs) return yield* new CdnTimeout({ operation: "upload", host, phase: "idle", timeoutMs: idleMs })
            yield* Effect.sleep(Duration.millis(idleMs - waited))
          }
        })
        return yield* Effect.raceFirst(exchange, watchdog)
      })

      const encryptedParam = yield* attempt.pipe(
        Effect.retry({ schedule: uploadRetrySchedule, while: retryable })
      )
      const uploaded: UploadedMedia = {
        media: { encrypt_query_param: encryptedParam, aes_key: outboundAesKeyField(key), encrypt_type: 1 },
        plaintextBytes: source.size,
        ciphertextBytes,
        md5,
        filekey
      }
      return uploaded
    })

    return { upload } as const
  }),
  dependencies: [CdnTransport.layer]
}) {}
