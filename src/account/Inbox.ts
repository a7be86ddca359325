/**
 * Inbox: makes inbound delivery effectively-once (DESIGN.md "The flow of one message").
 *
 * For each getupdates batch it drops messages it has already seen, appends the new ones to the account's
 * journal in one durable write, and only then commits the new cursor. A crash therefore either loses the
 * cursor (the server redelivers, the seen set drops the repeats) or keeps both; a claimed message is never
 * lost. `markDone` records a finished turn, group-committed with the marks that arrive while a write is
 * running; on start the journal is replayed and every claim without a done record is handed back for
 * re-dispatch, in claim order.
 *
 * Journal lines (JSON, one record per line, in `<account>.inbox` via StateStore):
 *   {"t":"claim","key":"mid:…","at":ms,"peer":"…","msg":{…}}   a message taken into the actor
 *   {"t":"done","key":"mid:…","at":ms}                          its turn finished
 *   {"t":"seen","key":"mid:…","at":ms}                          compacted claim, kept only for dedupe
 *   {"t":"rejected","key":"mid:…","at":ms,"index":n,"problem":"…"} a message of a batch that could not be
 *                                                               decoded: never dispatched, kept 24 h
 *                                                               for the operator (key `rej:…` without an id;
 *                                                               not part of the dedupe set)
 */
import { Clock, Deferred, Duration, Effect, Either, Exit, Schema } from "effect"
import { createHash } from "node:crypto"
import type { RejectedMessage } from "../wire/Api.js"
import { WeixinMessage } from "../wire/Message.js"

/** A message the Inbox has durably taken in; the Dispatcher runs one turn for it. */
export interface ClaimedMessage {
  /** dedupe key, prefixed by its kind: `mid:`, `cid:`, `seq:` or `fp:` */
  readonly key: string
  /** raw `from_user_id` (per-peer FIFO key) */
  readonly peer: string
  readonly message: WeixinMessage
  /** epoch ms of the claim, from Clock */
  readonly claimedAt: number
}

/** The StateStore methods the Inbox needs; `StateStore` satisfies it structurally. */
export interface InboxStore {
  readonly loadCursor: (accountId: string) => Effect.Effect<string | undefined, unknown>
  readonly saveCursor: (accountId: string, buf: string) => Effect.Effect<void, unknown>
  readonly appendJournal: (accountId: string, name: string, lines: ReadonlyArray<string>) => Effect.Effect<void, unknown>
  readonly readJournal: (accountId: string, name: string) => Effect.Effect<ReadonlyArray<string>, unknown>
  readonly replaceJournal: (accountId: string, name: string, lines: ReadonlyArray<string>) => Effect.Effect<void, unknown>
}

export class InboxStorageError extends Schema.TaggedError<InboxStorageError>()("InboxStorageError", {
  accountId: Schema.String,
  operation: Schema.Literal("loadCursor", "saveCursor", "appendJournal", "readJournal", "replaceJournal"),
  detail: Schema.String
}) {
  override get message() {
    return `inbox ${this.operation} failed for account ${this.accountId}: ${this.detail}; check that the state directory is writable and not full`
  }
}

/** Seen keys are remembered at least this long (iLink redelivers ~1 s later or after a long turn). */
export const seenRetention = Duration.hours(24)

export interface InboxLimits {
  /** compact when the journal holds more records than this (or twice the last compacted size) */
  readonly maxRecords: number
  /** compact when the journal grows beyond this many bytes (or twice the last compacted size) */
  readonly maxBytes: number
}

export const defaultInboxLimits: InboxLimits = { maxRecords: 2_000, maxBytes: 1024 * 1024 }

export const journalName = "inbox"

const ClaimRecord = Schema.Struct({
  t: Schema.Literal("claim"),
  key: Schema.String,
  at: Schema.Number,
  peer: Schema.String,
  msg: WeixinMessage
})
const DoneRecord = Schema.Struct({ t: Schema.Literal("done"), key: Schema.String, at: Schema.Number })
const SeenRecord = Schema.Struct({ t: Schema.Literal("seen"), key: Schema.String, at: Schema.Number })
const RejectedRecord = Schema.Struct({
  t: Schema.Literal("rejected"),
  key: Schema.String,
  at: Schema.Number,
  index: Schema.Number,
  problem: Schema.String
})
const JournalRecord = Schema.Union(ClaimRecord, DoneRecord, SeenRecord, RejectedRecord)
const decodeRecord = Schema.decodeEither(Schema.parseJson(JournalRecord))
const encodeRecord = Schema.encodeSync(Schema.parseJson(JournalRecord))
const claimLine = (c: ClaimedMessage) =>
  encodeRecord({ t: "claim", key: c.key, at: c.claimedAt, peer: c.peer, msg: c.message })
const rejectedLine = (r: RecordedRejection) =>
  encodeRecord({ t: "rejected", key: r.key, at: r.at, index: r.index, problem: r.problem })

const nonEmpty = (s: string | undefined): s is string => s !== undefined && s.length > 0

/** The dedupe key of a message: the most specific id it carries, else a content fingerprint. */
export const dedupeKey = (msg: WeixinMessage): string => {
  if (nonEmpty(msg.message_id)) return `mid:${msg.message_id}`
  if (nonEmpty(msg.client_id)) return `cid:${msg.client_id}`
  if (msg.seq !== undefined) return `seq:${msg.seq}`
  const hash = createHash("sha256")
  hash.update(JSON.stringify([msg.from_user_id ?? "", msg.create_time_ms ?? 0, msg.item_list ?? []]))
  return `fp:${hash.digest("hex")}`
}

/** A done mark waiting for the next journal write, and the outcome its caller waits for. */
interface QueuedMark {
  readonly key: string
  readonly line: string
  readonly written: Deferred.Deferred<void, InboxStorageError>
}

/** A message of a batch that could not be decoded, as recorded in the journal. */
export interface RecordedRejection {
  /** `mid:<message_id>` when the server's id could be read, else `rej:<cursor>#<index>` */
  readonly key: string
  readonly index: number
  readonly problem: string
  readonly at: number
}

export interface Inbox {
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
   * `rejected` (messages of the batch that did not decode) are recorded in the same durable write, never
   * claimed, so the cursor can move past them without losing track of them. Each newly recorded one is
   * logged as a warning naming the journal; one seen before (same server id) is not recorded twice.
   */
  readonly claim: (
    msgs: ReadonlyArray<WeixinMessage>,
    nextCursor: string | undefined,
    rejected?: ReadonlyArray<RejectedMessage>
  ) => Effect.Effect<ReadonlyArray<ClaimedMessage>, InboxStorageError>
  /**
   * Records that the turn of `key` finished; once it returns, a restart will not dispatch it again.
   * Marks that arrive while the journal is being written are appended together in the next write
   * (one fsync for all of them); a failed write fails every mark it carried and leaves them pending.
   */
  readonly markDone: (key: string) => Effect.Effect<void, InboxStorageError>
  /** number of seen keys currently remembered (tests, status) */
  readonly seenCount: Effect.Effect<number>
  /** rejected messages recorded within the retention window (tests, status) */
  readonly rejections: Effect.Effect<ReadonlyArray<RecordedRejection>>
}


export const makeInbox = Effect.fn("Inbox.make")(function*(options: {
  readonly accountId: string
  readonly store: InboxStore
  readonly limits?: InboxLimits
  /** the journal's file path, named in log lines (default: a description) */
  readonly journalLocation?: string
}) {
  const { accountId, store } = options
  const limits = options.limits ?? defaultInboxLimits
  const retentionMs = Duration.toMillis(seenRetention)
  const journalLocation = options.journalLocation ?? `the "${journalName}" journal of account ${accountId}`
  const storageError = (operation: InboxStorageError["operation"]) => (cause: unknown) =>
    new InboxStorageError({ accountId, operation, detail: describe(cause) })

  // Replay: seen keys with their claim time, and claims still waiting for a done record.
  const seen = new Map<string, number>()
  const pending = new Map<string, ClaimedMessage>()
  // kept through compactions for the retention window, so the operator can still find them
  const rejections = new Map<string, RecordedRejection>()
  const lines = yield* store.readJournal(accountId, journalName).pipe(Effect.mapError(storageError("readJournal")))
  let journalRecords = 0
  let journalBytes = 0
  let skipped = 0
  for (const line of lines) {
    if (line.trim().length === 0) continue
    journalRecords++
    journalBytes += Buffer.byteLength(line) + 1
    const decoded = decodeRecord(line)
    if (Either.isLeft(decoded)) {
      skipped++
      continue
    }
    const record = decoded.right
    switch (record.t) {
      case "claim":
        seen.set(record.key, record.at)
        pending.set(record.key, { key: record.key, peer: record.peer, message: record.msg, claimedAt: record.at })
        break
      case "seen":
        if (!seen.has(record.key)) seen.set(record.key, record.at)
        break
      case "done":
        pending.delete(record.key)
        break
      case "rejected":
        rejections.set(record.key, { key: record.key, index: record.index, problem: record.problem, at: record.at })
        break
    }
  }
  if (skipped > 0) {
    yield* Effect.logWarning(
      `inbox journal: skipped ${skipped} unreadable line(s) (hand edit or interrupted write); ` +
        "the messages they held, if any, may be redelivered by the server and are deduplicated again"
    )
  }
  let cursor = (yield* store.loadCursor(accountId).pipe(Effect.mapError(storageError("loadCursor")))) ?? ""
  // After a compaction the journal may legitimately stay large (24 h of keys); compact again only once
  // it has doubled, so the cost stays amortized.
  let compactAtRecords = limits.maxRecords
  let compactAtBytes = limits.maxBytes

  // Journal writes and the in-memory maps change together; one writer at a time keeps a compaction
  // from dropping a done record appended concurrently.
  const lock = yield* Effect.makeSemaphore(1)
  // One claim at a time, from the journal append to its cursor commit, so the cursor never goes back.
  const cursorLock = yield* Effect.makeSemaphore(1)

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

  const compactIfNeeded = Effect.gen(function*() {
    if (journalRecords <= compactAtRecords && journalBytes <= compactAtBytes) return
    const now = yield* Clock.currentTimeMillis
    forgetExpired(now)
    const out: Array<string> = []
    for (const [key, at] of seen) {
      const claim = pending.get(key)
      out.push(
        claim === undefined
          ? encodeRecord({ t: "seen", key, at })
          : claimLine(claim)
      )
    }
    for (const rejection of rejections.values()) out.push(rejectedLine(rejection))
    yield* store.replaceJournal(accountId, journalName, out).pipe(Effect.mapError(storageError("replaceJournal")))
    const bytes = out.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
    yield* Effect.logDebug(`inbox journal compacted from ${journalRecords} to ${out.length} records`)
    journalRecords = out.length
    journalBytes = bytes
    compactAtRecords = Math.max(limits.maxRecords, 2 * out.length)
    compactAtBytes = Math.max(limits.maxBytes, 2 * bytes)
  })

  const claim = (
    msgs: ReadonlyArray<WeixinMessage>,
    nextCursor: string | undefined,
    rejected: ReadonlyArray<RejectedMessage>
  ) =>
    cursorLock.withPermits(1)(
      Effect.gen(function*() {
        const { fresh, freshRejections } = yield* lock.withPermits(1)(
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            forgetExpired(now)
            const fresh: Array<ClaimedMessage> = []
            const inBatch = new Set<string>()
            for (const message of msgs) {
              const key = dedupeKey(message)
              if (seen.has(key) || inBatch.has(key)) continue
              inBatch.add(key)
              fresh.push({ key, peer: message.from_user_id ?? "", message, claimedAt: now })
            }
            const freshRejections: Array<RecordedRejection> = []
            for (const r of rejected) {
              // without an id there is nothing to dedupe on; the cursor it came with tells batches apart
              const key = nonEmpty(r.message_id) ? `mid:${r.message_id}` : `rej:${cursor}#${r.index}`
              // kept apart from `seen`: should a readable copy of the same message ever arrive, it still runs
              if (rejections.has(key) || freshRejections.some((f) => f.key === key)) continue
              freshRejections.push({ key, index: r.index, problem: r.problem, at: now })
            }
            if (fresh.length > 0 || freshRejections.length > 0) {
              const out = [...fresh.map(claimLine), ...freshRejections.map(rejectedLine)]
              yield* store.appendJournal(accountId, journalName, out).pipe(Effect.mapError(storageError("appendJournal")))
              journalRecords += out.length
              journalBytes += out.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
              for (const c of fresh) {
                seen.set(c.key, now)
                pending.set(c.key, c)
              }
              for (const r of freshRejections) rejections.set(r.key, r)
            }
            yield* compactIfNeeded.pipe(
              Effect.catchAll((e) => Effect.logWarning(`${e.message}; the journal keeps growing until it succeeds`))
            )
            return { fresh, freshRejections }
          })
        )
        // Only now, with the claims durable, may the server forget these messages. The journal is free
        // again meanwhile: done marks need not wait for the cursor's own fsync and rename.
        if (nonEmpty(nextCursor) && nextCursor !== cursor) {
          yield* store.saveCursor(accountId, nextCursor).pipe(Effect.mapError(storageError("saveCursor")))
          cursor = nextCursor
        }
        for (const r of freshRejections) {
          yield* Effect.logWarning(
            `message ${r.key} (position ${r.index} of its batch) could not be understood and was not passed ` +
              `to the agent: ${r.problem}. It is recorded for 24 h in ${journalLocation} (a "rejected" line); ` +
              "polling goes on. If this repeats, report that line to the openclaw-weixin maintainers"
          )
        }
        return fresh as ReadonlyArray<ClaimedMessage>
      })
    )

  // Group commit of done marks: a mark is queued, and whoever gets the journal next appends every mark
  // queued so far in one fsync; marks that arrive while a write runs share the next one. A caller still
  // returns only once its own mark is durable, so a crash can only re-dispatch a turn, never drop one.
  const queuedMarks: Array<QueuedMark> = []
  // key → the outcome of the write carrying its mark, for marks queued or being written
  const marksInFlight = new Map<string, Deferred.Deferred<void, InboxStorageError>>()

  // Uninterruptible from the lock on: once a mark is queued, the write that carries it always completes
  // its waiters, even if the fiber that queued it is interrupted meanwhile.
  const writeQueuedMarks = Effect.uninterruptible(
    lock.withPermits(1)(
      Effect.suspend(() => {
        const batch = queuedMarks.splice(0)
        if (batch.length === 0) return Effect.void
        const lines = batch.map((mark) => mark.line)
        return store.appendJournal(accountId, journalName, lines).pipe(
          Effect.mapError(storageError("appendJournal")),
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.gen(function*() {
              for (const mark of batch) marksInFlight.delete(mark.key)
              if (Exit.isSuccess(exit)) {
                for (const mark of batch) pending.delete(mark.key)
                journalRecords += lines.length
                journalBytes += lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
              }
              // on failure the keys stay pending: a later markDone retries, a restart re-dispatches
              for (const mark of batch) yield* Deferred.done(mark.written, exit)
              if (Exit.isSuccess(exit)) {
                yield* compactIfNeeded.pipe(
                  Effect.catchAll((e) => Effect.logWarning(`${e.message}; the journal keeps growing until it succeeds`))
                )
              }
            })
          )
        )
      })
    )
  )

  const markDone = (key: string) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* Deferred.make<void, InboxStorageError>()
      // queueing and starting the write are one step, so an interruption cannot strand a queued mark
      const written = yield* Effect.uninterruptible(
        Effect.suspend(() => {
          if (!pending.has(key)) return Effect.succeed(undefined)
          const queued = marksInFlight.get(key)
          if (queued !== undefined) return Effect.succeed(queued)
          marksInFlight.set(key, fresh)
          queuedMarks.push({ key, line: encodeRecord({ t: "done", key, at: now }), written: fresh })
          return Effect.as(writeQueuedMarks, fresh)
        })
      )
      if (written !== undefined) yield* Deferred.await(written)
    })

  const inbox: Inbox = {
    journalLocation,
    cursor: Effect.sync(() => cursor),
    unfinished: Array.from(pending.values()),
    claim: (msgs, nextCursor, rejected = []) => claim(msgs, nextCursor, rejected).pipe(Effect.withSpan("Inbox.claim")),
    markDone: (key) => markDone(key).pipe(Effect.withSpan("Inbox.markDone")),
    seenCount: Effect.sync(() => seen.size),
    rejections: Effect.sync(() => Array.from(rejections.values()))
  }
  return inbox
})

const describe = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null && "message" in cause) return String(cause.message)
  return String(cause)
}
