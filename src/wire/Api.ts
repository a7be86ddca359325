/**
 * Request and response bodies of every iLink endpoint (PROTOCOL §1.8), and the QR-login statuses.
 *
 * Requests are what callers hand to `ILinkApi` (without `base_info`, which the client adds); the
 * `...Body` schemas are the exact JSON sent, `base_info` included. Responses decode tolerantly: unknown
 * fields are ignored and `null` reads as absent.
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import {
  optionalField,
  TypingStatusSchema,
  Uint64String,
  UploadMediaTypeSchema,
  WeixinMessage,
  WireNumber
} from "./Message.js"
import { describeParseError } from "./Redaction.js"

// ---------------------------------------------------------------------------------------------------------
// base_info (PROTOCOL §1.4)

export const BaseInfo = Schema.Struct({
  channel_version: Schema.String,
  bot_agent: Schema.String
}).annotations({ identifier: "BaseInfo" })
export type BaseInfo = typeof BaseInfo.Type

// ---------------------------------------------------------------------------------------------------------
// getupdates (§1.8.1)

export const GetUpdatesRequest = Schema.Struct({
  /** opaque cursor from the previous response; "" when there is none */
  get_updates_buf: Schema.String
}).annotations({ identifier: "GetUpdatesRequest" })
export type GetUpdatesRequest = typeof GetUpdatesRequest.Type

export const GetUpdatesBody = Schema.Struct({
  ...GetUpdatesRequest.fields,
  base_info: BaseInfo
}).annotations({ identifier: "GetUpdatesBody" })

/** A message of a batch that could not be decoded; kept so the caller can log it and still move on. */
export const RejectedMessage = Schema.Struct({
  /** position in the batch's `msgs` */
  index: Schema.Number,
  /** the id, when one could be read from the raw message */
  message_id: Schema.optionalWith(Schema.String, { exact: true }),
  problem: Schema.String
}).annotations({ identifier: "RejectedMessage" })
export type RejectedMessage = typeof RejectedMessage.Type

const getUpdatesFields = {
  ret: optionalField(WireNumber),
  errcode: optionalField(WireNumber),
  errmsg: optionalField(Schema.String),
  get_updates_buf: optionalField(Schema.String),
  /** when > 0, the server's suggested client timeout for the next poll */
  longpolling_timeout_ms: optionalField(WireNumber),
  /** deprecated, ignored */
  sync_buf: optionalField(Schema.String)
}

const GetUpdatesResponseWire = Schema.Struct({
  ...getUpdatesFields,
  msgs: optionalField(Schema.Array(Schema.Unknown))
})

const GetUpdatesResponseDecoded = Schema.Struct({
  ...getUpdatesFields,
  msgs: Schema.optionalWith(Schema.Array(Schema.typeSchema(WeixinMessage)), { exact: true }),
  /** messages of this batch that did not decode (absent when there are none) */
  rejected_msgs: Schema.optionalWith(Schema.Array(RejectedMessage), { exact: true })
})

const rawMessageId = (raw: unknown): string | undefined => {
  if (raw === null || typeof raw !== "object") return undefined
  const id = (raw as { message_id?: unknown }).message_id
  return typeof id === "string" ? id : typeof id === "number" && Number.isSafeInteger(id) ? String(id) : undefined
}

/**
 * getupdates answer. Each message is decoded on its own: one malformed message lands in `rejected_msgs`
 * instead of failing the batch, so the cursor can still advance past it and the others are processed.
 * The envelope itself (ret, errcode, cursor, `msgs` being an array) must be well-formed.
 */
const encodeMessages = ParseResult.encodeUnknown(Schema.Array(WeixinMessage))

export const GetUpdatesResponse = Schema.transformOrFail(GetUpdatesResponseWire, Schema.typeSchema(GetUpdatesResponseDecoded), {
  strict: true,
  decode: (wire): Effect.Effect<typeof GetUpdatesResponseDecoded.Type, ParseResult.ParseIssue> => {
    const { msgs, ...envelope } = wire
    if (msgs === undefined) return ParseResult.succeed(envelope)
    const accepted: Array<WeixinMessage> = []
    const rejected: Array<RejectedMessage> = []
    msgs.forEach((raw, index) => {
      const decoded = Schema.decodeUnknownEither(WeixinMessage)(raw)
      if (Either.isRight(decoded)) {
        accepted.push(decoded.right)
      } else {
        const messageId = rawMessageId(raw)
        rejected.push({
          index,
          ...(messageId === undefined ? {} : { message_id: messageId }),
          problem: describeParseError(decoded.left)
        })
      }
    })
    return ParseResult.succeed({ ...envelope, msgs: accepted, ...(rejected.length === 0 ? {} : { rejected_msgs: rejected }) })
  },
  encode: (decoded): Effect.Effect<typeof GetUpdatesResponseWire.Type, ParseResult.ParseIssue> => {
    const { msgs, rejected_msgs: _rejected, ...envelope } = decoded
    if (msgs === undefined) return ParseResult.succeed(envelope)
    return Effect.map(encodeMessages(msgs), (encoded) => ({ ...envelope, msgs: encoded }))
  }
}).annotations({ identifier: "GetUpdatesResponse" })
export type GetUpdatesResponse = typeof GetUpdatesResponse.Type

// ---------------------------------------------------------------------------------------------------------
// sendmessage (§1.8.2)

export const SendMessageRequest = Schema.Struct({
  msg: WeixinMessage
}).annotations({ identifier: "SendMessageRequest" })
export type SendMessageRequest = typeof SendMessageRequest.Type

export const SendMessageBody = Schema.Struct({
  ...SendMessageRequest.fields,
  base_info: BaseInfo
}).annotations({ identifier: "SendMessageBody" })

export const SendMessageResponse = Schema.Struct({
  ret: optionalField(WireNumber),
  errcode: optionalField(WireNumber),
  errmsg: optionalField(Schema.String),
  /** the server's id of the stored message; absent with ret 0 means "accepted, not confirmed" (App. C) */
  message_id: optionalField(Uint64String)
}).annotations({ identifier: "SendMessageResponse" })
export type SendMessageResponse = typeof SendMessageResponse.Type

// ---------------------------------------------------------------------------------------------------------
// sendtyping (§1.8.3)

export const SendTypingRequest = Schema.Struct({
  ilink_user_id: Schema.String,
  typing_ticket: Schema.String,
  /** 1 typing, 2 cancel */
  status: TypingStatusSchema
}).annotations({ identifier: "SendTypingRequest" })
export type SendTypingRequest = typeof SendTypingRequest.Type

export const SendTypingBody = Schema.Struct({
  ...SendTypingRequest.fields,
  base_info: BaseInfo
}).annotations({ identifier: "SendTypingBody" })

// ---------------------------------------------------------------------------------------------------------
// getconfig (§1.8.4)

export const GetConfigRequest = Schema.Struct({
  ilink_user_id: Schema.String,
  context_token: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "GetConfigRequest" })
export type GetConfigRequest = typeof GetConfigRequest.Type

export const GetConfigBody = Schema.Struct({
  ...GetConfigRequest.fields,
  base_info: BaseInfo
}).annotations({ identifier: "GetConfigBody" })

export const GetConfigResponse = Schema.Struct({
  ret: optionalField(WireNumber),
  errcode: optionalField(WireNumber),
  errmsg: optionalField(Schema.String),
  typing_ticket: optionalField(Schema.String)
}).annotations({ identifier: "GetConfigResponse" })
export type GetConfigResponse = typeof GetConfigResponse.Type

// ---------------------------------------------------------------------------------------------------------
// getuploadurl (§1.8.5)

export const GetUploadUrlRequest = Schema.Struct({
  /** 32 lowercase hex chars, new per upload */
  filekey: Schema.String,
  media_type: UploadMediaTypeSchema,
  to_user_id: Schema.String,
  /** plaintext byte size */
  rawsize: Schema.NonNegativeInt,
  /** lowercase hex MD5 of the plaintext */
  rawfilemd5: Schema.String,
  /** ciphertext size = ceil((rawsize + 1) / 16) * 16 */
  filesize: Schema.NonNegativeInt,
  thumb_rawsize: Schema.optionalWith(Schema.NonNegativeInt, { exact: true }),
  thumb_rawfilemd5: Schema.optionalWith(Schema.String, { exact: true }),
  thumb_filesize: Schema.optionalWith(Schema.NonNegativeInt, { exact: true }),
  no_need_thumb: Schema.Boolean,
  /** the AES-128 key as 32 lowercase hex chars */
  aeskey: Schema.String
}).annotations({ identifier: "GetUploadUrlRequest" })
export type GetUploadUrlRequest = typeof GetUploadUrlRequest.Type

export const GetUploadUrlBody = Schema.Struct({
  ...GetUploadUrlRequest.fields,
  base_info: BaseInfo
}).annotations({ identifier: "GetUploadUrlBody" })

export const GetUploadUrlResponse = Schema.Struct({
  ret: optionalField(WireNumber),
  errcode: optionalField(WireNumber),
  errmsg: optionalField(Schema.String),
  upload_param: optionalField(Schema.String),
  thumb_upload_param: optionalField(Schema.String),
  upload_full_url: optionalField(Schema.String)
}).annotations({ identifier: "GetUploadUrlResponse" })
export type GetUploadUrlResponse = typeof GetUploadUrlResponse.Type

// ---------------------------------------------------------------------------------------------------------
// msg/notifystart, msg/notifystop (§1.8.6)

export const NotifyBody = Schema.Struct({
  base_info: BaseInfo
}).annotations({ identifier: "NotifyBody" })

export const NotifyResponse = Schema.Struct({
  ret: optionalField(WireNumber),
  errcode: optionalField(WireNumber),
  errmsg: optionalField(Schema.String)
}).annotations({ identifier: "NotifyResponse" })
export type NotifyResponse = typeof NotifyResponse.Type

// ---------------------------------------------------------------------------------------------------------
// get_bot_qrcode (§1.8.7)

export const QrCodeRequest = Schema.Struct({
  /** up to 10 non-empty tokens of locally stored accounts, newest first (secrets: held as Redacted) */
  local_token_list: Schema.Array(Schema.Redacted(Schema.String))
}).annotations({ identifier: "QrCodeRequest" })
export type QrCodeRequest = typeof QrCodeRequest.Type

export const QrCodeResponse = Schema.Struct({
  /** opaque id used to poll the status */
  qrcode: Schema.String,
  /** the text (a URL) to render as a QR code */
  qrcode_img_content: Schema.String,
  ret: optionalField(WireNumber),
  errmsg: optionalField(Schema.String)
}).annotations({ identifier: "QrCodeResponse" })
export type QrCodeResponse = typeof QrCodeResponse.Type

// ---------------------------------------------------------------------------------------------------------
// get_qrcode_status (§1.8.8)

export const KnownQrStatus = Schema.Literal(
  "wait",
  "scaned",
  "confirmed",
  "expired",
  "scaned_but_redirect",
  "need_verifycode",
  "verify_code_blocked",
  "binded_redirect"
).annotations({ identifier: "KnownQrStatus" })
export type KnownQrStatus = typeof KnownQrStatus.Type

/** A status string this client does not know; the login flow treats it like `wait` and logs a warning. */
export const UnknownQrStatus = Schema.TaggedStruct("UnknownQrStatus", {
  raw: Schema.String
}).annotations({ identifier: "UnknownQrStatus" })
export type UnknownQrStatus = typeof UnknownQrStatus.Type

/** Decodes any string: a known status stays a literal, anything else becomes `UnknownQrStatus`. */
export const QrStatus = Schema.Union(
  KnownQrStatus,
  Schema.transform(Schema.String, UnknownQrStatus, {
    strict: true,
    decode: (raw) => UnknownQrStatus.make({ raw }),
    encode: (unknown) => unknown.raw
  })
).annotations({ identifier: "QrStatus" })
export type QrStatus = typeof QrStatus.Type

export const isUnknownQrStatus = (status: QrStatus): status is UnknownQrStatus => typeof status === "object"

export const QrStatusRequest = Schema.Struct({
  qrcode: Schema.String,
  /** the user-entered pair code, only while one is pending */
  verify_code: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "QrStatusRequest" })
export type QrStatusRequest = typeof QrStatusRequest.Type

export const QrStatusResponse = Schema.Struct({
  status: QrStatus,
  /** the credential, on `confirmed`; decoded straight into Redacted so it cannot be logged by accident */
  bot_token: optionalField(Schema.Redacted(Schema.String)),
  /** e.g. `b0f5860fdecb@im.bot`; required on `confirmed` */
  ilink_bot_id: optionalField(Schema.String),
  /** API base URL for this bot */
  baseurl: optionalField(Schema.String),
  /** WeChat id of the person who scanned */
  ilink_user_id: optionalField(Schema.String),
  /** host name without scheme, on `scaned_but_redirect` */
  redirect_host: optionalField(Schema.String)
}).annotations({ identifier: "QrStatusResponse" })
export type QrStatusResponse = typeof QrStatusResponse.Type
