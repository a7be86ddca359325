/**
 * ContextTokens: per (account, peer) the latest `context_token` (ILINK §4), when the peer last wrote and
 * how many replies went out since. The Outbox reads it to refuse sends WeChat would reject anyway.
 *
 * Persistence: the tokens go to the official `<id>.context-tokens.json` (user id exactly as the server
 * sent it → token), so a switch back to the official plugin keeps working; `lastInboundAt` and
 * `repliesSince` go to a file of our own. Writes run in the background so a turn never waits for the
 * disk, but the Outbox awaits `tokenOnDisk(peer)` before each send: a token is on disk before any reply that
 * uses it goes out (a crash after the reply still finds it; a crash before it re-runs the claimed turn).
 */
import { Context, Effect, Either, Option, Schema, Scope } from "effect"
import { type NormalizedPeerId, normalizePeerId } from "../domain/PeerId.js"

/** The normalised peer, or undefined when the raw id names nobody (see domain/PeerId). */
export const normalizePeer = (raw: string): NormalizedPeerId | undefined => Either.getOrUndefined(normalizePeerId(raw))

/** What the Outbox needs to know about a peer before it sends. */
export interface PeerContext {
  /** the user id exactly as the server sent it (original case); sends go to this id */
  readonly userId: string
  readonly token: string
  /** epoch ms of the peer's last inbound message; unknown for tokens restored from the official file */
  readonly lastInboundAt: number | undefined
  readonly repliesSince: number
}

/** Our own per-peer fields, stored next to the official token file. */
export const PeerActivity = Schema.Struct({
  lastInboundAt: Schema.optional(Schema.Number),
  repliesSince: Schema.Number
})
export type PeerActivity = typeof PeerActivity.Type

export const ContextActivityFile = Schema.Struct({
  version: Schema.Literal(1),
  peers: Schema.Record({ key: Schema.String, value: PeerActivity })
})
export type ContextActivityFile = typeof ContextActivityFile.Type

/** Name of our own file (passed to StateStore.readOwnJson/writeOwnJson). */
export const contextActivityFileName = "context-activity"

/**
 * Where ContextTokens keeps its two files. `fromStateStore` adapts the StateStore; tests use
 * `ContextTokenStorage.memory`.
 */
export interface ContextTokenStorage {
  readonly loadTokens: Effect.Effect<Readonly<Record<string, unknown>>, unknown>
  readonly saveTokens: (tokens: Readonly<Record<string, string>>) => Effect.Effect<void, unknown>
  readonly loadActivity: Effect.Effect<ContextActivityFile | undefined, unknown>
  readonly saveActivity: (activity: ContextActivityFile) => Effect.Effect<void, unknown>
}

/** The StateStore methods ContextTokens uses; `StateStore` satisfies this structurally. */
export interface ContextTokenStateStore {
  readonly loadContextTokens: (accountId: string) => Effect.Effect<Readonly<Record<string, string>>, unknown>
  readonly saveContextTokens: (
    accountId: string,
    tokens: Readonly<Record<string, string>>
  ) => Effect.Effect<void, unknown>
  readonly readOwnJson: <A, I>(
    accountId: string,
    name: string,
    schema: Schema.Schema<A, I>
  ) => Effect.Effect<Option.Option<A>, unknown>
  readonly writeOwnJson: <A, I>(
    accountId: string,
    name: string,
    value: A,
    schema: Schema.Schema<A, I>
  ) => Effect.Effect<void, unknown>
}

export const contextTokenStorageFromStateStore = (
  store: ContextTokenStateStore,
  accountId: string
): ContextTokenStorage => ({
  loadTokens: store.loadContextTokens(accountId),
  saveTokens: (tokens) => store.saveContextTokens(accountId, tokens),
  loadActivity: store.readOwnJson(accountId, contextActivityFileName, ContextActivityFile).pipe(
    Effect.map(Option.getOrUndefined)
  ),
  saveActivity: (activity) => store.writeOwnJson(accountId, contextActivityFileName, activity, ContextActivityFile)
})

export interface MemoryContextTokenStorage extends ContextTokenStorage {
  /** what is "on disk" right now (tests assert persistence order with it) */
  readonly tokensOnDisk: () => Readonly<Record<string, string>>
  readonly activityOnDisk: () => ContextActivityFile | undefined
}

export const memoryContextTokenStorage = (
  initialTokens: Readonly<Record<string, unknown>> = {},
  initialActivity?: ContextActivityFile
): MemoryContextTokenStorage => {
  let tokens: Record<string, unknown> = { ...initialTokens }
  let activity = initialActivity
  return {
    loadTokens: Effect.sync(() => ({ ...tokens })),
    saveTokens: (next) => Effect.sync(() => void (tokens = { ...next })),
    loadActivity: Effect.sync(() => activity),
    saveActivity: (next) => Effect.sync(() => void (activity = next)),
    tokensOnDisk: () => tokens as Record<string, string>,
    activityOnDisk: () => activity
  }
}

export interface ContextTokensService {
  /** a peer wrote with this token (call on every inbound message that carries one); written in the background */
  readonly remember: (peer: string, token: string, at: number) => Effect.Effect<void>
  /** a reply to the peer went out (delivered, unconfirmed, or may have arrived); written in the background */
  readonly noteReply: (peer: string) => Effect.Effect<void>
  /** the server refused the token (ret=-2): no more sends until the peer writes again */
  readonly noteRejected: (peer: string, budget: number) => Effect.Effect<void>
  readonly lookup: (peer: string) => Effect.Effect<Option.Option<PeerContext>>
  /** completes once the peer's current token is on disk (the Outbox waits for it before sending) */
  readonly tokenOnDisk: (peer: string) => Effect.Effect<void>
  /** completes once every change so far (tokens and activity) is on disk */
  readonly flush: Effect.Effect<void>
}

interface Entry {
  userId: string
  token: string
  lastInboundAt: number | undefined
  repliesSince: number
  /** the token-file change that carries this token (0: restored from disk) */
  tokenChange: number
}

export class ContextTokens extends Context.Tag("openclaw-weixin/ContextTokens")<
  ContextTokens,
  ContextTokensService
>() {
  /** Restores both files, then serves from memory and writes through on every change. */
  static make = (
    options: { readonly accountId: string; readonly storage: ContextTokenStorage }
  ): Effect.Effect<ContextTokensService, never, Scope.Scope> =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const { accountId, storage } = options
      const entries = new Map<string, Entry>()

      const rawTokens = yield* storage.loadTokens.pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning(
            "could not read the context-token file; peers must write again before the bot can reply to them",
            cause
          ).pipe(Effect.as({} as Readonly<Record<string, unknown>>))
        )
      )
      const activity = yield* storage.loadActivity.pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("could not read the context-activity file; reply windows start unknown", cause).pipe(
            Effect.as(undefined)
          )
        )
      )
      for (const [userId, token] of Object.entries(rawTokens)) {
        const peer = normalizePeer(userId)
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

      // Whole-file rewrites, one writer per file, each from the state at the moment it runs. Changes are
      // numbered; a write covers every change made before it started, so concurrent turns share writes,
      // and `ensure(n)` completes once change n is on disk (writing only if nobody has covered it yet).
      const coalescedWriter = (save: Effect.Effect<void, unknown>, warning: string) => {
        let changed = 0
        let written = 0
        const lock = Effect.unsafeMakeSemaphore(1)
        const ensure = (change: number): Effect.Effect<void> =>
          Effect.suspend(() =>
            // already on disk: no need to queue behind another peer's write (the sender fiber waits here)
            written >= change ? Effect.void : lock.withPermits(1)(
              Effect.suspend(() => {
                if (written >= change) return Effect.void
                const covers = changed
                return Effect.tap(save, () => void (written = Math.max(written, covers)))
              })
            )
          ).pipe(Effect.catchAllCause((cause) => Effect.logWarning(warning, cause)))
        return {
          /** records a change, starts writing it in the background, and returns its number */
          later: Effect.suspend(() => {
            const change = ++changed
            return Effect.as(Effect.forkIn(ensure(change), scope), change)
          }),
          ensure,
          /** completes once every change recorded so far is on disk */
          flush: Effect.suspend(() => ensure(changed))
        }
      }
      const tokenWriter = coalescedWriter(
        Effect.suspend(() => storage.saveTokens(tokenSnapshot())),
        "could not save the context-token file; replies still work until restart; check the state directory"
      )
      const activityWriter = coalescedWriter(
        Effect.suspend(() => storage.saveActivity(activitySnapshot())),
        "could not save the context-activity file; reply windows and budgets restart after a crash"
      )
      const tokenSnapshot = (): Record<string, string> => {
        const out: Record<string, string> = {}
        for (const entry of entries.values()) out[entry.userId] = entry.token
        return out
      }
      const activitySnapshot = (): ContextActivityFile => {
        const peers: Record<string, PeerActivity> = {}
        for (const entry of entries.values()) {
          peers[entry.userId] =
            entry.lastInboundAt === undefined
              ? { repliesSince: entry.repliesSince }
              : { lastInboundAt: entry.lastInboundAt, repliesSince: entry.repliesSince }
        }
        return { version: 1, peers }
      }

      const flush = Effect.all([tokenWriter.flush, activityWriter.flush], { concurrency: "unbounded", discard: true })
      yield* Effect.addFinalizer(() => flush)

      const remember = Effect.fn("ContextTokens.remember")(function* (peer: string, token: string, at: number) {
        const normalized = normalizePeer(peer)
        if (normalized === undefined || token === "") {
          return yield* Effect.logWarning(
            `inbound message from "${peer}" has no usable peer id or context token; nothing remembered (the bot cannot reply until the peer writes again)`
          )
        }
        const previous = entries.get(normalized.key)
        // keep the id exactly as the server sent it: a re-cased id is rejected with ret=-3 (ILINK App. C)
        const entry: Entry = { userId: normalized.id, token, lastInboundAt: at, repliesSince: 0, tokenChange: 0 }
        entries.set(normalized.key, entry)
        entry.tokenChange = previous?.token !== token || previous.userId !== normalized.id
          ? yield* tokenWriter.later
          : previous.tokenChange
        yield* activityWriter.later
      })

      const noteReply = Effect.fn("ContextTokens.noteReply")(function* (peer: string) {
        const entry = entryOf(peer)
        if (entry === undefined) return
        entry.repliesSince += 1
        yield* activityWriter.later
      })

      const noteRejected = Effect.fn("ContextTokens.noteRejected")(function* (peer: string, budget: number) {
        const entry = entryOf(peer)
        if (entry === undefined) return
        entry.repliesSince = Math.max(entry.repliesSince, budget)
        yield* activityWriter.later
      })

      const entryOf = (peer: string): Entry | undefined => {
        const normalized = normalizePeer(peer)
        return normalized === undefined ? undefined : entries.get(normalized.key)
      }

      const lookup = (peer: string): Effect.Effect<Option.Option<PeerContext>> =>
        Effect.sync(() =>
          Option.map(Option.fromNullable(entryOf(peer)), (entry) => ({
            userId: entry.userId,
            token: entry.token,
            lastInboundAt: entry.lastInboundAt,
            repliesSince: entry.repliesSince
          }))
        )

      const tokenOnDisk = (peer: string): Effect.Effect<void> =>
        Effect.suspend(() => tokenWriter.ensure(entryOf(peer)?.tokenChange ?? 0))

      yield* Effect.logDebug(`restored ${entries.size} context tokens`).pipe(Effect.annotateLogs({ accountId }))
      return ContextTokens.of({ remember, noteReply, noteRejected, lookup, tokenOnDisk, flush })
    })
}
