/**
 * The quote of one inbound message as the host's `supplemental.quote` (PROTOCOL §7.4):
 *
 * - an inline quote (`ref_msg` with a `title` or a `message_item`) is used as it came;
 * - an id-only quote (`svr_id` alone, as current WeChat clients send) is looked up in the account's quote
 *   store (src/account/QuoteStore.ts): its text becomes the quote body, its media is re-attached while the
 *   file exists and the policy allows, and media that expired is named in the body;
 * - an id the store does not know (older than the store, another conversation, another account, the store
 *   off) gives {@link QUOTE_UNAVAILABLE}, so the agent knows a quote was there;
 * - a partial quote (`partial_text`) gives exactly the selected substring, checked against `quotemd5`
 *   (domain/InboundText.ts); when no candidate matches, the whole quoted text is kept.
 *
 * `isSelf` is never set, even for a quote of the bot's own reply: the host would drop the body, and the
 * agent needs to know which of its answers the user refers to.
 */
import { Effect, Option } from "effect"
import type { InboundTurn } from "../account/AgentTurns.js"
import type { QuoteMedia } from "../account/QuoteStore.js"
import { quoteOf, resolvePartialQuote } from "../domain/InboundText.js"
import type { WeixinMessage } from "../wire/Message.js"
import type { InboundMediaFact, InboundMediaHelpers } from "./InboundMediaFacts.js"

/** What the agent reads when the quoted message is not known. */
export const QUOTE_UNAVAILABLE = "[引用消息内容未缓存 / the quoted message is not available]"

const EXPIRED_KIND: Readonly<Record<QuoteMedia["kind"], string>> = { image: "图片", video: "视频", voice: "语音", file: "附件" }

/** `[引用的图片已过期: a.png]`: the official label for quoted media that is gone (PROTOCOL §7.4). */
export const expiredLabel = (media: QuoteMedia): string =>
  `[引用的${EXPIRED_KIND[media.kind]}已过期${media.fileName === undefined ? "" : `: ${media.fileName}`}]`

const HOST_KIND: Readonly<Record<QuoteMedia["kind"], InboundMediaFact["kind"] | undefined>> = {
  image: "image",
  voice: "audio",
  video: "video",
  file: undefined
}

export interface ResolvedQuote {
  readonly id?: string
  readonly body: string
  readonly sender?: string
  /** the selected part of a partial quote (`ReplyToQuoteText`) */
  readonly quoteText?: string
  /** re-attached media of an id-only quote */
  readonly media: ReadonlyArray<InboundMediaFact>
}

const refOf = (message: WeixinMessage) => (message.item_list ?? []).find((item) => item.ref_msg !== undefined)?.ref_msg

/** The quote of the turn's message, or undefined when it quotes nothing. */
export const resolveQuote = (
  turn: InboundTurn,
  helpers: Effect.Effect<InboundMediaHelpers>
): Effect.Effect<ResolvedQuote | undefined> =>
  Effect.gen(function*() {
    const message = turn.claimed.message
    const inline = quoteOf(message)
    if (!inline.isQuote) return undefined
    const ref = refOf(message)
    const id = inline.replyToId
    const partial = ref?.partial_text
    const withId = id === undefined ? {} : { id }
    const selected = (full: string) => {
      if (partial === undefined) return undefined
      const text = resolvePartialQuote(full, partial)
      return text === undefined ? undefined : { quoteText: text, body: text }
    }
    const inlineText = ref?.message_item !== undefined && "text_item" in ref.message_item
      ? ref.message_item.text_item.text
      : undefined
    if (inline.replyToBody !== undefined) {
      return { ...withId, body: inline.replyToBody, media: [], ...(inlineText === undefined ? {} : selected(inlineText)) }
    }
    const found = id === undefined || turn.quotes === undefined
      ? Option.none()
      : yield* turn.quotes.lookup(turn.peer.key, id)
    if (Option.isNone(found)) {
      if (id !== undefined) yield* Effect.logInfo(`quoted message ${id} is not in the quote store; the agent gets a placeholder`)
      return { ...withId, body: QUOTE_UNAVAILABLE, media: [] }
    }
    const quoted = found.value
    const body = [quoted.text, ...quoted.expired.map(expiredLabel)].filter((part) => part !== "").join(" ")
    const facts = quoted.media.length === 0 ? [] : (yield* helpers).toInboundMediaFacts(quoted.media.map((item) => ({
      path: item.path,
      contentType: item.contentType ?? null,
      fileName: item.fileName ?? null,
      kind: HOST_KIND[item.kind] ?? null,
      durationMs: null,
      transcribed: false,
      messageId: null
    })))
    return {
      ...withId,
      body: body === "" ? QUOTE_UNAVAILABLE : body,
      sender: quoted.direction === "out" ? "assistant" : quoted.sender,
      media: facts,
      ...selected(quoted.text)
    }
  })

/** The host's `supplemental.quote` for a resolved quote. */
export const supplementalQuote = (quote: ResolvedQuote) => ({
  isQuote: true,
  body: quote.body,
  ...(quote.id === undefined ? {} : { id: quote.id, fullId: quote.id }),
  ...(quote.sender === undefined ? {} : { sender: quote.sender }),
  ...(quote.media.length === 0 ? {} : { media: [...quote.media] })
})
