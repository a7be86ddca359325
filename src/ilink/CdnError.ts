/**
 * Typed failures of the CDN boundary (PROTOCOL §1.8.9, §1.8.10, §6): every way a media download or upload
 * can fail, each saying what failed in words a user can act on.
 *
 * None of them carries a secret: no AES key, no `encrypt_query_param`, no signed URL query. Errors name
 * the CDN by `host` (origin only) and quote server text only after {@link scrubUrls}.
 *
 * @example
 * ```ts
 * download.bytes(request).pipe(
 *   Effect.catchTags({ CdnTooLarge: (e) => notice(e.message), CdnTimeout: (e) => retryLater(e) })
 * )
 * ```
 */
import { Schema } from "effect"
import { AesKeyError } from "../domain/AesKey.js"
import { EcbDecryptError } from "../domain/EcbCipher.js"
import { TransportErrorKind } from "../wire/ILinkError.js"

export { AesKeyError } from "../domain/AesKey.js"
export { EcbDecryptError } from "../domain/EcbCipher.js"

export const CdnOperation = Schema.Literal("download", "upload")
export type CdnOperation = typeof CdnOperation.Type

const on = (operation: CdnOperation, host: string) => `CDN ${operation}${host === "" ? "" : ` from ${host}`}`

/** Replaces every URL in `text` by its origin, so a signed query can never leak through server text. */
export const scrubUrls = (text: string): string =>
  text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*/gi, (url) => {
    try {
      return new URL(url).origin
    } catch {
      return "(url)"
    }
  }).slice(0, 300)

/** The origin of a URL, or "" when it has none; the only part of a CDN URL that may be shown. */
export const originOf = (url: string | URL): string => {
  try {
    const origin = (typeof url === "string" ? new URL(url) : url).origin
    return origin === "null" ? "" : origin
  } catch {
    return ""
  }
}

/** The URL is not one we fetch from: not http(s), credentials in it, or a private address (SSRF). */
export class CdnUrlRefused extends Schema.TaggedError<CdnUrlRefused>("openclaw-weixin/CdnUrlRefused")("CdnUrlRefused", {
  operation: CdnOperation,
  host: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${on(this.operation, this.host)} refused: ${this.reason}; media is fetched only from the configured ` +
      "CDN host or a public address the server names (set cdnBaseUrl to allow a private CDN)"
  }
}

/** Neither a full URL nor a query parameter to build one from (an item without a location, or getuploadurl). */
export class CdnNoLocation extends Schema.TaggedError<CdnNoLocation>("openclaw-weixin/CdnNoLocation")("CdnNoLocation", {
  operation: CdnOperation,
  detail: Schema.String
}) {
  override get message(): string {
    return `CDN ${this.operation}: no location: ${this.detail}`
  }
}

/** The CDN answered with an HTTP status that is not success. */
export class CdnHttpError extends Schema.TaggedError<CdnHttpError>("openclaw-weixin/CdnHttpError")("CdnHttpError", {
  operation: CdnOperation,
  host: Schema.String,
  status: Schema.Number,
  /** `x-error-message`, or the start of the body, scrubbed of URLs */
  serverMessage: Schema.optionalWith(Schema.String, { exact: true })
}) {
  override get message(): string {
    const said = this.serverMessage === undefined || this.serverMessage === "" ? "" : `: ${this.serverMessage}`
    const hint = this.status >= 500
      ? "a CDN-side problem"
      : this.status === 404 || this.status === 410
      ? "the media is gone or its link expired"
      : "the CDN refused the request"
    return `${on(this.operation, this.host)}: HTTP ${this.status}${said}; ${hint}`
  }
}

export const SizeSource = Schema.Literal("item_length", "declared_length", "body")
export type SizeSource = typeof SizeSource.Type

/** The media is larger than the configured cap (`mediaMaxMb`). */
export class CdnTooLarge extends Schema.TaggedError<CdnTooLarge>("openclaw-weixin/CdnTooLarge")("CdnTooLarge", {
  operation: CdnOperation,
  limitBytes: Schema.Number,
  /** the size that was over the cap, when known (for a body: the bytes read when it went over) */
  sizeBytes: Schema.Number,
  /** where the size came from: the item's `len`, the response's content-length, or the body itself */
  source: SizeSource
}) {
  override get message(): string {
    const where: Record<SizeSource, string> = {
      item_length: "the message says it is",
      declared_length: "the CDN says it is",
      body: "the CDN sent more than"
    }
    return `CDN ${this.operation}: the media is too large: ${where[this.source]} ${this.sizeBytes} bytes, the limit is ` +
      `${this.limitBytes} bytes (mediaMaxMb)`
  }
}

/** The body ended before it was complete: the connection was cut or the server sent less than it declared. */
export class CdnTruncated extends Schema.TaggedError<CdnTruncated>("openclaw-weixin/CdnTruncated")("CdnTruncated", {
  operation: CdnOperation,
  host: Schema.String,
  receivedBytes: Schema.Number,
  expectedBytes: Schema.optionalWith(Schema.Number, { exact: true }),
  detail: Schema.String
}) {
  override get message(): string {
    const of = this.expectedBytes === undefined ? "" : ` of ${this.expectedBytes}`
    return `${on(this.operation, this.host)}: the body was cut off after ${this.receivedBytes}${of} bytes (${this.detail})`
  }
}

export const CdnTimeoutPhase = Schema.Literal("response", "idle")
export type CdnTimeoutPhase = typeof CdnTimeoutPhase.Type

/** No answer in time: no response headers (`response`), or no progress on the body (`idle`). */
export class CdnTimeout extends Schema.TaggedError<CdnTimeout>("openclaw-weixin/CdnTimeout")("CdnTimeout", {
  operation: CdnOperation,
  host: Schema.String,
  phase: CdnTimeoutPhase,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    const what = this.phase === "response" ? "no answer" : "the transfer made no progress"
    return `${on(this.operation, this.host)}: ${what} within ${this.timeoutMs} ms`
  }
}

/** The connection failed below HTTP (DNS, refused, reset, TLS, unreachable). */
export class CdnTransportError extends Schema.TaggedError<CdnTransportError>("openclaw-weixin/CdnTransportError")(
  "CdnTransportError",
  {
    operation: CdnOperation,
    host: Schema.String,
    kind: TransportErrorKind,
    code: Schema.optionalWith(Schema.String, { exact: true }),
    detail: Schema.String
  }
) {
  override get message(): string {
    const code = this.code === undefined ? "" : ` [${this.code}]`
    return `${on(this.operation, this.host)}: network ${this.kind} error${code}: ${this.detail}`
  }
}

export const IntegrityCheck = Schema.Literal("size", "md5")
export type IntegrityCheck = typeof IntegrityCheck.Type

/**
 * The media decrypted, but not to what the item announced (`len`, `md5`): a key that yields garbage, as
 * when the server re-keys deduplicated ciphertext (PROTOCOL Appendix C), or corrupt data.
 */
export class CdnIntegrityError extends Schema.TaggedError<CdnIntegrityError>("openclaw-weixin/CdnIntegrityError")(
  "CdnIntegrityError",
  {
    check: IntegrityCheck,
    expected: Schema.String,
    actual: Schema.String
  }
) {
  override get message(): string {
    return `CDN download: the decrypted media does not match the message: ${this.check} is ${this.actual}, ` +
      `expected ${this.expected}; the key is wrong or the data corrupt`
  }
}

/** Empty media: nothing worth storing or sending. */
export class CdnEmptyMedia extends Schema.TaggedError<CdnEmptyMedia>("openclaw-weixin/CdnEmptyMedia")("CdnEmptyMedia", {
  operation: CdnOperation
}) {
  override get message(): string {
    return this.operation === "upload"
      ? "CDN upload: the file is empty; WeChat cannot show an empty file"
      : "CDN download: the media is empty"
  }
}

/** The upload was answered 200 but without `x-encrypted-param`, on every attempt (PROTOCOL §1.8.9). */
export class CdnUploadUnconfirmed extends Schema.TaggedError<CdnUploadUnconfirmed>("openclaw-weixin/CdnUploadUnconfirmed")(
  "CdnUploadUnconfirmed",
  {
    host: Schema.String,
    attempts: Schema.Number
  }
) {
  override get message(): string {
    return `CDN upload${this.host === "" ? "" : ` to ${this.host}`}: answered 200 without x-encrypted-param ` +
      `${this.attempts} time(s); the media cannot be referenced, so it is not sent`
  }
}

/** The plaintext to upload could not be read, or changed while it was read. */
export class CdnSourceError extends Schema.TaggedError<CdnSourceError>("openclaw-weixin/CdnSourceError")("CdnSourceError", {
  problem: Schema.String
}) {
  override get message(): string {
    return `CDN upload: cannot read the media: ${this.problem}`
  }
}

export const CdnError = Schema.Union(
  CdnUrlRefused,
  CdnNoLocation,
  CdnHttpError,
  CdnTooLarge,
  CdnTruncated,
  CdnTimeout,
  CdnTransportError,
  CdnIntegrityError,
  CdnEmptyMedia,
  CdnUploadUnconfirmed,
  CdnSourceError,
  AesKeyError,
  EcbDecryptError
)
export type CdnError = typeof CdnError.Type

/** What a download can fail with. */
export type CdnDownloadError =
  | CdnUrlRefused
  | CdnNoLocation
  | CdnHttpError
  | CdnTooLarge
  | CdnTruncated
  | CdnTimeout
  | CdnTransportError
  | CdnIntegrityError
  | CdnEmptyMedia
  | EcbDecryptError

/** What the CDN half of an upload can fail with (getuploadurl adds the iLink errors). */
export type CdnUploadError =
  | CdnUrlRefused
  | CdnNoLocation
  | CdnHttpError
  | CdnTimeout
  | CdnTransportError
  | CdnEmptyMedia
  | CdnUploadUnconfirmed
  | CdnSourceError
