/**
 * ContextTokens: per (account, peer) the latest `context_token` (PROTOCOL §4), when the peer last wrote and
 * how many replies went out since. The Outbox reads it to refuse sends WeChat would reject anyway.
 *
 * Persistence (ContextTokenStore): the tokens go to the official token file (user id exactly as the
 * server sent it → token), so a switch back to the official plugin keeps working; `lastInboundAt` and
 * `repliesSince` go to a file of our own. Each file has one writer fiber (CoalescingWriter) that rewrites
 * it whole, so a turn never waits for the disk; but the Outbox awaits `tokenOnDisk(peer)` before each
 * send: a token is on disk before any reply that uses it goes out (a crash after the reply still finds
 * it; a crash before it re-runs the claimed turn). Nobody waits for the activity file, so its writer
 * gathers a second of changes into one write (`ACTIVITY_WINDOW_MS`): a crash may lose that second, and
 * the peers' reply windows and budgets then restart from slightly older counts.
 *
 * The writers live in the scope `make` runs in, and closing it flushes both: the actor builds ContextTokens
 * in its own scope before the Outbox, so the last reply counts are written after the Outbox has stopped.
 *
 * Peers arrive normalised (`Peer`, made once at the Inbox or the outbound adapter); only the ids read
 * back from the token file are normalised here.
 */
import { Context, Effect, Either, Layer, Option, type Scope } from "effect"
import { normalizePeerId, type Peer, type PeerKey } from "../domain/PeerId.js"
import { ContextTokenStore } from "../state/ContextTokenStore.js"
import type { ContextActivityFile, PeerActivity } from "../state/StoredFiles.js"
import * as CoalescingWriter from "./CoalescingWriter.js"

/** What the Outbox needs to know about a peer before it sends. */
export interface PeerContext {
  /** the user id exactly as the server sent it (original case); sends go to this id */
  readonly userId: string
  readonly token: string
  /** epoch ms of the peer's last inbound message; unknown for tokens restored from the official file */
  readonly lastInboundAt: number | undefined
  readonly repliesSince: number
}

export interface ContextTokensService {
  /** a peer wrote with this token (call on every inbound message that carries one); written in the background */
  readonly remember: (peer: Peer, token: string, at: number) => Effect.Effect<void>
  /** a reply to the peer went out (delivered, unconfirmed, or may have arrived); written in the background */
  readonly noteReply: (peer: Peer) => Effect.Effect<void>
  /** the server refused the token (ret=-2): no more sends until the peer writes again */
  readonly noteRejected: (peer: Peer, budget: number) => Effect.Effect<void>
  readonly lookup: (peer: Peer) => Effect.Effect<Option.Option<PeerContext>>
  /** completes once the peer's current token is on disk (at once if it already is) */
  readonly tokenOnDisk: (peer: Peer) => Effect.Effect<void>
  /** completes once every change so far (tokens and activity) is on disk */
  readonly flush: Effect.Effect<void>
}

/** how long the activity writer gathers changes into one write (a burst of messages costs one write a second) */
export const ACTIVITY_WINDOW_MS = 1_000

interface Entry {
  userId: string
  token: string
  lastInboundAt: number | undefined
  repliesSince: number
  /** the token-file change that carries this token (0: restored from disk) */
  tokenChange: number
}

const make = (options: { readonly accountId: string }) =>
  Effect.gen(function*() {
    const { accountId } = options
    const store = yield* ContextTokenStore
    const entries = new Map<PeerKey, Entry>()

    const rawTokens = yield* store.loadTokens(accountId).pipe(
      Effect.catchAllCause((cause) =>
        Effect.logWarning(
          "could not read the context-token file; peers must write again before the bot can reply to them",
          cause
        ).pipe(Effect.as({} as Readonly<Record<string, string>>))
      )
    )
    const activity = yield* store.loadActivity(accountId).pipe(
      Effect.map(Option.getOrUndefined),
      Effect.catchAllCause((cause) =>
        Effect.logWarning("could not read the context-activity file; reply windows start unknown", cause).pipe(
          Effect.as(undefined)
        )
      )
    )
    for (const [userId, token] of Object.entries(rawTokens)) {
      const peer = Either.getOrUndefined(normalizePeerId(userId))
      if (typeof token !== "string" || token === "" || peer === undefined) {
        yield* Effect.logWarning(`ignoring an unusable entry for "${userId}" in the context-token file`)
        continue
      }
      const seen = activity?.peers[userId]
      entries.set(peer.key, {
        userId,
        token,
        lastInboundAt: seen?.lastInboundAt,
        repliesSince: seen?.repliesSince ?? 0,
        tokenChange: 0
      })
    }

    const tokenWriter = yield* CoalescingWriter.make({
      save: Effect.suspend(() => store.saveTokens(accountId, tokenSnapshot(entries))),
      warning: "could not save the context-token file; replies still work until restart; check the state directory"
    })
    const activityWriter = yield* CoalescingWriter.make({
      save: Effect.suspend(() => store.saveActivity(accountId, activitySnapshot(entries))),
      warning: "could not save the context-activity file; reply windows and budgets restart after a crash",
      windowMs: ACTIVITY_WINDOW_MS
    })

    yield* Effect.logDebug(`restored ${entries.size} context tokens`).pipe(Effect.annotateLogs({ accountId }))
    return ContextTokens.of(new PeerTable(entries, tokenWriter, activityWriter))
  })

const tokenSnapshot = (entries: ReadonlyMap<PeerKey, Entry>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const entry of entries.values()) out[entry.userId] = entry.token
  return out
}

const activitySnapshot = (entries: ReadonlyMap<PeerKey, Entry>): ContextActivityFile => {
  const peers: Record<string, PeerActivity> = {}
  for (const entry of entries.values()) {
    peers[entry.userId] = entry.lastInboundAt === undefined
      ? { repliesSince: entry.repliesSince }
      : { lastInboundAt: entry.lastInboundAt, repliesSince: entry.repliesSince }
  }
  return { version: 1, peers }
}

const remember = Effect.fnUntraced(function*(table: PeerTable, peer: Peer, token: string, at: number) {
  if (token === "") {
    return yield* Effect.logWarning(
      `inbound message from "${peer.id}" has no context token; nothing remembered (the bot cannot reply until the peer writes again)`
    )
  }
  const previous = table.entries.get(peer.key)
  // keep the id exactly as the server sent it: a re-cased id is rejected with ret=-3 (PROTOCOL App. C)
  const entry: Entry = { userId: peer.id, token, lastInboundAt: at, repliesSince: 0, tokenChange: 0 }
  table.entries.set(peer.key, entry)
  entry.tokenChange = previous?.token !== token || previous.userId !== peer.id
    ? yield* table.tokenWriter.change
    : previous.tokenChange
  yield* table.activityWriter.change
})

const noteReply = Effect.fnUntraced(function*(table: PeerTable, peer: Peer) {
  const entry = table.entries.get(peer.key)
  if (entry === undefined) return
  entry.repliesSince += 1
  yield* table.activityWriter.change
})

const noteRejected = Effect.fnUntraced(function*(table: PeerTable, peer: Peer, budget: number) {
  const entry = table.entries.get(peer.key)
  if (entry === undefined) return
  entry.repliesSince = Math.max(entry.repliesSince, budget)
  yield* table.activityWriter.change
})

/**
 * One account's table and its two writers. A class, so the service's methods are shared by every
 * account, not closures made for each one (ARCHITECTURE "Light accounts").
 */
class PeerTable implements ContextTokensService {
  constructor(
    readonly entries: Map<PeerKey, Entry>,
    readonly tokenWriter: CoalescingWriter.CoalescingWriter,
    readonly activityWriter: CoalescingWriter.CoalescingWriter
  ) {}

  remember(peer: Peer, token: string, at: number): Effect.Effect<void> {
    return remember(this, peer, token, at)
  }

  noteReply(peer: Peer): Effect.Effect<void> {
    return noteReply(this, peer)
  }

  noteRejected(peer: Peer, budget: number): Effect.Effect<void> {
    return noteRejected(this, peer, budget)
  }

  lookup(peer: Peer): Effect.Effect<Option.Option<PeerContext>> {
    return Effect.sync(() =>
      Option.map(Option.fromNullable(this.entries.get(peer.key)), (entry) => ({
        userId: entry.userId,
        token: entry.token,
        lastInboundAt: entry.lastInboundAt,
        repliesSince: entry.repliesSince
      }))
    )
  }

  tokenOnDisk(peer: Peer): Effect.Effect<void> {
    return Effect.suspend(() => this.tokenWriter.settled(this.entries.get(peer.key)?.tokenChange ?? 0))
  }

  get flush(): Effect.Effect<void> {
    return Effect.all([this.tokenWriter.flush, this.activityWriter.flush], { concurrency: "unbounded", discard: true })
  }
}

export class ContextTokens extends Context.Tag("openclaw-weixin/ContextTokens")<
  ContextTokens,
  ContextTokensService
>() {
  /** Restores both files, then serves from memory; its writers live (and finally flush) in the caller's scope. */
  static readonly make: (
    options: { readonly accountId: string }
  ) => Effect.Effect<ContextTokensService, never, Scope.Scope | ContextTokenStore> = make
  static readonly layer = (options: { readonly accountId: string }): Layer.Layer<ContextTokens, never, ContextTokenStore> =>
    Layer.scoped(ContextTokens, make(options))
}
