/**
 * SendRequest: what one send through an account's Outbox asks for (the text, extra items, files, the
 * turn's token and run id), and what tool progress must leave of the reply budget.
 */
import type { Peer } from "../domain/PeerId.js"
import type { MessageItem } from "../wire/Message.js"
import type { OutboundMedia } from "./OutboundMedia.js"

export interface SendRequest {
  /** the peer, made once where its id entered (the Inbox, or the outbound adapter for a host's target) */
  readonly to: Peer
  readonly text?: string
  /** the turn's token on the reply path; otherwise the peer's latest remembered token is used */
  readonly contextToken?: string
  /** the turn's run id (PROTOCOL §5.7) */
  readonly runId?: string
  /** extra items (tool progress), each sent as its own message after the text */
  readonly items?: ReadonlyArray<MessageItem>
  /** files, each uploaded and sent as its own message after the text (the caption) */
  readonly media?: ReadonlyArray<OutboundMedia>
  /**
   * Replies of the budget this send must leave unspent: tool progress keeps `PROGRESS_RESERVE` for the
   * turn's answer (and a notice), so a turn with many tool calls still delivers its answer. Default 0.
   */
  readonly reserve?: number
}

/** Sends of the reply budget tool progress leaves for the turn's answer and one notice (PROTOCOL §5.7). */
export const PROGRESS_RESERVE = 2
