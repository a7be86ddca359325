/**
 * Inbox: makes inbound delivery effectively-once (docs/ARCHITECTURE.md, the flow of one message).
 *
 * For each getupdates batch it drops messages it has already seen, appends the new ones to the account's
 * journal (InboxJournal) in one durable write, and only then moves the cursor the next poll sends. The
 * cursor file (CursorStore) follows from a writer fiber (CoalescingWriter), so the claimed messages are
 * dispatched and the next poll goes out without waiting for it; it is written only after the claims it
 * covers are durable, and never goes back. The writer gathers a second of cursors into one write
 * (`CURSOR_WINDOW_MS`): a burst moves the cursor at every poll, and each write is two fsyncs (the file and
 * its directory). A crash therefore loses at most the last second of cursors (the server redelivers, the
 * seen set drops the repeats); a claimed message is never lost. On start the journal is replayed and every
 * claim without a done record is handed back for re-dispatch, in claim order. Records: InboxRecords.
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
import { Cause, Clock, Context, Deferred, Duration, Effect, Exit, Layer, type Scope } from "effect"
import { CursorStore } from "../state/CursorStore.js"
import { InboxJournal } from "../state/InboxJournal.js"
import type { StateError } from "../state/StateError.js"
import type { RejectedMessage } from "../wire/Api.js"
import type { WeixinMessage } from "../wire/Message.js"
import * as CoalescingWriter from "./CoalescingWriter.js"
import { sortBatch } from "./InboxBatch.js"
import type { InboxService } from "./InboxService.js"
import { OnDemandWorker } from "./OnDemandWorker.js"
import {
  claimLine,
  type ClaimedMessage,
  defaultInboxLimits,
  doneLine,
  type InboxLimits,
  lineBytes,
  type QueuedMark,
  type RecordedRejection,
  rejectedLine,
  replay,
  type Replayed,
  seenLine
} from "./InboxRecords.js"

export type { InboxService } from "./InboxService.js"
export {
  type ClaimedMessage,
  dedupeKey,
  defaultInboxLimits,
  type InboxLimits,
  type RecordedRejection
} from "./InboxRecords.js"

/** How long the cursor writer gathers cursors into one write: a lost cursor costs a redelivery, deduped. */
export const CURSOR_WINDOW_MS = 1_000

/** Seen keys are remembered at least this long (iLink redelivers ~1 s later or after a long turn). */
export const seenRetention = Duration.hours(24)

/** What an account's Inbox starts from: the replayed journal, the cursor, its lock and its two writers. */
interface InboxStart {
  readonly accountId: string
  readonly journal: InboxJournal
  readonly cursors: CursorStore
  readonly limits: InboxLimits
  readonly journalLocation: string
  readonly replayed: Replayed
  readonly cursor: string
  readonly lock: Effect.Semaphore
  readonly writer: OnDemandWorker
  readonly cursorWriter: CoalescingWriter.CoalescingWriter
}

/**
 * One account's Inbox: the in-memory maps the journal replays into, and the steps that change both
 * together. A class, so the steps are methods shared by every account, not closures made for each one
 * (ARCHITECTURE "Light accounts").
 */
class AccountInbox implements InboxService {
  readonly journalLocation: string
  readonly unfinished: ReadonlyArray<ClaimedMessage>
  private readonly accountId: string
  private readonly journal: InboxJournal
  private readonly cursors: CursorStore
  private readonly limits: InboxLimits
  private readonly seen: Map<string, number>
  private readonly pending: Map<string, ClaimedMessage>
  private readonly rejected: Map<string, RecordedRejection>
  private journalRecords: number
  private journalBytes: number
  private lastCursor: string
  // After a compaction the journal may legitimately stay large (24 h of keys); compact again only once
  // it has doubled, so the cost stays amortized.
  private compactAtRecords: number
  private compactAtBytes: number
  // Journal writes and the in-memory maps change together; one writer at a time keeps a compaction
  // from dropping a done record appended concurrently. A claim moves the cursor under it too, so the
  // cursor follows the claims in their order and never goes back.
  private readonly lock: Effect.Semaphore
  private readonly writer: OnDemandWorker
  // writes the latest cursor to its file; closing the Inbox's scope writes the last one
  private readonly cursorWriter: CoalescingWriter.CoalescingWriter

  // ---- done marks: group commit from one writer fiber
  // Marks wait in a plain buffer the writer empties in one synchronous step, inside its uninterruptible
  // part: a mark is either still in the buffer (the stop's drain writes it) or in a write that runs to
  // the end. (A queue could hand a mark to a writer that is interrupted before it resumes: lost.)
  private marks: Array<QueuedMark> = []
  private marksClosed = false
  // key → the outcome of the write carrying its mark, for marks queued or being written
  private readonly marksInFlight = new Map<string, Deferred.Deferred<void, StateError>>()

  constructor(start: InboxStart) {
    this.accountId = start.accountId
    this.journal = start.journal
    this.cursors = start.cursors
    this.limits = start.limits
    this.journalLocation = start.journalLocation
    this.seen = start.replayed.seen
    this.pending = start.replayed.pending
    this.rejected = start.replayed.rejections
    this.unfinished = Array.from(start.replayed.pending.values())
    this.journalRecords = start.replayed.records
    this.journalBytes = start.replayed.bytes
    this.lastCursor = start.cursor
    this.compactAtRecords = start.limits.maxRecords
    this.compactAtBytes = start.limits.maxBytes
    this.lock = start.lock
    this.writer = start.writer
    this.cursorWriter = start.cursorWriter
  }

  get cursor(): Effect.Effect<string> {
    return Effect.sync(() => this.lastCursor)
  }

  get cursorOnDisk(): Effect.Effect<void> {
    return this.cursorWriter.flush
  }

  /** The cursor writer's one write: the cursor as it is now. */
  get saveCursor(): Effect.Effect<void, StateError> {
    return Effect.suspend(() => this.cursors.save(this.accountId, this.lastCursor))
  }

  get seenCount(): Effect.Effect<number> {
    return Effect.sync(() => this.seen.size)
  }

  get rejections(): Effect.Effect<ReadonlyArray<RecordedRejection>> {
    return Effect.sync(() => Array.from(this.rejected.values()))
  }

  private appended(lines: ReadonlyArray<string>): void {
    this.journalRecords += lines.length
    this.journalBytes += lineBytes(lines)
  }

  private forgetExpired(now: number): void {
    const retentionMs = Duration.toMillis(seenRetention)
    for (const [key, at] of this.seen) {
      if (now - at < retentionMs) break // insertion order is claim order
      if (!this.pending.has(key)) this.seen.delete(key)
    }
    for (const [key, rejection] of this.rejected) {
      if (now - rejection.at < retentionMs) break
      this.rejected.delete(key)
    }
  }

  // Runs with the lock held.
  private get compactIfNeeded(): Effect.Effect<void> {
    const self = this
    return Effect.gen(function*() {
      if (self.journalRecords <= self.compactAtRecords && self.journalBytes <= self.compactAtBytes) return
      const now = yield* Clock.currentTimeMillis
      self.forgetExpired(now)
      const out: Array<string> = []
      for (const [key, at] of self.seen) {
        const claim = self.pending.get(key)
        out.push(claim === undefined ? seenLine(key, at) : claimLine(claim))
      }
      for (const rejection of self.rejected.values()) out.push(rejectedLine(rejection))
      yield* self.journal.replace(self.accountId, out)
      const bytes = lineBytes(out)
      yield* Effect.logDebug(`inbox journal compacted from ${self.journalRecords} to ${out.length} records`)
      self.journalRecords = out.length
      self.journalBytes = bytes
      self.compactAtRecords = Math.max(self.limits.maxRecords, 2 * out.length)
      self.compactAtBytes = Math.max(self.limits.maxBytes, 2 * bytes)
    }).pipe(
      Effect.catchAll((e) => Effect.logWarning(`${e.message}; the journal keeps growing until it succeeds`))
    )
  }

  claim(
    msgs: ReadonlyArray<WeixinMessage>,
    nextCursor: string | undefined,
    rejected: ReadonlyArray<RejectedMessage> = []
  ): Effect.Effect<ReadonlyArray<ClaimedMessage>, StateError> {
    const self = this
    // an idle long-poll ending (nothing new, the cursor where it was) has nothing to claim or write; it only
    // lets seen keys expire (in memory, in one synchronous step, so no write under the lock can see it halfway)
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const moves = nextCursor !== undefined && nextCursor !== "" && nextCursor !== self.lastCursor
      if (msgs.length > 0 || rejected.length > 0 || moves) return self.claimBatch(msgs, nextCursor, rejected)
      self.forgetExpired(now)
      return Effect.succeed([])
    })
  }

  private claimBatch(
    msgs: ReadonlyArray<WeixinMessage>,
    nextCursor: string | undefined,
    rejected: ReadonlyArray<RejectedMessage>
  ): Effect.Effect<ReadonlyArray<ClaimedMessage>, StateError> {
    const self = this
    return Effect.gen(function*() {
      const { fresh, freshRejections } = yield* self.lock.withPermits(1)(
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          self.forgetExpired(now)
          const batch = sortBatch({ seen: self.seen, rejected: self.rejected, cursor: self.lastCursor }, msgs, rejected, now)
          if (batch.fresh.length > 0 || batch.freshRejections.length > 0) {
            const out = [...batch.fresh.map(claimLine), ...batch.freshRejections.map(rejectedLine)]
            yield* self.journal.append(self.accountId, out)
            self.appended(out)
            for (const c of batch.fresh) {
              self.seen.set(c.key, now)
              self.pending.set(c.key, c)
            }
            for (const { senderless: _, ...r } of batch.freshRejections) self.rejected.set(r.key, r)
          }
          // Only now, with the claims durable, may the server forget these messages. Nothing waits for
          // the cursor's file: neither the done marks, nor the dispatch, nor the next poll.
          if (nextCursor !== undefined && nextCursor !== "" && nextCursor !== self.lastCursor) {
            self.lastCursor = nextCursor
            yield* self.cursorWriter.change
          }
          yield* self.compactIfNeeded
          return batch
        })
      )
      for (const r of freshRejections) {
        const what = r.senderless ? "cannot be answered" : "could not be understood"
        yield* Effect.logWarning(
          `message ${r.key} (position ${r.index} of its batch) ${what} and was not passed ` +
            `to the agent: ${r.problem}. It is recorded for 24 h in ${self.journalLocation} (a "rejected" line); ` +
            "polling goes on. If this repeats, report that line to the openclaw-weixin maintainers"
        )
      }
      return fresh as ReadonlyArray<ClaimedMessage>
    }).pipe(Effect.withSpan("Inbox.claim"))
  }

  // Holds the journal lock, so claims and compactions never interleave with it.
  private writeMarks(batch: Iterable<QueuedMark>): Effect.Effect<void> {
    const self = this
    return this.lock.withPermits(1)(
      Effect.gen(function*() {
        const taken = [...batch]
        const lines = taken.map((mark) => mark.line)
        const exit = yield* Effect.exit(self.journal.append(self.accountId, lines))
        for (const mark of taken) self.marksInFlight.delete(mark.key)
        if (Exit.isSuccess(exit)) {
          for (const mark of taken) self.pending.delete(mark.key)
          self.appended(lines)
        }
        // on failure the keys stay pending: a later markDone retries, a restart re-dispatches
        const unwatched = taken.filter((mark) => mark.unwatched).length
        if (Exit.isFailure(exit) && unwatched > 0) {
          yield* Effect.logError(
            `the done marks of ${unwatched} finished message(s) could not be written to ${self.journalLocation} ` +
              `(${Cause.pretty(exit.cause).split("\n")[0]}); they will be dispatched again after a restart. ` +
              "Check that the state directory is writable and has free space"
          )
        }
        for (const mark of taken) yield* Deferred.done(mark.written, exit)
        if (Exit.isSuccess(exit)) yield* self.compactIfNeeded
      })
    )
  }

  /** The writer's one run: writes the marks waiting now, if any. */
  get writeQueuedMarks(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const taken = this.marks
      this.marks = []
      return taken.length === 0 ? Effect.void : this.writeMarks(taken)
    })
  }

  /** Runs before the writer is interrupted: marks still queued are written, later ones are refused. */
  get closeMarks(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.marksClosed = true
      return this.writeQueuedMarks
    })
  }

  /** The write that will carry the mark of `key`, queued now if it is not yet; none if `key` is done. */
  private queueMark(key: string, unwatched: boolean): Effect.Effect<Deferred.Deferred<void, StateError> | undefined> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatMap(Deferred.make<void, StateError>(), (fresh) =>
        // queueing is one uninterruptible step, so an interrupted caller cannot strand a mark half-queued;
        // a queued mark is written whether or not its caller still waits
        Effect.uninterruptible(
          Effect.suspend(() => {
            if (!this.pending.has(key)) return Effect.succeed(undefined)
            const queued = this.marksInFlight.get(key)
            if (queued !== undefined) return Effect.succeed(queued)
            // refused once the Inbox is closing, as an interruption: the message runs again after a restart
            if (this.marksClosed) return Effect.interrupt
            this.marksInFlight.set(key, fresh)
            this.marks.push({ key, line: doneLine(key, now), written: fresh, unwatched })
            return Effect.as(this.writer.wake, fresh)
          })
        )))
  }

  markDone(key: string): Effect.Effect<void, StateError> {
    return Effect.flatMap(this.queueMark(key, false), (written) => (written === undefined ? Effect.void : Deferred.await(written)))
      .pipe(Effect.withSpan("Inbox.markDone"))
  }

  // a queue refused after a stop began: the mark is not written and the message runs again on restart
  queueDone(key: string): Effect.Effect<void> {
    return this.queueMark(key, true).pipe(Effect.asVoid, Effect.catchAllCause(() => Effect.void))
  }
}

const make = Effect.fnUntraced(function*(options: {
  readonly accountId: string
  readonly limits?: InboxLimits
}) {
  const { accountId } = options
  const journal = yield* InboxJournal
  const cursors = yield* CursorStore
  const replayed = replay(yield* journal.read(accountId))
  if (replayed.skipped > 0) {
    yield* Effect.logWarning(
      `inbox journal: skipped ${replayed.skipped} unreadable line(s) (hand edit or interrupted write); ` +
        "the messages they held, if any, may be redelivered by the server and are deduplicated again"
    )
  }
  for (const key of replayed.senderless) {
    yield* Effect.logWarning(`message ${key}, claimed by an earlier version, has no sender id; it cannot be answered and is skipped`)
  }
  const cursor = yield* cursors.load(accountId)
  const lock = yield* Effect.makeSemaphore(1)
  // set right below, before any mark can be queued: only `queueMark` wakes the writer
  let inbox: AccountInbox | undefined
  // Once a batch is taken, its write and the answers to its callers run to the end. The writer fiber is
  // alive only while marks wait (OnDemandWorker.ts).
  const writer = yield* OnDemandWorker.make(
    Effect.uninterruptible(Effect.suspend(() => inbox === undefined ? Effect.void : inbox.writeQueuedMarks))
  )
  const cursorWriter = yield* CoalescingWriter.make({
    save: Effect.suspend(() => inbox === undefined ? Effect.void : inbox.saveCursor),
    windowMs: CURSOR_WINDOW_MS,
    warning: "could not save the poll cursor; polling goes on, and after a restart the server may deliver " +
      "messages again that were already claimed (they are recognised and skipped); check the state directory"
  })
  const built = new AccountInbox({
    accountId,
    journal,
    cursors,
    limits: options.limits ?? defaultInboxLimits,
    journalLocation: journal.path(accountId),
    replayed,
    cursor,
    lock,
    writer,
    cursorWriter
  })
  inbox = built
  // added after the writer's stop finalizer, so it runs before the writer is interrupted
  yield* Effect.addFinalizer(() => built.closeMarks)
  return Inbox.of(built)
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
