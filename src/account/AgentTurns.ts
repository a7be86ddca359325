/**
 * Host: the OpenClaw side an account actor talks to, as a service, so the actor can be built and tested
 * without a running gateway. For each claimed message the actor calls `handleInbound` once; the host
 * routes it, records the session, runs the agent turn, and delivers replies through the `ReplyChannel`
 * it is given (which sends through the Outbox with the turn's context token and run id, and keeps the
 * typing indicator alive around the agent run via `withTyping`).
 *
 * The plugin adapter implements it over `channelRuntime` (OPENCLAW-HOST §1); tests use
 * test/support/TestHost.ts.
 */
import { Context, Data, Effect, Schema } from "effect"
import type { ClaimedMessage } from "./Inbox.js"
import type { OutboxError, Receipt } from "./Receipt.js"
import type { ToolCallResultMessageItem, ToolCallStartMessageItem } from "../wire/Message.js"

/** One inbound message as the host sees it. */
export interface InboundTurn {
  readonly accountId: string
  readonly claimed: ClaimedMessage
  /** the sender: `id` as the server sent it (replies go there), `key` its lowercase form */
  readonly peer: { readonly id: string; readonly key: string }
  /** the message's `context_token`; undefined if the server sent none (replies will be refused) */
  readonly contextToken: string | undefined
  /** one per turn; sent as `run_id` on every message of the turn (ILINK §5.7) */
  readonly runId: string
}

/** Tool progress items the host may send during a turn (ILINK §5.7). */
export type ProgressItem = ToolCallStartMessageItem | ToolCallResultMessageItem

/** How the host answers within a turn; every message carries the turn's context token and run id. */
export interface ReplyChannel {
  readonly sendText: (text: string) => Effect.Effect<Receipt, OutboxError>
  readonly sendProgress: (item: ProgressItem) => Effect.Effect<Receipt, OutboxError>
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
  /** the host decided not to run the agent (unauthorized sender, pairing code sent, command, …) */
  Skipped: { readonly reason: string }
}>
export const TurnOutcome = Data.taggedEnum<TurnOutcome>()

/** The host could not finish the turn; the actor logs it and moves on to the peer's next message. */
export class HostTurnError extends Schema.TaggedError<HostTurnError>()("HostTurnError", {
  accountId: Schema.String,
  messageKey: Schema.String,
  stage: Schema.Literal("route", "session", "agent", "deliver"),
  detail: Schema.String
}) {
  override get message(): string {
    return `the host failed at ${this.stage} for message ${this.messageKey} of account ${this.accountId}: ${this.detail}`
  }
}

export interface HostService {
  readonly handleInbound: (turn: InboundTurn, reply: ReplyChannel) => Effect.Effect<TurnOutcome, HostTurnError>
}

export class Host extends Context.Tag("openclaw-weixin/Host")<Host, HostService>() {}
