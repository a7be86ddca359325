/**
 * The facts of one inbound WeixinMessage in the shape of the host's `inbound.buildContext` (PROTOCOL §7.2):
 * a direct chat whose sender is also the reply target, with the server's stable message id as the
 * provider message id, so the host's duplicate check recognises a re-dispatched message, and with the
 * media facts of the turn (PROTOCOL §6.3).
 */
import type { PluginRuntime } from "openclaw/plugin-sdk/core"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { inboundBody, providerMessageId } from "../domain/InboundText.js"
import type { InboundTurn } from "../account/AgentTurns.js"
import type { InboundMediaFact } from "./InboundMediaFacts.js"
import { type ResolvedQuote, supplementalQuote } from "./QuoteContext.js"

export type BuildContextParams = Parameters<PluginRuntime["channel"]["inbound"]["buildContext"]>[0]

/** The route the host resolved for the turn (the fields the context needs). */
export interface TurnRoute {
  readonly agentId: string
  readonly accountId: string
  readonly sessionKey: string
  readonly mainSessionKey: string
}

/**
 * The id the host dedupes on: the server's `message_id` (or an item `msg_id`); a message with neither
 * falls back to the Inbox key, which is just as stable across a re-dispatch.
 */
export const turnMessageId = (turn: InboundTurn): string =>
  providerMessageId(turn.claimed.message) ?? turn.claimed.key

/**
 * The context of one turn. `media`, when the turn has any, is what InboundMediaFacts.ts made of it: the
 * facts, and the body with the notice for missing media, which is what the agent reads (`body`,
 * `bodyForAgent`); commands still see the text as sent.
 */
export const inboundContextParams = (
  turn: InboundTurn,
  route: TurnRoute,
  access: { readonly commandsAuthorized: boolean },
  media?: { readonly media: ReadonlyArray<InboundMediaFact>; readonly body: string },
  quote?: ResolvedQuote
): BuildContextParams => {
  const message = turn.claimed.message
  const sender = turn.peer.id
  const body = inboundBody(message)
  const bodyForAgent = media?.body ?? body
  const messageId = turnMessageId(turn)
  const extra: Record<string, unknown> = {}
  // the quote travels as `supplemental.quote` (QuoteContext.ts); only the selected text has no field there
  if (quote?.quoteText !== undefined) extra["ReplyToQuoteText"] = quote.quoteText
  if (turn.contextToken !== undefined) extra["context_token"] = turn.contextToken
  return {
    channel: WEIXIN_CHANNEL_ID,
    accountId: turn.accountId,
    provider: WEIXIN_CHANNEL_ID,
    messageId,
    messageIdFull: messageId,
    ...(message.create_time_ms === undefined ? {} : { timestamp: message.create_time_ms }),
    from: sender,
    sender: { id: sender },
    conversation: { kind: "direct", id: sender },
    route: {
      agentId: route.agentId,
      accountId: route.accountId,
      routeSessionKey: route.sessionKey,
      mainSessionKey: route.mainSessionKey
    },
    reply: {
      to: sender,
      originatingTo: sender,
      ...(quote?.id === undefined ? {} : { replyToId: quote.id })
    },
    message: {
      rawBody: body,
      body: bodyForAgent,
      ...(bodyForAgent === body ? {} : { bodyForAgent }),
      commandBody: body.trim()
    },
    ...(media === undefined || media.media.length === 0 ? {} : { media: [...media.media] }),
    ...(quote === undefined ? {} : { supplemental: { quote: supplementalQuote(quote) } }),
    access: { commands: { authorized: access.commandsAuthorized } },
    extra
  }
}
