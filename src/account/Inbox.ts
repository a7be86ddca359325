/**
 * Inbox: makes inbound delivery effectively-once (docs/ARCHITECTURE.md, the flow of one message).
 *
 * For each getupdates batch it drops messages it has already seen, appends the new ones to the account's
 * journal (InboxJournal) in one durable write, and only then commits the new cursor (CursorStore). A
 * crash therefore either loses the cursor (the server redelivers, the seen set drops the repeats) or keeps
 * both; a claimed message is never lost. On start the journal is replayed and every claim without a done
 * record is handed back for re-dispatch, in claim order. Records: InboxRecords.
 *
 * The sender of each message is normalised here, once, into the `Peer` that travels with the claim. A
 * message without a usable sender id (`from_user_id` missing or blank) has nobody to answer: it is
 * recorded as a "rejected" line in the same durable write, with a warning naming the journal, and never
 * dispatched (like a message that could not be decoded).
 *
 * Done marks are group-committed by one writer fiber in the Inbox's scope: `markDone` queues its mark and
 * waits (`queueDone` queues it and returns; the writer logs a failure); the writer takes every queued
 * mark, appends them in one write (one fsync), and completes each caller with that write's outcome. Marks
 * that arrive while a write runs share the next one; closing the scope writes the marks still queued.
 */
import { Cause, Clock, Context, Deferred, Duration, Effect, Either, Exit, Layer, type Scope } from "effect"
import { normalizePeerId } from "../domain/PeerId.js"
import { CursorStore } from "../state/CursorStore.js"
import { InboxJournal } from "../state/InboxJournal.js"
import type { StateError } from "../state/StateError.js"
import type { RejectedMessage } from "../wire/Api.js"
import type { WeixinMessage } from "../wire/Message.js"
import { OnDemandWorker } from "./OnDemandWorker.js"
import {
  claimLine,
  type ClaimedMessage,
  dedupeKey,
  doneLine,
  lineBytes,
  type RecordedRejection,
  rejectedLine,
  replay,
  seenLine
} from "./InboxRecords.js"

export { type ClaimedMessage, dedupeKey, type RecordedRejection } from "./InboxRecords.js"

/** Seen keys are remembered at least this long (iLink redelivers ~1 s later or after a long turn). */
export const seenRetention = Duration.hours(24)

export interface InboxLimits {
  /** compact when the journal holds more records than this (or twice the last compacted size) */
  readonly maxRecords: number
  /** compact when the journal grows beyond this many bytes (or twice the last compacted size) */
  readonly maxBytes: number
}

export const defaultInboxLimits: InboxLimits = { maxRecords: 2_000, maxBytes: 1024 * 1024 }

const NO_SENDER = "it has no sender id (from_user_id is missing or blank), so there is nobody to answer"

export interface InboxService {
  /** where the journal lives, for log lines that send the operator there */
  readonly journalLocation: string
  /** the cursor to poll with: the last one committed after a durable claim */
  readonly cursor: Effect.Effect<string>
  /** claims unfinished at start, in their original order; dispatch them before polling */
  readonly unfinished: ReadonlyArray<ClaimedMessage>
  /**
   * Takes in one getupdates batch: dedupes, journals the new messages durably, then commits
   * `nextCursor` (if non-empty). Returns the newly claimed messages. If the journal write fails the
   * cursor does not move and nothing is claimed.
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

/** A done mark waiting for the writer, and the outcome its callers wait for. */
interface QueuedMark {
  readonly key: string
  readonly line: string
  readonly written: Deferred.Deferred<void, StateError>
  /** no caller waits for the write (`queueDone`), so the writer logs its failure */
  readonly unwatched: boolean
}

/** A record of the batch being claimed that will not be dispatched, and why (for its warning). */
interface FreshRejection extends RecordedRejection {
  readonly senderless: boolean
}

const make = Effect.fn("Inbox.make")(function*(options: {
  readonly accountId: string
  readonly limits?: InboxLimits
}) {
  const { accountId } = options
  const journal = yield* InboxJournal
  const cursors = yield* CursorStore
  const limits = options.limits ?? defaultInboxLimits
  const retentionMs = Duration.toMillis(seenRetention)
  const journalLocation = journal.path(accountId)

  const replayed = replay(yield* journal.read(accountId))
  const { seen, pending, rejections } = replayed
  let journalRecords = replayed.records
  let journalBytes = replayed.bytes
  if (replayed.skipped > 0) {
    yield* Effect.logWarning(
      `inbox journal: skipped ${replayed.skipped} unreadable line(s) (hand edit or interrupted write); ` +
        "the messages they held, if any, may be redelivered by the server and are deduplicated again"
    )
  }
  for (const key of replayed.senderless) {
    yield* Effect.logWarning(`message ${key}, claimed by an earlier version, has no sender id; it cannot be answered and is skipped`)
  }
  let cursor = yield* cursors.load(accountId)
  // After a compaction the journal may legitimately stay large (24 h of keys); compact again only once
  // it has doubled, so the cost stays amortized.
  let compactAtRecords = limits.maxRecords
  let compactAtBytes = limits.maxBytes

  // Journal writes and the in-memory maps change together; one writer at a time keeps a compaction
  // from dropping a done record appended concurrently.
  const lock = yield* Effect.makeSemaphore(1)
  // One claim at a time, from the journal append to its cursor commit, so the cursor never goes back.
  const cursorLock = yield* Effect.makeSemaphore(1)

  const appended = (lines: ReadonlyArray<string>) => {
    journalRecords += lines.length
    journalBytes += lineBytes(lines)
  }

  const forgetExpired = (now: number) => {
    for (const [key, at] of seen) {
      if (now - at < retentionMs) break // insertion order is claim order
      if (!pending.has(key)) seen.delete(key)
    }
    for (const [key, rejection] of rejections) {
      if (now - rejection.at < retentionMs) break
      rejections.delete(key)
    }
  }

  // Runs with the lock held.
  const compactIfNeeded = Effect.gen(function*() {
    if (journalRecords <= compactAtRecords && journalBytes <= compactAtBytes) return
    const now = yield* Clock.currentTimeMillis
    forgetExpired(now)
    const out: Array<string> = []
    for (const [key, at] of seen) {
      const claim = pending.get(key)
      out.push(claim === undefined ? seenLine(key, at) : claimLine(claim))
    }
    for (const rejection of rejections.values()) out.push(rejectedLine(rejection))
    yield* journal.replace(accountId, out)
    const bytes = lineBytes(out)
    yield* Effect.logDebug(`inbox journal compacted from ${journalRecords} to ${out.length} records`)
    journalRecords = out.length
    journalBytes = bytes
    compactAtRecords = Math.max(limits.maxRecords, 2 * out.length)
    compactAtBytes = Math.max(limits.maxBytes, 2 * bytes)
  }).pipe(
    Effect.catchAll((e) => Effect.logWarning(`${e.message}; the journal keeps growing until it succeeds`))
  )

  /** The new claims and rejections of a batch; changes nothing. */
  const sortBatch = (
    msgs: ReadonlyArray<WeixinMessage>,
    rejected: ReadonlyArray<RejectedMessage>,
    now: number
  ) => {
    const fresh: Array<ClaimedMessage> = []
    const freshRejections: Array<FreshRejection> = []
    const inBatch = new Set<string>()
    const reject = (rejection: FreshRejection) => {
      if (rejections.has(rejection.key) || inBatch.has(rejection.key)) return
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
      if (seen.has(key) || inBatch.has(key)) continue
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
      const key = r.message_id !== undefined && r.message_id !== "" ? `mid:${r.message_id}` : `rej:${cursor}#${r.index}`
      reject({ key, index: r.index, problem: r.problem, at: now, senderless: false })
    }
    return { fresh, freshRejections }
  }

  const claimBatch = (
    msgs: ReadonlyArray<WeixinMessage>,
    nextCursor: string | undefined,
    rejected: ReadonlyArray<RejectedMessage>
  ) =>
    Effect.gen(function*() {
      const { fresh, freshRejections } = yield* lock.withPermits(1)(
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          forgetExpired(now)
          const batch = sortBatch(msgs, rejected, now)
          if (batch.fresh.length > 0 || batch.freshRejections.length > 0) {
            const out = [...batch.fresh.map(claimLine), ...batch.freshRejections.map(rejectedLine)]
            yield* journal.append(accountId, out)
            appended(out)
            for (const c of batch.fresh) {
              seen.set(c.key, now)
              pending.set(c.key, c)
            }
            for (const { senderless: _, ...r } of batch.freshRejections) rejections.set(r.key, r)
          }
          yield* compactIfNeeded
          return batch
        })
      )
      // Only now, with the claims durable, may the server forget these messages. The journal is free
      // again meanwhile: done marks need not wait for the cursor's own fsync and rename.
      if (nextCursor !== undefined && nextCursor !== "" && nextCursor !== cursor) {
        yield* cursors.save(accountId, nextCursor)
        cursor = nextCursor
      }
      for (const r of freshRejections) {
        const what = r.senderless ? "cannot be answered" : "could not be understood"
        yield* Effect.logWarning(
          `message ${r.key} (position ${r.index} of its batch) ${what} and was not passed ` +
            `to the agent: ${r.problem}. It is recorded for 24 h in ${journalLocation} (a "rejected" line); ` +
            "polling goes on. If this repeats, report that line to the openclaw-weixin maintainers"
        )
      }
      return fresh as ReadonlyArray<ClaimedMessage>
    }).pipe(cursorLock.withPermits(1))

  // ---- done marks: group commit from one writer fiber -------------------------------------------

  // Marks wait in a plain buffer the writer empties in one synchronous step, inside its uninterruptible
  // part: a mark is either still in the buffer (the stop's drain writes it) or in a write that runs to
  // the end. (A queue could hand a mark to a writer that is interrupted before it resumes: lost.)
  let marks: Array<QueuedMark> = []
  let marksClosed = false
  const takeMarks = () => {
    const taken = marks
    marks = []
    return taken
  }
  // key → the outcome of the write carrying its mark, for marks queued or being written
  const marksInFlight = new Map<string, Deferred.Deferred<void, StateError>>()

  // Holds the journal lock, so claims and compactions never interleave with it.
  const writeMarks = (batch: Iterable<QueuedMark>) =>
    lock.withPermits(1)(
      Effect.gen(function*() {
        const taken = [...batch]
        const lines = taken.map((mark) => mark.line)
        const exit = yield* Effect.exit(journal.append(accountId, lines))
        for (const mark of taken) marksInFlight.delete(mark.key)
        if (Exit.isSuccess(exit)) {
          for (const mark of taken) pending.delete(mark.key)
          appended(lines)
        }
        // on failure the keys stay pending: a later markDone retries, a restart re-dispatches
        const unwatched = taken.filter((mark) => mark.unwatched).length
        if (Exit.isFailure(exit) && unwatched > 0) {
          yield* Effect.logError(
            `the done marks of ${unwatched} finished message(s) could not be written to ${journalLocation} ` +
              `(${Cause.pretty(exit.cause).split("\n")[0]}); they will be dispatched again after a restart. ` +
              "Check that the state directory is writable and has free space"
          )
        }
        for (const mark of taken) yield* Deferred.done(mark.written, exit)
        if (Exit.isSuccess(exit)) yield* compactIfNeeded
      })
    )

  // Once a batch is taken, its write and the answers to its callers run to the end. The writer fiber is
  // alive only while marks wait (OnDemandWorker.ts).
  const writer = yield* OnDemandWorker.make(Effect.uninterruptible(Effect.suspend(() => {
    const taken = takeMarks()
    return taken.length === 0 ? Effect.void : writeMarks(taken)
  })))
  // Runs before the writer is interrupted: marks still queued are written, later ones are refused.
  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      marksClosed = true
      const rest = takeMarks()
      return rest.length === 0 ? Effect.void : writeMarks(rest)
    })
  )

  /** The write that will carry the mark of `key`, queued now if it is not yet; none if `key` is done. */
  const queueMark = (key: string, unwatched: boolean) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* Deferred.make<void, StateError>()
      // queueing is one uninterruptible step, so an interrupted caller cannot strand a mark half-queued;
      // a queued mark is written whether or not its caller still waits
      return yield* Effect.uninterruptible(
        Effect.suspend(() => {
          if (!pending.has(key)) return Effect.succeed(undefined)
          const queued = marksInFlight.get(key)
          if (queued !== undefined) return Effect.succeed(queued)
          // refused once the Inbox is closing, as an interruption: the message runs again after a restart
          if (marksClosed) return Effect.interrupt
          marksInFlight.set(key, fresh)
          marks.push({ key, line: doneLine(key, now), written: fresh, unwatched })
          return Effect.as(writer.wake, fresh)
        })
      )
    })

  const markDone = (key: string) =>
    Effect.flatMap(queueMark(key, false), (written) => (written === undefined ? Effect.void : Deferred.await(written)))

  return Inbox.of({
    journalLocation,
    cursor: Effect.sync(() => cursor),
    unfinished: Array.from(pending.values()),
    claim: (msgs, nextCursor, rejected = []) =>
      claimBatch(msgs, nextCursor, rejected).pipe(Effect.withSpan("Inbox.claim")),
    markDone: (key) => markDone(key).pipe(Effect.withSpan("Inbox.markDone")),
    // a queue refused after a stop began: the mark is not written and the message runs again on restart
    queueDone: (key) => queueMark(key, true).pipe(Effect.asVoid, Effect.catchAllCause(() => Effect.void)),
    seenCount: Effect.sync(() => seen.size),
    rejections: Effect.sync(() => Array.from(rejections.values()))
  })
})

export interface InboxOptions {
  readonly accountId: string
  readonly limits?: InboxLimits
}

export class Inbox extends Context.Tag("openclaw-weixin/Inbox")<Inbox, InboxService>() {
  /** Replays the journal and loads the cursor; the done-mark writer lives in the caller's scope. */
  static readonly make: (
    options: InboxOptions
  ) => Effect.Effect<InboxService, StateError, Scope.Scope | InboxJournal | CursorStore> = make
  static readonly layer = (options: InboxOptions): Layer.Layer<Inbox, StateError, InboxJournal | CursorStore> =>
    Layer.scoped(Inbox, make(options))
}
