/**
 * Builds inbound WeixinMessages (PROTOCOL §1.9) of every kind a test needs, including broken ones.
 * Ids are written as bare 64-bit integers, as the real server does.
 */
import type { CdnStore, InboundMedia, InboundMediaOptions } from "./Cdn.js"
import { bare, RawJsonText } from "./WireJson.js"

/** Server-side uint64 ids, deliberately above 2^53 so clients that parse them as numbers break. */
export class IdSource {
  private next = 7311234567891000000n
  take(): string {
    const id = this.next
    this.next += 1n
    return id.toString()
  }
}

/** Media content: bytes or a UTF-8 string in-process; `base64` over the admin API. */
export interface MediaInput extends InboundMediaOptions {
  readonly data?: Uint8Array | string
  readonly base64?: string
}

export interface PartialTextInput {
  readonly start: string
  readonly end: string
  readonly startindex: number
  readonly endindex: number
  readonly quotemd5: string
}

export type InboundContent =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "image"; readonly media: MediaInput; /** also put the 32-hex key in image_item.aeskey */ readonly aeskeyField?: boolean }
  | { readonly kind: "voice"; readonly media: MediaInput; readonly transcript?: string; readonly playtimeMs?: number }
  | { readonly kind: "file"; readonly media: MediaInput; readonly fileName: string }
  | { readonly kind: "video"; readonly media: MediaInput; readonly playLengthSec?: number }
  | {
      readonly kind: "quote"
      readonly text: string
      /** svr_id of the quoted message (decimal). */
      readonly svrId?: string
      readonly title?: string
      /** Quoted content as text (becomes ref_msg.message_item); or a raw item object. */
      readonly quotedText?: string
      readonly quotedItem?: object
      readonly partialText?: PartialTextInput
    }
  | { readonly kind: "tool_call"; readonly toolName: string; readonly toolCallId: string; readonly status?: string }
  | { readonly kind: "unknown_item"; readonly itemType?: number }
  | { readonly kind: "empty" }
  | { readonly kind: "no_ids"; readonly text?: string }
  /** A whole message object, written as given (no ids or tokens added). */
  | { readonly kind: "raw"; readonly message: unknown }
  /** Raw JSON text spliced into `msgs` verbatim. */
  | { readonly kind: "raw_text"; readonly text: string }

export type InboundSpec = InboundContent & {
  readonly botId: string
  /** Default: the bot's owner. */
  readonly fromUserId?: string
  /** Decimal uint64; default a fresh id above 2^53. */
  readonly messageId?: string
  /** Default: a fresh token issued to (bot, user). */
  readonly contextToken?: string
  readonly sessionId?: string
}

export interface BuiltInbound {
  /** The message object (ids as BareInteger), or raw text. */
  readonly message: object | RawJsonText
  readonly messageId: string | undefined
  readonly media: InboundMedia | undefined
  /** Whether this message counts as the user writing (new context token, window, budget). */
  readonly countsAsUserMessage: boolean
}

const inboundKinds: ReadonlyArray<InboundContent["kind"]> = [
  "text", "image", "voice", "file", "video", "quote", "tool_call", "unknown_item", "empty", "no_ids", "raw", "raw_text"
]

/** Why a spec (possibly from the admin API, so untrusted) cannot be injected; undefined when fine. */
export const specProblem = (spec: InboundSpec): string | undefined => {
  const loose = spec as unknown as Record<string, unknown>
  if (typeof loose["botId"] !== "string") return "botId (string) is required"
  if (!inboundKinds.includes(spec.kind)) return `kind must be one of ${inboundKinds.join(", ")}; got ${JSON.stringify(loose["kind"])}`
  if ((spec.kind === "text" || spec.kind === "quote") && typeof loose["text"] !== "string") return `kind ${spec.kind} needs text (string)`
  if (spec.kind === "raw_text" && typeof loose["text"] !== "string") return "kind raw_text needs text (string)"
  if (spec.kind === "file" && typeof loose["fileName"] !== "string") return "kind file needs fileName (string)"
  if (spec.kind === "tool_call" && (typeof loose["toolName"] !== "string" || typeof loose["toolCallId"] !== "string")) {
    return "kind tool_call needs toolName and toolCallId (strings)"
  }
  if (spec.kind === "image" || spec.kind === "voice" || spec.kind === "file" || spec.kind === "video") {
    const media = loose["media"] as MediaInput | undefined
    if (media === undefined || (media.data === undefined && typeof media.base64 !== "string")) {
      return `kind ${spec.kind} needs media {data} or {base64}`
    }
  }
  for (const key of ["messageId", "svrId"]) {
    const id = loose[key]
    if (id !== undefined && (typeof id !== "string" || !/^\d+$/.test(id))) return `${key} must be a decimal string (uint64)`
  }
  return undefined
}

const mediaBytes = (input: MediaInput): Uint8Array => {
  if (input.base64 !== undefined) return Buffer.from(input.base64, "base64")
  if (typeof input.data === "string") return Buffer.from(input.data, "utf8")
  if (input.data !== undefined) return input.data
  throw new Error("inbound media needs `data` (bytes or text) or `base64`")
}

const mediaOptions = (input: MediaInput): InboundMediaOptions => ({
  ...(input.keyEncoding !== undefined ? { keyEncoding: input.keyEncoding } : {}),
  ...(input.location !== undefined ? { location: input.location } : {}),
  ...(input.wrongKey !== undefined ? { wrongKey: input.wrongKey } : {}),
  ...(input.plain !== undefined ? { plain: input.plain } : {})
})

export const buildInbound = (
  spec: InboundSpec,
  context: {
    readonly ids: IdSource
    readonly cdn: CdnStore
    readonly fromUserId: string
    readonly contextToken: string
    readonly now: number
    readonly seq: number
  }
): BuiltInbound => {
  if (spec.kind === "raw_text") {
    return { message: new RawJsonText(spec.text), messageId: undefined, media: undefined, countsAsUserMessage: false }
  }
  if (spec.kind === "raw") {
    const message = (typeof spec.message === "object" && spec.message !== null ? spec.message : { value: spec.message }) as object
    return { message, messageId: undefined, media: undefined, countsAsUserMessage: false }
  }
  const messageId = spec.kind === "no_ids" ? undefined : spec.messageId ?? context.ids.take()
  const itemId = () => (spec.kind === "no_ids" ? undefined : bare(context.ids.take()))
  let media: InboundMedia | undefined
  const storeMedia = (input: MediaInput) => {
    media = context.cdn.putInbound(mediaBytes(input), mediaOptions(input))
    return media
  }
  const items: Array<object> = []
  switch (spec.kind) {
    case "text":
      items.push({ type: 1, msg_id: itemId(), text_item: { text: spec.text } })
      break
    case "no_ids":
      items.push({ type: 1, text_item: { text: spec.text ?? "a message without ids" } })
      break
    case "image": {
      const m = storeMedia(spec.media)
      items.push({
        type: 2,
        msg_id: itemId(),
        image_item: { media: m.media, ...(spec.aeskeyField === true ? { aeskey: m.keyHex } : {}), mid_size: m.ciphertextSize }
      })
      break
    }
    case "voice": {
      const m = storeMedia(spec.media)
      items.push({
        type: 3,
        msg_id: itemId(),
        voice_item: {
          media: m.media,
          encode_type: 6,
          bits_per_sample: 16,
          sample_rate: 24000,
          playtime: spec.playtimeMs ?? 1500,
          ...(spec.transcript !== undefined ? { text: spec.transcript } : {})
        }
      })
      break
    }
    case "file": {
      const m = storeMedia(spec.media)
      items.push({
        type: 4,
        msg_id: itemId(),
        file_item: { media: m.media, file_name: spec.fileName, md5: m.plaintextMd5, len: String(m.plaintextSize) }
      })
      break
    }
    case "video": {
      const m = storeMedia(spec.media)
      items.push({
        type: 5,
        msg_id: itemId(),
        video_item: { media: m.media, video_size: m.ciphertextSize, play_length: spec.playLengthSec ?? 3, video_md5: m.plaintextMd5 }
      })
      break
    }
    case "quote": {
      const quotedItem = spec.quotedItem ?? (spec.quotedText !== undefined ? { type: 1, text_item: { text: spec.quotedText } } : undefined)
      items.push({
        type: 1,
        msg_id: itemId(),
        text_item: { text: spec.text },
        ref_msg: {
          ...(spec.title !== undefined ? { title: spec.title } : {}),
          ...(spec.svrId !== undefined ? { svr_id: bare(spec.svrId) } : {}),
          ...(quotedItem !== undefined ? { message_item: quotedItem } : {}),
          ...(spec.partialText !== undefined ? { partial_text: spec.partialText } : {})
        }
      })
      break
    }
    case "tool_call":
      items.push({ type: 11, msg_id: itemId(), tool_call_start_item: { tool_name: spec.toolName, tool_call_id: spec.toolCallId } })
      items.push({
        type: 12,
        msg_id: itemId(),
        tool_call_result_item: { tool_name: spec.toolName, tool_call_id: spec.toolCallId, status: spec.status ?? "completed" }
      })
      break
    case "unknown_item":
      items.push({ type: spec.itemType ?? 99, msg_id: itemId(), mystery_item: { note: "an item type this client has never seen" } })
      break
    case "empty":
      break
  }
  const message = {
    seq: spec.kind === "no_ids" ? undefined : context.seq,
    message_id: messageId === undefined ? undefined : bare(messageId),
    from_user_id: context.fromUserId,
    to_user_id: spec.botId,
    create_time_ms: context.now,
    session_id: spec.sessionId,
    message_type: 1,
    message_state: 2,
    context_token: context.contextToken,
    item_list: items
  }
  return { message, messageId, media, countsAsUserMessage: true }
}
