/**
 * What an inbound WeixinMessage says, as text for the agent (PROTOCOL §7.2–§7.4).
 *
 * - {@link inboundBody}: the message body (first text, else voice transcript, else a media label);
 * - {@link quoteOf}: the quote carried inline in `ref_msg`;
 * - {@link resolvePartialQuote}: which substring of a quoted text the user selected;
 * - {@link providerMessageId}: the stable server id the host dedupes on.
 *
 * Media labels are the official plugin's Chinese ones (`[图片]` …): agents and users already see them, and
 * prompts written for the official plugin keep working when an install switches to this one.
 */
import { createHash } from "node:crypto"
import { isKnownItem, MessageItemType } from "../wire/Message.js"
import type { MessageItem, PartialText, WeixinMessage } from "../wire/Message.js"

export const MEDIA_LABELS: Readonly<Record<number, string>> = {
  [MessageItemType.IMAGE]: "[图片]",
  [MessageItemType.VIDEO]: "[视频]",
  [MessageItemType.FILE]: "[文件]",
  [MessageItemType.VOICE]: "[语音]"
}

/**
 * The body one item contributes, or undefined when it contributes nothing. The label follows `type` even
 * when the payload was unreadable, so the agent still learns that a picture arrived.
 */
const itemBody = (item: MessageItem): string | undefined => {
  if (item.type === MessageItemType.TEXT && "text_item" in item && item.text_item.text !== undefined) {
    return String(item.text_item.text)
  }
  if (item.type === MessageItemType.VOICE && "voice_item" in item) {
    const transcript = item.voice_item.text
    if (transcript !== undefined && transcript.length > 0) return transcript
  }
  return MEDIA_LABELS[item.type]
}

const bodyOfItems = (items: ReadonlyArray<MessageItem>): string => {
  for (const item of items) {
    const body = itemBody(item)
    if (body !== undefined) return body
  }
  return ""
}

/**
 * The Body of §7.3: the first item that says something, in list order. A message that says nothing but
 * has items of types we cannot read gets a placeholder naming them, so the agent never sees an empty body
 * for something the user did send; "" only when there is nothing at all.
 */
export const inboundBody = (message: WeixinMessage): string => {
  const items = message.item_list ?? []
  const body = bodyOfItems(items)
  if (body !== "") return body
  const unknown = [...new Set(items.filter((item) => !isKnownItem(item)).map((item) => item.type))]
  return unknown.length === 0 ? "" : `[unsupported message type ${unknown.join(", ")}]`
}

/** The text of the message's first TEXT item, if it has one (where commands are read from, §7.7). */
export const firstTextOf = (message: WeixinMessage): string | undefined => {
  for (const item of message.item_list ?? []) {
    if (isKnownItem(item) && item.type === MessageItemType.TEXT) return item.text_item.text
  }
  return undefined
}

/** The inline view of a quote (§7.4). */
export interface InlineQuote {
  readonly isQuote: boolean
  /** server id of the quoted message (`svr_id`, else the quoted item's `msg_id`) */
  readonly replyToId?: string
  /** "<title> | <quoted body>", either part omitted when empty */
  readonly replyToBody?: string
}

const nonEmptyTrimmed = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed.length === 0 ? undefined : trimmed
}

/** The quote carried inside the message itself; `{ isQuote: false }` when no item has a `ref_msg`. */
export const quoteOf = (message: WeixinMessage): InlineQuote => {
  const ref = (message.item_list ?? []).find((item) => item.ref_msg !== undefined)?.ref_msg
  if (ref === undefined) return { isQuote: false }
  const replyToId = nonEmptyTrimmed(ref.svr_id) ?? nonEmptyTrimmed(ref.message_item?.msg_id)
  const parts = [
    nonEmptyTrimmed(ref.title),
    ref.message_item === undefined ? undefined : bodyOfItems([ref.message_item])
  ].filter((part): part is string => part !== undefined && part.length > 0)
  return {
    isQuote: true,
    ...(replyToId === undefined ? {} : { replyToId }),
    ...(parts.length === 0 ? {} : { replyToBody: parts.join(" | ") })
  }
}

/** Start index of the `n`-th (0-based) non-overlapping occurrence of `needle` at or after `from`, or -1. */
const nthOccurrence = (text: string, needle: string, n: number, from: number): number => {
  let index = text.indexOf(needle, from)
  for (let seen = 0; seen < n && index !== -1; seen++) {
    index = text.indexOf(needle, index + needle.length)
  }
  return index
}

const md5Hex = (text: string): string => createHash("md5").update(text, "utf8").digest("hex")

/**
 * The part of `fullText` the user selected when quoting (§7.4 partial quote), or undefined when it cannot
 * be located. Two readings of `endindex` exist (counted from the text start, or from the start match), so
 * both candidates are tried; `quotemd5`, when present, picks the one the client meant.
 */
export const resolvePartialQuote = (fullText: string, partial: PartialText): string | undefined => {
  const { start, end } = partial
  if (fullText.length === 0 || start === undefined || start.length === 0 || end === undefined || end.length === 0) {
    return undefined
  }
  const startPos = nthOccurrence(fullText, start, occurrenceIndex(partial.startindex), 0)
  if (startPos === -1) return undefined
  const endIndex = occurrenceIndex(partial.endindex)
  const candidates: Array<string> = []
  for (const endPos of [
    nthOccurrence(fullText, end, endIndex, 0),
    nthOccurrence(fullText, end, endIndex, startPos + start.length)
  ]) {
    if (endPos === -1 || endPos < startPos) continue
    const candidate = fullText.slice(startPos, endPos + end.length)
    if (!candidates.includes(candidate)) candidates.push(candidate)
  }
  const expected = partial.quotemd5?.trim().toLowerCase()
  if (expected === undefined || expected.length === 0) return candidates[0]
  return candidates.find((candidate) => md5Hex(candidate) === expected)
}

/** A missing or nonsensical occurrence index counts as the first occurrence. */
const occurrenceIndex = (value: number | undefined): number =>
  value !== undefined && Number.isInteger(value) && value > 0 ? value : 0

/** The id the host dedupes on: trimmed `message_id`, else the first non-empty item `msg_id`. */
export const providerMessageId = (message: WeixinMessage): string | undefined =>
  nonEmptyTrimmed(message.message_id) ??
    (message.item_list ?? []).map((item) => nonEmptyTrimmed(item.msg_id)).find((id) => id !== undefined)
