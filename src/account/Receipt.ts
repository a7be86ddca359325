/**
 * What the Outbox reports for a send: a receipt when the server accepted every chunk, otherwise one of
 * the typed errors below. Refusals (`NoContextToken`, `ReplyWindowClosed`, `ReplyBudgetSpent`,
 * `AccountAuthExpired`, `AccountMisconfigured`, `EmptyMessage`) happen before anything is sent; the others carry the
 * `clientId` of the chunk the server answered (or may have seen), so an operator can trace it.
 * Field meanings follow PROTOCOL Appendix C.
 */
import { Schema } from "effect"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"
import type { MediaUploadFailed } from "./OutboundMedia.js"

/** The server returned a `message_id`: the message exists on WeChat's side. */
export class ChunkDelivered extends Schema.TaggedClass<ChunkDelivered>()("Delivered", {
  clientId: Schema.String,
  messageId: Schema.String
}) {}

/** `ret=0` without `message_id`: accepted, but the server may have filtered it; not a success. */
export class ChunkUnconfirmed extends Schema.TaggedClass<ChunkUnconfirmed>()("Unconfirmed", {
  clientId: Schema.String
}) {}

export const ChunkReceipt = Schema.Union(ChunkDelivered, ChunkUnconfirmed)
export type ChunkReceipt = typeof ChunkReceipt.Type

/**
 * The outcome of one `Outbox.send`. Long texts go out as several messages; `chunks` lists each in order.
 * `status` is `delivered` only when every chunk was; `clientId` is the last chunk's (what the host
 * reports as the message id, as the official plugin does).
 */
export class Receipt extends Schema.Class<Receipt>("Receipt")({
  to: Schema.String,
  status: Schema.Literal("delivered", "unconfirmed"),
  clientId: Schema.String,
  chunks: Schema.NonEmptyArray(ChunkReceipt)
}) {
  static fromChunks(to: string, chunks: readonly [ChunkReceipt, ...Array<ChunkReceipt>]): Receipt {
    const last = chunks[chunks.length - 1]!
    // every field is of its type by construction, so the schema's check is skipped: in a CPU profile of
    // bench/inbound-burst.ts it was most of this method's time, on every reply
    return new Receipt({
      to,
      status: chunks.every((chunk) => chunk._tag === "Delivered") ? "delivered" : "unconfirmed",
      clientId: last.clientId,
      chunks
    }, true)
  }
}

/** Where in a multi-chunk send a server-side error happened (1-based), and what went out before it. */
const chunkPosition = {
  chunkIndex: Schema.Number,
  chunkCount: Schema.Number,
  sentBefore: Schema.Array(ChunkReceipt)
}

// ---- refused before sending ---------------------------------------------------------------------

export class NoContextToken extends Schema.TaggedError<NoContextToken>()("NoContextToken", {
  peer: Schema.String
}) {
  override get message(): string {
    return `${this.peer} has not written to this bot yet (or not since the state was reset); WeChat only lets a bot reply to a user who wrote to it; ask them to send a message first`
  }
}

export class ReplyWindowClosed extends Schema.TaggedError<ReplyWindowClosed>()("ReplyWindowClosed", {
  peer: Schema.String,
  lastInboundAt: Schema.Number,
  windowMs: Schema.Number
}) {
  override get message(): string {
    const hours = Math.round(this.windowMs / 3_600_000)
    return `${this.peer} last wrote at ${new Date(this.lastInboundAt).toISOString()}, more than ${hours} h ago; WeChat only accepts bot replies within ${hours} h of the user's last message; ask them to send a message first`
  }
}

export class ReplyBudgetSpent extends Schema.TaggedError<ReplyBudgetSpent>()("ReplyBudgetSpent", {
  peer: Schema.String,
  budget: Schema.Number,
  repliesSince: Schema.Number,
  needed: Schema.Number
}) {
  override get message(): string {
    return `${this.peer} has already received ${this.repliesSince} of the ${this.budget} replies WeChat allows per message they send (this send needs ${this.needed} more); wait until they write again`
  }
}

export class AccountAuthExpired extends Schema.TaggedError<AccountAuthExpired>()("AccountAuthExpired", {
  accountId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `account ${this.accountId} is logged out (${this.reason}); log in again: ${LOGIN_COMMAND}`
  }
}

/** The account is parked on a setting it cannot run with (a bad base URL): nothing can be sent. */
export class AccountMisconfigured extends Schema.TaggedError<AccountMisconfigured>()("AccountMisconfigured", {
  accountId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `account ${this.accountId} cannot send: ${this.reason}; fix channels.openclaw-weixin in the config`
  }
}

export class OutboxClosed extends Schema.TaggedError<OutboxClosed>()("OutboxClosed", {
  peer: Schema.String
}) {
  override get message(): string {
    return `the account is shutting down; the message to ${this.peer} was not sent`
  }
}

// ---- answered by the server (or maybe seen by it) -----------------------------------------------

/** ret=-2 with an empty, "unknown error" or unrecognised errmsg (App. C: stale token, budget used up, window closed). */
export class ContextTokenRejected extends Schema.TaggedError<ContextTokenRejected>()("ContextTokenRejected", {
  peer: Schema.String,
  clientId: Schema.String,
  errmsg: Schema.String,
  ...chunkPosition
}) {
  override get message(): string {
    return `WeChat refused the reply to ${this.peer} (ret=-2 ${this.errmsg || "(no errmsg)"}): the conversation token is stale or the reply budget is used up; the user has to write to the bot again`
  }
}

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  peer: Schema.String,
  clientId: Schema.String,
  errmsg: Schema.String,
  ...chunkPosition
}) {
  override get message(): string {
    return `WeChat rate-limited the message to ${this.peer} (ret=-2 ${this.errmsg}); slow down and try again later`
  }
}

/** ret=-2 "prepare failed": text too long or no conversation yet. */
export class MessageRejected extends Schema.TaggedError<MessageRejected>()("MessageRejected", {
  peer: Schema.String,
  clientId: Schema.String,
  errmsg: Schema.String,
  ...chunkPosition
}) {
  override get message(): string {
    return `WeChat could not prepare the message to ${this.peer} (ret=-2 ${this.errmsg}): it is too long or the user has not written yet; lower the chunk limit or ask them to write first`
  }
}

/** ret=-3: the recipient id or its token key is wrong. */
export class InvalidTarget extends Schema.TaggedError<InvalidTarget>()("InvalidTarget", {
  peer: Schema.String,
  clientId: Schema.String,
  errmsg: Schema.String,
  ...chunkPosition
}) {
  override get message(): string {
    return `WeChat rejected the recipient ${this.peer} (ret=-3 ${this.errmsg || "(no errmsg)"}); check the recipient id: exact case, no "user:" prefix`
  }
}

/** Any other refusal: a `ret` not listed in Appendix C, an HTTP 4xx, or an answer for a logged-out bot. */
export class SendFailed extends Schema.TaggedError<SendFailed>()("SendFailed", {
  peer: Schema.String,
  clientId: Schema.String,
  /** absent when the refusal was not a `ret` (e.g. HTTP 401) */
  ret: Schema.optionalWith(Schema.Number, { exact: true }),
  errmsg: Schema.String,
  ...chunkPosition
}) {
  override get message(): string {
    const ret = this.ret === undefined ? "" : `ret=${this.ret} `
    return `WeChat refused the message to ${this.peer} (${ret}${this.errmsg || "(no errmsg)"})`
  }
}

/** Nothing to send: empty text and no items. */
export class EmptyMessage extends Schema.TaggedError<EmptyMessage>()("EmptyMessage", {
  peer: Schema.String
}) {
  override get message(): string {
    return `refusing to send an empty message to ${this.peer}; give it text or items`
  }
}

/**
 * The request may have reached the server (timeout, reset after write, HTTP 5xx, undecodable answer):
 * it is not resent, because a resend could show the user the same reply twice.
 */
export class DeliveryUnknown extends Schema.TaggedError<DeliveryUnknown>()("DeliveryUnknown", {
  peer: Schema.String,
  clientId: Schema.String,
  reason: Schema.String,
  ...chunkPosition
}) {
  override get message(): string {
    return `the message to ${this.peer} (client_id ${this.clientId}) may or may not have arrived: ${this.reason}; it was not resent to avoid a duplicate`
  }
}

/** The server could not be reached even after the short retries; nothing was delivered. */
export class ServerUnreachable extends Schema.TaggedError<ServerUnreachable>()("ServerUnreachable", {
  peer: Schema.String,
  clientId: Schema.String,
  reason: Schema.String,
  ...chunkPosition
}) {
  override get message(): string {
    return `could not reach the iLink server to send to ${this.peer}: ${this.reason}; check the network or baseUrl`
  }
}

export type OutboxRefusal =
  | NoContextToken
  | ReplyWindowClosed
  | ReplyBudgetSpent
  | AccountAuthExpired
  | AccountMisconfigured
  | EmptyMessage

export type OutboxError =
  | OutboxRefusal
  | OutboxClosed
  | ContextTokenRejected
  | RateLimited
  | MessageRejected
  | InvalidTarget
  | SendFailed
  | DeliveryUnknown
  | ServerUnreachable
  | MediaUploadFailed
