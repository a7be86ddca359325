/**
 * DeliverySettlement: what our reply `deliver` tells the host about each reply payload
 * (docs/HOST-NOTES.md "Delivery settlement"). With `observeMessageSent: true` on the dispatch, the host
 * fires its `message_sent` hooks and keeps its delivery records from these answers, so they must be true:
 *
 * - sent: the WeChat client ids of every message the payload became (chunks, files), as `messageIds` and a
 *   `MessageReceipt`, and the text WeChat shows (markdown filtered) as `content`;
 * - nothing went out: the host's `PlatformMessageNotDispatchedError` (it tests it with `instanceof`, so the
 *   class comes from the host's `openclaw/plugin-sdk/error-runtime`), retryable only when a later try could
 *   succeed (server unreachable, rate limit, shutting down);
 * - some chunks went out, then one failed: a partial-delivery error carrying those chunks' ids (the host
 *   recognises it by its shape, `code: "CHANNEL_PARTIAL_DELIVERY"`);
 * - the send may have arrived (DeliveryUnknown before any chunk was confirmed): a plain error, because
 *   claiming "not dispatched" could be false.
 */
import { Effect } from "effect"
import type { ChunkReceipt, OutboxError, Receipt } from "../account/Receipt.js"
import { describeThrown } from "./ChannelRuntime.js"

type MessageKind = "text" | "media"

/** The `MessageReceipt` of the host (plugin-sdk `channel-message`), as far as we fill it. */
export interface HostMessageReceipt {
  readonly primaryPlatformMessageId?: string
  readonly platformMessageIds: Array<string>
  readonly parts: Array<{ readonly platformMessageId: string; readonly kind: MessageKind; readonly index: number }>
  readonly sentAt: number
}

/** The host's `ChannelDeliveryResult` for a payload that became visible messages. */
export interface HostDeliveryResult {
  readonly messageIds: Array<string>
  readonly receipt: HostMessageReceipt
  readonly visibleReplySent: true
  readonly content?: string
}

const receiptOf = (chunks: ReadonlyArray<ChunkReceipt>, kind: MessageKind, sentAt: number, primary?: string): HostMessageReceipt => {
  const ids = chunks.map((chunk) => chunk.clientId)
  const first = primary ?? ids[ids.length - 1]
  return {
    ...(first === undefined ? {} : { primaryPlatformMessageId: first }),
    platformMessageIds: ids,
    parts: ids.map((platformMessageId, index) => ({ platformMessageId, kind, index })),
    sentAt
  }
}

/**
 * The result for a payload the Outbox sent. The primary id is the last message's client id, the id
 * `outbound.sendText` reports too (PROTOCOL §5.3).
 */
export const deliveredResult = (receipt: Receipt, content: string, kind: MessageKind, sentAt: number): HostDeliveryResult => ({
  messageIds: receipt.chunks.map((chunk) => chunk.clientId),
  receipt: receiptOf(receipt.chunks, kind, sentAt, receipt.clientId),
  visibleReplySent: true,
  ...(content === "" ? {} : { content })
})

/** The two error makers the settlement needs. */
export interface SettlementErrors {
  readonly notDispatched: (message: string, cause: unknown, retryable: boolean) => Error
}

/** Without the host's module: a plain error (the host then counts the send as failed, not as unsent). */
export const fallbackSettlementErrors: SettlementErrors = {
  notDispatched: (message, cause) => new Error(message, { cause })
}

let loaded: Promise<SettlementErrors> | undefined

/** The host's error class, imported once on the first failed reply; the fallback (with a warning) without it. */
export const hostSettlementErrors: Effect.Effect<SettlementErrors> = Effect.tryPromise(() =>
  (loaded ??= import("openclaw/plugin-sdk/error-runtime").then(
    ({ PlatformMessageNotDispatchedError }): SettlementErrors => ({
      notDispatched: (message, cause, retryable) => new PlatformMessageNotDispatchedError(message, { cause, retryable })
    }),
    (error: unknown) => {
      loaded = undefined
      throw error
    }
  ))
).pipe(
  Effect.catchAll((error) =>
    Effect.as(
      Effect.logWarning(
        `the host's delivery error class could not be loaded (${describeThrown(error.error)}); failed replies are ` +
          "reported to the host as plain errors"
      ),
      fallbackSettlementErrors
    )
  )
)

/** A partial-delivery error in the host's shape (plugin-sdk `channel-inbound` `createChannelPartialDeliveryError`). */
export const partialDeliveryError = (cause: OutboxError, sent: ReadonlyArray<ChunkReceipt>, kind: MessageKind, sentAt: number) =>
  Object.assign(new Error(cause.message, { cause }), {
    code: "CHANNEL_PARTIAL_DELIVERY" as const,
    deliveryResult: {
      messageIds: sent.map((chunk) => chunk.clientId),
      receipt: receiptOf(sent, kind, sentAt),
      visibleReplySent: true as const
    },
    sentBeforeError: true as const,
    visibleReplySent: true as const
  })

/** Whether trying the same send again later could succeed. */
const retryable = (error: OutboxError): boolean =>
  error._tag === "ServerUnreachable" || error._tag === "RateLimited" || error._tag === "OutboxClosed"

/** The error `deliver` rejects with for a send the Outbox could not complete. */
export const settlementError = (
  error: OutboxError,
  errors: SettlementErrors,
  kind: MessageKind,
  sentAt: number
): Error => {
  const sentBefore = "sentBefore" in error ? error.sentBefore : []
  if (sentBefore.length > 0) return partialDeliveryError(error, sentBefore, kind, sentAt)
  if (error._tag === "DeliveryUnknown") return new Error(error.message, { cause: error })
  return errors.notDispatched(error.message, error, retryable(error))
}
