/**
 * The Outbox's send policy: what it refuses before calling the server (no context token, the reply
 * window closed, the reply budget spent), which failures it may retry (only those that provably never
 * reached the server), and how a failed sendmessage maps to the account's send errors (PROTOCOL App. C).
 */
import type { ILinkError } from "../wire/ILinkError.js"
import type { PeerContext } from "./ContextTokens.js"
import {
  type ChunkReceipt,
  ContextTokenRejected,
  DeliveryUnknown,
  InvalidTarget,
  MessageRejected,
  NoContextToken,
  type OutboxError,
  RateLimited,
  ReplyBudgetSpent,
  ReplyWindowClosed,
  SendFailed,
  ServerUnreachable
} from "./Receipt.js"

/** Where in a multi-chunk send a request is. */
/** The reply budget per inbound message and the reply window after it (PROTOCOL App. C). */
export interface SendLimits {
  readonly budget: number
  readonly windowMs: number
}

export interface ChunkContext {
  readonly peer: string
  readonly chunkIndex: number
  readonly chunkCount: number
  readonly sentBefore: ReadonlyArray<ChunkReceipt>
}

/** A failure the Outbox may retry with the same client_id: the request never left this machine. */
export const isNeverReachedTransport = (error: ILinkError): boolean =>
  error._tag === "ILinkTransportError" && error.reachedServer === "no"

/** Maps one sendmessage failure to the Outbox's error (PROTOCOL App. C). */
export const classifySendFailure = (error: ILinkError, clientId: string, at: ChunkContext): OutboxError => {
  const base = { peer: at.peer, clientId, chunkIndex: at.chunkIndex, chunkCount: at.chunkCount, sentBefore: at.sentBefore }
  switch (error._tag) {
    case "ILinkApiError":
      return classifyRet(error.ret ?? error.errcode ?? -1, error.errmsg ?? "", base)
    case "ILinkTransportError":
      return error.reachedServer === "no"
        ? new ServerUnreachable({ ...base, reason: error.message })
        : new DeliveryUnknown({ ...base, reason: error.message })
    case "ILinkTimeoutError":
    case "ILinkDecodeError":
      return new DeliveryUnknown({ ...base, reason: error.message })
    case "ILinkHttpStatusError":
      // a 5xx may come after the message was stored; a 4xx means it was turned away at the door
      return error.status >= 500
        ? new DeliveryUnknown({ ...base, reason: error.message })
        : new SendFailed({ ...base, errmsg: error.message })
    case "ILinkConfigError":
      return new ServerUnreachable({ ...base, reason: error.message })
    case "AuthExpired":
      return new SendFailed({ ...base, errmsg: error.message })
  }
}

/** Maps a `ret` the server answered sendmessage with (PROTOCOL App. C). */
export const classifyRet = (
  ret: number,
  errmsg: string,
  base: {
    peer: string
    clientId: string
    chunkIndex: number
    chunkCount: number
    sentBefore: ReadonlyArray<ChunkReceipt>
  }
): OutboxError => {
  const said = errmsg.trim().toLowerCase()
  if (ret === -2) {
    if (said === "" || said === "unknown error") return new ContextTokenRejected({ ...base, errmsg })
    if (said.includes("rate limit")) return new RateLimited({ ...base, errmsg })
    if (said.includes("prepare failed")) return new MessageRejected({ ...base, errmsg })
    // any other -2 (e.g. a closed reply window) has the same remedy: the user must write again
    return new ContextTokenRejected({ ...base, errmsg })
  }
  if (ret === -3) return new InvalidTarget({ ...base, errmsg })
  return new SendFailed({ ...base, ret, errmsg })
}

/** Why the Outbox will not even try; undefined when the send may go ahead. */
export const refusalFor = (
  peer: string,
  known: PeerContext | undefined,
  requestToken: string | undefined,
  needed: number,
  now: number,
  limits: SendLimits
): OutboxError | undefined => {
  if (requestToken === undefined && known === undefined) return new NoContextToken({ peer })
  if (known === undefined) return undefined
  if (known.lastInboundAt !== undefined && now - known.lastInboundAt >= limits.windowMs) {
    return new ReplyWindowClosed({ peer, lastInboundAt: known.lastInboundAt, windowMs: limits.windowMs })
  }
  if (known.repliesSince + needed > limits.budget) {
    return new ReplyBudgetSpent({ peer, budget: limits.budget, repliesSince: known.repliesSince, needed })
  }
  return undefined
}
