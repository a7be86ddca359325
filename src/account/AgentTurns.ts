/**
 * AgentTurns: the account's view of the host (ARCHITECTURE "The flow of one message"), a tag the account owns.
 * For each claimed message the actor calls `run` once; the host routes it, records the session, runs the
 * agent turn, and delivers replies through the `ReplyChannel` it is given (which sends through the
 * Outbox with the turn's context token and run id, and keeps "typing…" alive around the agent run via
 * `withTyping`).
 *
 * Implementations: over the host's `channelRuntime` in src/host/ChannelAgentTurns.ts; in memory for every
 * test in TestAgentTurns.ts.
 */
import { Context, Data, type Effect, type Option } from "effect"
import type { Peer } from "../domain/PeerId.js"
import type { ToolCallResultMessageItem, ToolCallStartMessageItem, WeixinMessage } from "../wire/Message.js"
import type { HostTurnError } from "./HostTurnError.js"
import type { OutboundMedia } from "./OutboundMedia.js"
import type { ClaimedMessage } from "./Inbox.js"
import type { TurnMedia } from "./InboundMedia.js"
import type { QuoteStoreService } from "./QuoteStore.js"
import type { OutboxError, Receipt } from "./Receipt.js"

/** One inbound message as the host sees it. */
export interface InboundTurn {
  readonly accountId: string
  readonly claimed: ClaimedMessage
  /** the sender, as the Inbox made it: `id` as the server sent it (replies go there), `key` for lookups */
  readonly peer: Peer
  /** the message's `context_token`; undefined if the server sent none (replies will be refused) */
  readonly contextToken: string | undefined
  /** one per turn; sent as `run_id` on every message of the turn (PROTOCOL §5.7) */
  readonly runId: string
  /**
   * The message's media (and its quote's), fetched and stored on first use, inside the peer's turn; later
   * uses answer the same facts. Never fails: what could not be had is listed as missing. The host asks for
   * it once the sender is admitted, so a refused sender's media is never downloaded.
   */
  readonly media: Effect.Effect<TurnMedia>
  /**
   * The account's quote store (QuoteStore.ts): id-only quotes are resolved from it and the turn's message
   * is recorded in it. The AccountActor always gives one; without it an id-only quote gets the placeholder.
   */
  readonly quotes?: QuoteStoreService | undefined
  /**
   * The channel's own commands (`/echo`, `/toggle-debug`, ChannelCommands.ts); the host asks once the sender
   * is admitted, before the agent. The AccountActor always gives them.
   */
  readonly commands?: ChannelCommandsService | undefined
}

/** The channel's own commands as the host asks for them (made by ChannelCommands.ts). */
export interface ChannelCommandsService {
  /**
   * Answers the turn's command through `reply` and returns its name, or None when the message carries
   * none (the agent runs). Never fails: a failed command is answered with its reason.
   */
  readonly handle: (turn: InboundTurn, reply: ReplyChannel) => Effect.Effect<Option.Option<string>>
  /** whether the account's debug mode is on (re-read on every call: a hand edit counts at once) */
  readonly debugOn: Effect.Effect<boolean>
}

/** Tool progress items the host may send during a turn (PROTOCOL §5.7). */
export type ProgressItem = ToolCallStartMessageItem | ToolCallResultMessageItem

/** How the host answers within a turn; every message carries the turn's context token and run id. */
export interface ReplyChannel {
  readonly sendText: (text: string) => Effect.Effect<Receipt, OutboxError>
  readonly sendProgress: (item: ProgressItem) => Effect.Effect<Receipt, OutboxError>
  /**
   * Sends files (PROTOCOL §5.1): the caption's chunks first, then one media message per file, each with
   * its own receipt. Every file is uploaded before anything is sent; a failed upload sends nothing.
   */
  readonly sendMedia: (request: {
    readonly caption: string
    readonly media: ReadonlyArray<OutboundMedia>
  }) => Effect.Effect<Receipt, OutboxError>
  /**
   * Runs `effect` (the agent run) with "typing…" shown to the peer: started at once, repeated every 5 s,
   * cancelled when it ends however it ends. Never fails or delays the effect. The host wraps only the
   * agent run, so a refused sender or one who gets a pairing code never sees typing.
   */
  readonly withTyping: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export type TurnOutcome = Data.TaggedEnum<{
  /** the agent ran; `replies` messages were handed to the reply channel */
  Completed: { readonly replies: number }
  /** the host decided not to run the agent (unauthorized sender, pairing code sent, …) */
  Skipped: { readonly reason: string }
  /** the channel answered a command of its own (ChannelCommands.ts); the agent did not run */
  Command: { readonly name: string }
}>
export const TurnOutcome = Data.taggedEnum<TurnOutcome>()

export interface AgentTurnsService {
  readonly run: (turn: InboundTurn, reply: ReplyChannel) => Effect.Effect<TurnOutcome, HostTurnError>
  /**
   * Whether the message is one of the host's control commands (`/stop`, …): its turn then skips the
   * peer's FIFO, so it is not stuck behind the turn it is meant to act on. Absent: none is.
   */
  readonly isControlCommand?: ((message: WeixinMessage) => boolean) | undefined
  /**
   * The host's inbound debounce for this channel in ms (InboundDebounce.ts): quick plain-text lines from
   * one user within it become one turn. Absent or 0: every message is its own turn.
   */
  readonly inboundDebounceMs?: number | undefined
}

export class AgentTurns extends Context.Tag("openclaw-weixin/AgentTurns")<AgentTurns, AgentTurnsService>() {}
