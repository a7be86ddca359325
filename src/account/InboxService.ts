/**
 * What the rest of the account sees of its Inbox (Inbox.ts): the claims of each poll, the cursor to poll
 * with, and the done marks of finished turns.
 */
import type { Effect } from "effect"
import type { StateError } from "../state/StateError.js"
import type { RejectedMessage } from "../wire/Api.js"
import type { WeixinMessage } from "../wire/Message.js"
import type { ClaimedMessage, RecordedRejection } from "./InboxRecords.js"

export interface InboxService {
  /** where the journal lives, for log lines that send the operator there */
  readonly journalLocation: string
  /** the cursor to poll with: that of the last durable claim (its file follows in the background) */
  readonly cursor: Effect.Effect<string>
  /** completes once the cursor to poll with is in its file (or its write failed and was logged) */
  readonly cursorOnDisk: Effect.Effect<void>
  /** claims unfinished at start, in their original order; dispatch them before polling */
  readonly unfinished: ReadonlyArray<ClaimedMessage>
  /**
   * Takes in one getupdates batch: dedupes, journals the new messages durably, then moves the cursor to
   * `nextCursor` (if non-empty; its file follows). Returns the newly claimed messages. If the journal write
   * fails the cursor does not move and nothing is claimed.
   *
   * `rejected` (messages of the batch that did not decode) and messages without a sender are recorded in
   * the same durable write, never claimed, so the cursor can move past them without losing track of them.
   * Each newly recorded one is logged as a warning naming the journal; one seen before is not recorded twice.
   */
  readonly claim: (
    msgs: ReadonlyArray<WeixinMessage>,
    nextCursor: string | undefined,
    rejected?: ReadonlyArray<RejectedMessage>
  ) => Effect.Effect<ReadonlyArray<ClaimedMessage>, StateError>
  /**
   * Records that the turn of `key` finished; once it returns, a restart will not dispatch it again. A
   * failed write fails every mark it carried and leaves them pending (a restart re-dispatches them).
   */
  readonly markDone: (key: string) => Effect.Effect<void, StateError>
  /**
   * Queues the done mark of `key` and returns at once: the writer's next group commit writes it (a stop
   * writes every queued mark), and a failed write is logged here, naming the journal. For a turn's end,
   * so the peer's next turn does not wait for the fsync; a crash before the write re-dispatches the
   * message, as a crash just before the turn's end would.
   */
  readonly queueDone: (key: string) => Effect.Effect<void>
  /** number of seen keys currently remembered (tests, status) */
  readonly seenCount: Effect.Effect<number>
  /** rejected messages recorded within the retention window (tests, status) */
  readonly rejections: Effect.Effect<ReadonlyArray<RecordedRejection>>
}
