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
 * journal gives the same crash rules as the inbox journal (a torn last line is dropped). Records are
 * appended as they happen and the journal is compacted when it holds twice the live records.
 *
 * Lookups are per peer: a quote can only reach messages of the conversation it was made in. Nothing here
 * ever fails a turn: a disk error is logged and the quote falls back to the placeholder.
 */
import { Clock, Effect, Option, Schema } from "effect"
import type { QuotePolicy } from "../config/QuotePolicy.js"
import { QuoteJournal } from "../state/QuoteJournal.js"
import { InboundMediaStore } from "./InboundMediaStore.js"

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
  readonly record: (entry: Omit<QuoteRecord, "at">) => Effect.Effect<void>
  readonly lookup: (peer: string, id: string) => Effect.Effect<Option.Option<QuotedMessage>>
}

const make = Effect.fn("QuoteStore.make")(function*(accountId: string, policy: QuotePolicy) {
  const journal = yield* QuoteJournal
  const media = yield* InboundMediaStore
  // insertion order is age order: the Map's first entries are the oldest
  const records = new Map<string, QuoteRecord>()
  const keyOf = (peer: string, id: string) => `${peer}\u0000${id}`
  const live: Array<QuoteRecord> = []
  let linesOnDisk = 0

  const index = (record: QuoteRecord) => {
    for (const id of record.ids) records.set(keyOf(record.peer, id), record)
    live.push(record)
  }

  /** Forgets what the policy no longer allows: too old, or too many (oldest first). */
  const prune = (now: number) => {
    let drop = 0
    while (drop < live.length && (now - live[drop]!.at >= policy.retentionMs || live.length - drop > policy.maxMessages)) drop++
    for (const record of live.splice(0, drop)) {
      for (const id of record.ids) {
        if (records.get(keyOf(record.peer, id)) === record) records.delete(keyOf(record.peer, id))
      }
    }
  }

  const compact = Effect.suspend(() => {
    const lines = live.map((record) => JSON.stringify(record))
    return journal.replace(accountId, lines).pipe(
      Effect.tap(() => Effect.sync(() => void (linesOnDisk = lines.length))),
      Effect.catchAll((error) => Effect.logWarning(`the quote store could not be compacted: ${error.message}`))
    )
  })

  if (policy.enabled) {
    const lines = yield* journal.read(accountId).pipe(
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning(`the quote store could not be read; quotes of earlier messages will be unavailable: ${error.message}`), [] as ReadonlyArray<string>))
    )
    let bad = 0
    for (const line of lines) {
      const decoded = decodeLine(line)
      if (Option.isSome(decoded)) index(decoded.value)
      else bad++
    }
    if (bad > 0) yield* Effect.logWarning(`the quote store of ${accountId} had ${bad} unreadable record(s); they are dropped`)
    linesOnDisk = lines.length
    prune(yield* Clock.currentTimeMillis)
    if (linesOnDisk > live.length) yield* compact
  }

  const record = (entry: Omit<QuoteRecord, "at">): Effect.Effect<void> =>
    Effect.gen(function*() {
      if (!policy.enabled || entry.ids.length === 0 || (entry.text === "" && (entry.media ?? []).length === 0)) return
      const at = yield* Clock.currentTimeMillis
      const kept = (entry.media ?? []).filter((item) => item.size <= policy.maxSingleMediaBytes)
      const full: QuoteRecord = { ...entry, at, ...(kept.length === 0 ? {} : { media: kept }) }
      if (kept.length === 0 && "media" in full) delete (full as { media?: unknown }).media
      index(full)
      prune(at)
      yield* journal.append(accountId, [JSON.stringify(full)]).pipe(
        Effect.tap(() => Effect.sync(() => void linesOnDisk++)),
        Effect.catchAll((error) => Effect.logWarning(`a message was not saved for quotes: ${error.message}`))
      )
      if (linesOnDisk > 2 * Math.max(live.length, 50)) yield* compact
    })

  /** Media bytes the newer records already claim, so older media past the budget counts as expired. */
  const withinBudget = (target: QuoteRecord): ReadonlySet<QuoteMedia> => {
    const allowed = new Set<QuoteMedia>()
    let used = 0
    for (let i = live.length - 1; i >= 0; i--) {
      const record = live[i]!
      for (const item of record.media ?? []) {
        used += item.size
        if (used <= policy.maxMediaBytes) allowed.add(item)
      }
      if (record === target) break
    }
    return allowed
  }

  const lookup = (peer: string, id: string): Effect.Effect<Option.Option<QuotedMessage>> =>
    Effect.gen(function*() {
      if (!policy.enabled) return Option.none()
      const now = yield* Clock.currentTimeMillis
      prune(now)
      const found = records.get(keyOf(peer, id))
      if (found === undefined) return Option.none()
      const allowed = withinBudget(found)
      const usable: Array<QuoteMedia> = []
      const expired: Array<QuoteMedia> = []
      for (const item of found.media ?? []) {
        const fresh = now - found.at < policy.mediaRetentionMs && allowed.has(item)
        if (fresh && (yield* media.exists(item.path))) usable.push(item)
        else expired.push(item)
      }
      return Option.some({ direction: found.direction, sender: found.sender, text: found.text, media: usable, expired })
    })

  return { record, lookup } satisfies QuoteStoreService
})

export const QuoteStore = { make }
