/**
 * QuoteStore: what one account remembers of its conversations so that a quote by id only (`ref_msg.svr_id`
 * without `message_item`, PROTOCOL §7.4) can be resolved: every message in and out, with its server ids,
 * sender, text and media paths. Bounded by the account's `quoteCache` policy (PROTOCOL §7.5): records older
 * than the retention or beyond the per-account maximum are forgotten, oldest first; media older than the
 * media retention, larger than the single-file cap or beyond the per-account media budget is no longer
 * re-attached (the quote says it expired).
 *
 * Persisted in our own journal (src/state/QuoteJournal.ts), not in the host's keyed store: it must work in
 * every process and test that runs an account without a gateway, its bounds are per account, and the
 * journal gives the same crash rules as the inbox journal (a torn last line is dropped).
 *
 * A record is in memory (and found by lookups) at once; its line goes to the journal through the account's
 * writer fiber (CoalescingWriter), so a turn never waits for the disk, and the writer gathers a second of
 * records (`QUOTE_WINDOW_MS`) into one append and its one fsync. The journal is compacted (rewritten from memory) when it
 * holds twice the live records, and after a failed append, so a line a failed write lost is written
 * again. Closing the scope `make` runs in writes what is queued; a crash can lose the records of the last
 * second, which only makes a quote of them fall back to the placeholder.
 *
 * Lookups are per peer: a quote can only reach messages of the conversation it was made in. Nothing here
 * ever fails a turn: a disk error is logged and the quote falls back to the placeholder.
 */
import { Clock, Effect, Option, Schema, type Scope } from "effect"
import type { QuotePolicy } from "../config/QuotePolicy.js"
import { QuoteJournal } from "../state/QuoteJournal.js"
import * as CoalescingWriter from "./CoalescingWriter.js"
import { InboundMediaStore, type InboundMediaStoreShape } from "./InboundMediaStore.js"

const QuoteMedia = Schema.Struct({
  path: Schema.String,
  size: Schema.Number,
  contentType: Schema.optionalWith(Schema.String, { exact: true }),
  fileName: Schema.optionalWith(Schema.String, { exact: true }),
  kind: Schema.Literal("image", "voice", "file", "video")
})
export type QuoteMedia = typeof QuoteMedia.Type

const QuoteRecord = Schema.Struct({
  /** the message's server ids: `message_id` and item `msg_id`s */
  ids: Schema.Array(Schema.String),
  /** the peer's lookup key (PeerKey) */
  peer: Schema.String,
  direction: Schema.Literal("in", "out"),
  /** who wrote it: the peer's id, or the bot */
  sender: Schema.String,
  text: Schema.String,
  at: Schema.Number,
  media: Schema.optionalWith(Schema.Array(QuoteMedia), { exact: true })
})
export type QuoteRecord = typeof QuoteRecord.Type

const decodeLine = Schema.decodeUnknownOption(Schema.parseJson(QuoteRecord))

/** A remembered message as a quote sees it: media split into what can still be attached and what expired. */
export interface QuotedMessage {
  readonly direction: "in" | "out"
  readonly sender: string
  readonly text: string
  readonly media: ReadonlyArray<QuoteMedia>
  readonly expired: ReadonlyArray<QuoteMedia>
}

export interface QuoteStoreService {
  /** remembers a message at once; its journal line is written in the background */
  readonly record: (entry: Omit<QuoteRecord, "at">) => Effect.Effect<void>
  readonly lookup: (peer: string, id: string) => Effect.Effect<Option.Option<QuotedMessage>>
  /** completes once every record so far has been written (or its write has failed and been logged) */
  readonly flush: Effect.Effect<void>
}

/** how long the writer gathers records into one append */
export const QUOTE_WINDOW_MS = 1_000

const keyOf = (peer: string, id: string) => `${peer}\u0000${id}`

/**
 * One account's remembered messages. A class, so its steps are methods shared by every account, not
 * closures made for each one (ARCHITECTURE "Light accounts").
 */
class QuoteBook implements QuoteStoreService {
  // insertion order is age order: the Map's first entries are the oldest
  private readonly records = new Map<string, QuoteRecord>()
  private readonly live: Array<QuoteRecord> = []
  private linesOnDisk = 0
  // lines recorded and not yet appended; the writer takes them all at the start of each write
  private queued: Array<string> = []
  // an append failed: the next write rewrites the journal from memory instead of appending
  private rewrite = false

  constructor(
    private readonly accountId: string,
    private readonly policy: QuotePolicy,
    private readonly journal: QuoteJournal,
    private readonly media: InboundMediaStoreShape,
    private readonly writer: CoalescingWriter.CoalescingWriter
  ) {}

  private index(record: QuoteRecord): void {
    for (const id of record.ids) this.records.set(keyOf(record.peer, id), record)
    this.live.push(record)
  }

  /** Forgets what the policy no longer allows: too old, or too many (oldest first). */
  private prune(now: number): void {
    const { live, policy, records } = this
    let drop = 0
    while (drop < live.length && (now - live[drop]!.at >= policy.retentionMs || live.length - drop > policy.maxMessages)) drop++
    for (const record of live.splice(0, drop)) {
      for (const id of record.ids) {
        if (records.get(keyOf(record.peer, id)) === record) records.delete(keyOf(record.peer, id))
      }
    }
  }

  // Rewrites the journal from the live records. Queued lines are dropped in the same synchronous step:
  // their records are live (or pruned), so the rewrite carries them and nothing is written twice.
  private get compact(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const lines = this.live.map((record) => JSON.stringify(record))
      this.queued = []
      this.rewrite = false
      return this.journal.replace(this.accountId, lines).pipe(
        Effect.tap(() => Effect.sync(() => void (this.linesOnDisk = lines.length))),
        Effect.catchAll((error) =>
          Effect.zipRight(
            Effect.sync(() => void (this.rewrite = true)),
            Effect.logWarning(`the quote store could not be compacted; the next record tries again: ${error.message}`)
          ))
      )
    })
  }

  /** One write of the writer fiber: appends what was queued (one fsync), then compacts when due. */
  get write(): Effect.Effect<void> {
    const self = this
    return Effect.gen(function*() {
      if (self.rewrite) return yield* self.compact
      const lines = self.queued
      self.queued = []
      if (lines.length > 0) {
        yield* self.journal.append(self.accountId, lines).pipe(
          Effect.tap(() => Effect.sync(() => void (self.linesOnDisk += lines.length))),
          Effect.catchAll((error) =>
            Effect.zipRight(
              Effect.sync(() => void (self.rewrite = true)),
              Effect.logWarning(`${lines.length} message(s) were not saved for quotes yet; the next record rewrites the store: ${error.message}`)
            ))
        )
      }
      if (self.linesOnDisk > 2 * Math.max(self.live.length, 50)) yield* self.compact
    })
  }

  /** Reads the journal back, forgets what the policy no longer allows, and compacts when that was much. */
  load(): Effect.Effect<void> {
    const self = this
    return Effect.gen(function*() {
      const lines = yield* self.journal.read(self.accountId).pipe(
        Effect.catchAll((error) =>
          Effect.as(Effect.logWarning(`the quote store could not be read; quotes of earlier messages will be unavailable: ${error.message}`), [] as ReadonlyArray<string>))
      )
      let bad = 0
      for (const line of lines) {
        const decoded = decodeLine(line)
        if (Option.isSome(decoded)) self.index(decoded.value)
        else bad++
      }
      if (bad > 0) yield* Effect.logWarning(`the quote store of ${self.accountId} had ${bad} unreadable record(s); they are dropped`)
      self.linesOnDisk = lines.length
      self.prune(yield* Clock.currentTimeMillis)
      if (self.linesOnDisk > self.live.length) yield* self.compact
    })
  }

  record(entry: Omit<QuoteRecord, "at">): Effect.Effect<void> {
    const self = this
    const { policy } = this
    return Effect.gen(function*() {
      if (!policy.enabled || entry.ids.length === 0 || (entry.text === "" && (entry.media ?? []).length === 0)) return
      const at = yield* Clock.currentTimeMillis
      const kept = (entry.media ?? []).filter((item) => item.size <= policy.maxSingleMediaBytes)
      const full: QuoteRecord = { ...entry, at, ...(kept.length === 0 ? {} : { media: kept }) }
      if (kept.length === 0 && "media" in full) delete (full as { media?: unknown }).media
      self.index(full)
      self.prune(at)
      self.queued.push(JSON.stringify(full))
      yield* self.writer.change
    })
  }

  get flush(): Effect.Effect<void> {
    return this.writer.flush
  }

  /** Media bytes the newer records already claim, so older media past the budget counts as expired. */
  private withinBudget(target: QuoteRecord): ReadonlySet<QuoteMedia> {
    const allowed = new Set<QuoteMedia>()
    let used = 0
    for (let i = this.live.length - 1; i >= 0; i--) {
      const record = this.live[i]!
      for (const item of record.media ?? []) {
        used += item.size
        if (used <= this.policy.maxMediaBytes) allowed.add(item)
      }
      if (record === target) break
    }
    return allowed
  }

  lookup(peer: string, id: string): Effect.Effect<Option.Option<QuotedMessage>> {
    const self = this
    const { policy } = this
    return Effect.gen(function*() {
      if (!policy.enabled) return Option.none()
      const now = yield* Clock.currentTimeMillis
      self.prune(now)
      const found = self.records.get(keyOf(peer, id))
      if (found === undefined) return Option.none()
      const allowed = self.withinBudget(found)
      const usable: Array<QuoteMedia> = []
      const expired: Array<QuoteMedia> = []
      for (const item of found.media ?? []) {
        const fresh = now - found.at < policy.mediaRetentionMs && allowed.has(item)
        if (fresh && (yield* self.media.exists(item.path))) usable.push(item)
        else expired.push(item)
      }
      return Option.some({ direction: found.direction, sender: found.sender, text: found.text, media: usable, expired })
    })
  }
}

const make = Effect.fnUntraced(function*(accountId: string, policy: QuotePolicy) {
  // set before anything can wake the writer: only the book's own `record` does
  let book: QuoteBook | undefined
  const writer = yield* CoalescingWriter.make({
    save: Effect.suspend(() => book === undefined ? Effect.void : book.write),
    warning: "the quote store could not be written; check the state directory",
    windowMs: QUOTE_WINDOW_MS
  })
  book = new QuoteBook(accountId, policy, yield* QuoteJournal, yield* InboundMediaStore, writer)
  if (policy.enabled) yield* book.load()
  return book satisfies QuoteStoreService
})

/** `make` remembers one account's messages; its writer lives, and finally flushes, in the caller's scope. */
export const QuoteStore: {
  readonly make: (accountId: string, policy: QuotePolicy) => Effect.Effect<QuoteStoreService, never, Scope.Scope | QuoteJournal | InboundMediaStore>
} = { make }
