/**
 * The iLink message model (PROTOCOL §1.9): enums, CDN media references, message items and `WeixinMessage`.
 *
 * Decoding is tolerant on purpose: unknown fields are ignored, `null` reads as "absent", and an item whose
 * `type` is unknown (or whose payload does not match its type) becomes an {@link UnsupportedItem} instead of
 * failing the whole batch, so one odd item never blocks a poll. Encoding is exact: absent fields are
 * omitted from the output.
 *
 * @example
 * ```ts
 * const msg = yield* Schema.decodeUnknown(WeixinMessage)(parseLossless(text))
 * for (const item of msg.item_list ?? []) if (item.type === MessageItemType.TEXT) console.log(item.text_item.text)
 * ```
 */
import { Schema } from "effect"

/** An optional field: absent or `null` on the wire decodes to absent; absent encodes to absent. */
export const optionalField = <S extends Schema.Schema.Any>(schema: S) =>
  Schema.optionalWith(schema, { exact: true, nullable: true })

/** A JSON number: finite, because NaN and Infinity cannot be written as JSON (they would become null). */
export const WireNumber = Schema.Finite

// ---------------------------------------------------------------------------------------------------------
// enums (plain numeric constants: the wire carries bare numbers and new values may appear at any time)

export const MessageType = { NONE: 0, USER: 1, BOT: 2 } as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

export const MessageState = { NEW: 0, GENERATING: 1, FINISH: 2 } as const
export type MessageState = (typeof MessageState)[keyof typeof MessageState]

export const MessageItemType = {
  NONE: 0,
  TEXT: 1,
  IMAGE: 2,
  VOICE: 3,
  FILE: 4,
  VIDEO: 5,
  TOOL_CALL_START: 11,
  TOOL_CALL_RESULT: 12
} as const
export type MessageItemType = (typeof MessageItemType)[keyof typeof MessageItemType]

export const UploadMediaType = { IMAGE: 1, VIDEO: 2, FILE: 3, VOICE: 4 } as const
export type UploadMediaType = (typeof UploadMediaType)[keyof typeof UploadMediaType]
export const UploadMediaTypeSchema = Schema.Literal(1, 2, 3, 4)

export const TypingStatus = { TYPING: 1, CANCEL: 2 } as const
export type TypingStatus = (typeof TypingStatus)[keyof typeof TypingStatus]
export const TypingStatusSchema = Schema.Literal(1, 2)

/** Voice `encode_type`; informational only (PROTOCOL §1.9). */
export const VoiceEncodeType = {
  PCM: 1,
  ADPCM: 2,
  FEATURE: 3,
  SPEEX: 4,
  AMR: 5,
  SILK: 6,
  MP3: 7,
  OGG_SPEEX: 8
} as const

// ---------------------------------------------------------------------------------------------------------
// 64-bit ids

/**
 * A 64-bit id (`message_id`, `msg_id`, `svr_id`) kept as its decimal string so no digit is ever lost.
 * `parseLossless` already turns bare integers into strings; a JSON number that still reaches this schema
 * (plain `JSON.parse`) is accepted only while it is a safe integer, because beyond that it is already
 * corrupted.
 */
export const Uint64String = Schema.Union(
  Schema.String,
  Schema.transform(Schema.Int.pipe(Schema.filter((n) => Number.isSafeInteger(n))), Schema.String, {
    strict: true,
    decode: (n) => String(n),
    encode: (s) => Number(s)
  })
).annotations({ identifier: "Uint64String" })

// ---------------------------------------------------------------------------------------------------------
// sub-objects

export const CDNMedia = Schema.Struct({
  encrypt_query_param: optionalField(Schema.String),
  /** base64 of the raw 16-byte key or of its 32-char hex form (PROTOCOL §6.1) */
  aes_key: optionalField(Schema.String),
  /** 0 = only the file id is encrypted, 1 = packed thumbnail/mid info; we send 1 */
  encrypt_type: optionalField(WireNumber),
  full_url: optionalField(Schema.String)
}).annotations({ identifier: "CDNMedia" })
export type CDNMedia = typeof CDNMedia.Type

export const TextItem = Schema.Struct({
  text: optionalField(Schema.String)
}).annotations({ identifier: "TextItem" })
export type TextItem = typeof TextItem.Type

export const ImageItem = Schema.Struct({
  media: optionalField(CDNMedia),
  thumb_media: optionalField(CDNMedia),
  /** 32-hex raw key; preferred for inbound decryption */
  aeskey: optionalField(Schema.String),
  url: optionalField(Schema.String),
  mid_size: optionalField(WireNumber),
  thumb_size: optionalField(WireNumber),
  thumb_height: optionalField(WireNumber),
  thumb_width: optionalField(WireNumber),
  hd_size: optionalField(WireNumber)
}).annotations({ identifier: "ImageItem" })
export type ImageItem = typeof ImageItem.Type

export const VoiceItem = Schema.Struct({
  media: optionalField(CDNMedia),
  encode_type: optionalField(WireNumber),
  bits_per_sample: optionalField(WireNumber),
  sample_rate: optionalField(WireNumber),
  /** milliseconds */
  playtime: optionalField(WireNumber),
  /** the server's speech-to-text */
  text: optionalField(Schema.String)
}).annotations({ identifier: "VoiceItem" })
export type VoiceItem = typeof VoiceItem.Type

export const FileItem = Schema.Struct({
  media: optionalField(CDNMedia),
  file_name: optionalField(Schema.String),
  md5: optionalField(Schema.String),
  /** plaintext byte length, as a string on the wire */
  len: optionalField(Schema.String)
}).annotations({ identifier: "FileItem" })
export type FileItem = typeof FileItem.Type

export const VideoItem = Schema.Struct({
  media: optionalField(CDNMedia),
  video_size: optionalField(WireNumber),
  play_length: optionalField(WireNumber),
  video_md5: optionalField(Schema.String),
  thumb_media: optionalField(CDNMedia),
  thumb_size: optionalField(WireNumber),
  thumb_height: optionalField(WireNumber),
  thumb_width: optionalField(WireNumber)
}).annotations({ identifier: "VideoItem" })
export type VideoItem = typeof VideoItem.Type

export const ToolCallStartItem = Schema.Struct({
  tool_name: optionalField(Schema.String),
  tool_call_id: optionalField(Schema.String)
}).annotations({ identifier: "ToolCallStartItem" })
export type ToolCallStartItem = typeof ToolCallStartItem.Type

/** `status` is `completed` / `failed` / `blocked` / `unknown` today; kept as a string so new values pass. */
export const ToolCallResultItem = Schema.Struct({
  tool_name: optionalField(Schema.String),
  tool_call_id: optionalField(Schema.String),
  status: optionalField(Schema.String)
}).annotations({ identifier: "ToolCallResultItem" })
export type ToolCallResultItem = typeof ToolCallResultItem.Type

/** The quoted part of a message: `quotemd5` is the lowercase hex MD5 of the selected substring. */
export const PartialText = Schema.Struct({
  start: optionalField(Schema.String),
  end: optionalField(Schema.String),
  startindex: optionalField(WireNumber),
  endindex: optionalField(WireNumber),
  quotemd5: optionalField(Schema.String)
}).annotations({ identifier: "PartialText" })
export type PartialText = typeof PartialText.Type

// ---------------------------------------------------------------------------------------------------------
// message items

/** Fields every item may carry, whatever its type. */
const itemCommonFields = {
  create_time_ms: optionalField(WireNumber),
  update_time_ms: optionalField(WireNumber),
  is_completed: optionalField(Schema.Boolean),
  msg_id: optionalField(Uint64String),
  ref_msg: optionalField(Schema.suspend((): Schema.Schema<RefMessage, RefMessageEncoded> => RefMessage))
}

export const TextMessageItem = Schema.Struct({
  type: Schema.Literal(MessageItemType.TEXT),
  text_item: TextItem,
  ...itemCommonFields
}).annotations({ identifier: "TextMessageItem" })
export type TextMessageItem = typeof TextMessageItem.Type

export const ImageMessageItem = Schema.Struct({
  type: Schema.Literal(MessageItemType.IMAGE),
  image_item: ImageItem,
  ...itemCommonFields
}).annotations({ identifier: "ImageMessageItem" })
export type ImageMessageItem = typeof ImageMessageItem.Type

export const VoiceMessageItem = Schema.Struct({
  type: Schema.Literal(MessageItemType.VOICE),
  voice_item: VoiceItem,
  ...itemCommonFields
}).annotations({ identifier: "VoiceMessageItem" })
export type VoiceMessageItem = typeof VoiceMessageItem.Type

export const FileMessageItem = Schema.Struct({
  type: Schema.Literal(MessageItemType.FILE),
  file_item: FileItem,
  ...itemCommonFields
}).annotations({ identifier: "FileMessageItem" })
export type FileMessageItem = typeof FileMessageItem.Type

export const VideoMessageItem = Schema.Struct({
  type: Schema.Literal(MessageItemType.VIDEO),
  video_item: VideoItem,
  ...itemCommonFields
}).annotations({ identifier: "VideoMessageItem" })
export type VideoMessageItem = typeof VideoMessageItem.Type

export const ToolCallStartMessageItem = Schema.Struct({
  type: Schema.Literal(MessageItemType.TOOL_CALL_START),
  tool_call_start_item: ToolCallStartItem,
  ...itemCommonFields
}).annotations({ identifier: "ToolCallStartMessageItem" })
export type ToolCallStartMessageItem = typeof ToolCallStartMessageItem.Type

export const ToolCallResultMessageItem = Schema.Struct({
  type: Schema.Literal(MessageItemType.TOOL_CALL_RESULT),
  tool_call_result_item: ToolCallResultItem,
  ...itemCommonFields
}).annotations({ identifier: "ToolCallResultMessageItem" })
export type ToolCallResultMessageItem = typeof ToolCallResultMessageItem.Type

/**
 * Any item we cannot read as one of the known kinds: an unknown `type` (including 0 NONE), or a known
 * `type` whose payload is missing or malformed. `type` carries the raw value so callers can log it.
 * Decoded with the same tolerant rules; the payload fields are dropped.
 */
export const UnsupportedItem = Schema.Struct({
  type: WireNumber,
  ...itemCommonFields
}).annotations({ identifier: "UnsupportedItem" })
export type UnsupportedItem = typeof UnsupportedItem.Type

/** Known kinds first, so the catch-all only takes what none of them accept. */
export const MessageItem = Schema.Union(
  TextMessageItem,
  ImageMessageItem,
  VoiceMessageItem,
  FileMessageItem,
  VideoMessageItem,
  ToolCallStartMessageItem,
  ToolCallResultMessageItem,
  UnsupportedItem
).annotations({ identifier: "MessageItem" })
export type MessageItem = typeof MessageItem.Type
export type MessageItemEncoded = typeof MessageItem.Encoded

/** The known kinds; discriminated on their literal `type`, so a `switch` narrows them. */
export type KnownMessageItem =
  | TextMessageItem
  | ImageMessageItem
  | VoiceMessageItem
  | FileMessageItem
  | VideoMessageItem
  | ToolCallStartMessageItem
  | ToolCallResultMessageItem

/**
 * True when the item decoded as one of the known kinds. `UnsupportedItem.type` is a plain number, so
 * `item.type === 1` alone does not narrow: test this first (or `"text_item" in item`).
 */
export const isKnownItem = (item: MessageItem): item is KnownMessageItem =>
  "text_item" in item || "image_item" in item || "voice_item" in item || "file_item" in item ||
  "video_item" in item || "tool_call_start_item" in item || "tool_call_result_item" in item

// ---------------------------------------------------------------------------------------------------------
// quotes

export interface RefMessage {
  readonly message_item?: MessageItem
  readonly title?: string
  readonly svr_id?: string
  readonly partial_text?: PartialText
}
export interface RefMessageEncoded {
  readonly message_item?: MessageItemEncoded | null
  readonly title?: string | null
  readonly svr_id?: string | number | null
  readonly partial_text?: typeof PartialText.Encoded | null
}

/** A quoted message; `message_item` may be absent on newer clients. */
export const RefMessage: Schema.Schema<RefMessage, RefMessageEncoded> = Schema.Struct({
  message_item: optionalField(Schema.suspend((): Schema.Schema<MessageItem, MessageItemEncoded> => MessageItem)),
  title: optionalField(Schema.String),
  svr_id: optionalField(Uint64String),
  partial_text: optionalField(PartialText)
}).annotations({ identifier: "RefMessage" })

// ---------------------------------------------------------------------------------------------------------
// the message

export const WeixinMessage = Schema.Struct({
  seq: optionalField(WireNumber),
  message_id: optionalField(Uint64String),
  from_user_id: optionalField(Schema.String),
  to_user_id: optionalField(Schema.String),
  client_id: optionalField(Schema.String),
  create_time_ms: optionalField(WireNumber),
  update_time_ms: optionalField(WireNumber),
  delete_time_ms: optionalField(WireNumber),
  session_id: optionalField(Schema.String),
  group_id: optionalField(Schema.String),
  message_type: optionalField(WireNumber),
  message_state: optionalField(WireNumber),
  item_list: optionalField(Schema.Array(MessageItem)),
  context_token: optionalField(Schema.String),
  run_id: optionalField(Schema.String)
}).annotations({ identifier: "WeixinMessage" })
export type WeixinMessage = typeof WeixinMessage.Type
export type WeixinMessageEncoded = typeof WeixinMessage.Encoded
