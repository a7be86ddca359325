/**
 * InboundDebounce: with the host's inbound debounce on (`messages.inbound.byChannel.openclaw-weixin`, else
 * `messages.inbound.debounceMs`; off by default), quick plain-text lines from one user become one agent
 * turn (ARCHITECTURE "Dispatcher"). The Dispatcher holds a peer's first line for the window and takes each
 * joinable line that arrives in it, every one restarting the window; this module says which lines join
 * and what the one turn reads.
 *
 * Only plain text joins: no media (a file waits for nobody), no quote (its reference belongs to one line),
 * no command (`/stop`, `/echo`: a command acts at once). Every line stays claimed in the Inbox until the
 * merged turn ends, so a stop in the window loses none of them.
 */
import { isKnownItem, MessageItemType, type WeixinMessage } from "../wire/Message.js"
import type { ClaimedMessage } from "./InboxRecords.js"

/** At most this many lines become one turn; the next line starts a turn of its own. */
export const MAX_DEBOUNCED_LINES = 10

/** The text of a message made only of text items without quotes, or undefined. */
const plainTextOf = (message: WeixinMessage): string | undefined => {
  const items = message.item_list ?? []
  if (items.length === 0) return undefined
  const parts: Array<string> = []
  for (const item of items) {
    if (!isKnownItem(item) || item.type !== MessageItemType.TEXT || item.ref_msg !== undefined) return undefined
    parts.push(item.text_item.text ?? "")
  }
  const text = parts.join("\n").trim()
  return text === "" ? undefined : text
}

/** Whether the message may wait for, and join, the lines that follow it. */
export const joinsDebounce = (claimed: ClaimedMessage): boolean => {
  const text = plainTextOf(claimed.message)
  return text !== undefined && !text.startsWith("/")
}

/**
 * One message for the turn: the first line's ids (the host's dedupe and the receipts key on it), the
 * lines' texts in order, one per line, and the newest context token (the reply goes out with it).
 */
export const mergeDebounced = (first: ClaimedMessage, followers: ReadonlyArray<ClaimedMessage>): ClaimedMessage => {
  if (followers.length === 0) return first
  const all = [first, ...followers]
  const text = all.map((claimed) => plainTextOf(claimed.message) ?? "").filter((line) => line !== "").join("\n")
  const token = all.map((claimed) => claimed.message.context_token).filter((t) => t !== undefined && t !== "").at(-1)
  return {
    ...first,
    message: {
      ...first.message,
      ...(token === undefined ? {} : { context_token: token }),
      item_list: [{ type: MessageItemType.TEXT, text_item: { text } }]
    }
  }
}
