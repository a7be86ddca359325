/**
 * InboxBatch: which messages of one getupdates batch the Inbox claims, and which it records as rejected
 * (undecodable, or without a sender), deduplicated against what it has seen (ARCHITECTURE "Inbox").
 */
import { Either } from "effect"
import { normalizePeerId } from "../domain/PeerId.js"
import type { RejectedMessage } from "../wire/Api.js"
import type { WeixinMessage } from "../wire/Message.js"
import { type ClaimedMessage, dedupeKey, type RecordedRejection } from "./InboxRecords.js"

const NO_SENDER = "it has no sender id (from_user_id is missing or blank), so there is nobody to answer"

/** A record of the batch being claimed that will not be dispatched, and why (for its warning). */
export interface FreshRejection extends RecordedRejection {
  readonly senderless: boolean
}

/** The new claims and rejections of a batch, against what the Inbox already knows; changes nothing. */
export const sortBatch = (
known: {
  readonly seen: ReadonlyMap<string, number>
  readonly rejected: ReadonlyMap<string, RecordedRejection>
  /** the cursor the batch was asked with: it tells apart rejected messages without an id */
  readonly cursor: string
},
msgs: ReadonlyArray<WeixinMessage>,
rejected: ReadonlyArray<RejectedMessage>,
now: number
) => {
  const fresh: Array<ClaimedMessage> = []
  const freshRejections: Array<FreshRejection> = []
  const inBatch = new Set<string>()
  const reject = (rejection: FreshRejection) => {
    if (known.rejected.has(rejection.key) || inBatch.has(rejection.key)) return
    inBatch.add(rejection.key)
    freshRejections.push(rejection)
  }
  // `msgs` are the batch's decodable messages in order; the server's positions skip the rejected ones
  const undecodable = new Set(rejected.map((r) => r.index))
  let position = -1
  for (const message of msgs) {
    do position++
    while (undecodable.has(position))
    const key = dedupeKey(message)
    if (known.seen.has(key) || inBatch.has(key)) continue
    const peer = normalizePeerId(message.from_user_id ?? "")
    if (Either.isLeft(peer)) {
      // kept apart from `seen`, like an undecodable message
      reject({ key, index: position, problem: NO_SENDER, at: now, senderless: true })
      continue
    }
    inBatch.add(key)
    fresh.push({ key, peer: peer.right, message, claimedAt: now })
  }
  for (const r of rejected) {
    // without an id there is nothing to dedupe on; the cursor it came with tells batches apart.
    // Kept apart from `seen`: should a readable copy of the same message ever arrive, it still runs.
    const key = r.message_id !== undefined && r.message_id !== "" ? `mid:${r.message_id}` : `rej:${known.cursor}#${r.index}`
    reject({ key, index: r.index, problem: r.problem, at: now, senderless: false })
  }
  return { fresh, freshRejections }
}
