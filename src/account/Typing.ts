/**
 * Typing: shows "typing…" to a peer while its agent turn runs (PROTOCOL §5.6).
 *
 * The typing ticket comes from `getconfig`, kept per peer in a bounded map (past its capacity the peers
 * least recently asked for are forgotten first), for as long as the fetch's outcome says: after a success
 * the ticket is kept for a random part of 24 h (so peers do not all refresh at once); after a failure
 * the next fetch waits 2 s, then 4 s, 8 s, … up to 1 h, and the last good ticket is used meanwhile, as
 * the official client does. Callers for a peer whose fetch is in flight wait for that fetch.
 *
 * `duringTurn` never delays or fails the turn: the ticket is fetched in a background fiber, which sends
 * status 1 at once and every 5 s; when the turn ends (success, failure or interruption) the fiber stops
 * and status 2 is sent if a start was. An empty ticket means no typing calls at all.
 */
import { Clock, Context, Deferred, Duration, Effect, Fiber, Random, Schedule } from "effect"
import {
  TYPING_KEEPALIVE_MS,
  TYPING_RETRY_BASE_MS,
  TYPING_RETRY_CAP_MS,
  TYPING_TICKET_CAPACITY,
  TYPING_TICKET_LIFETIME_MS
} from "../config/Defaults.js"
import type { Peer, PeerKey } from "../domain/PeerId.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import type { ILinkConnection } from "../ilink/ILinkConnection.js"
import type { GetConfigRequest } from "../wire/Api.js"

export interface TypingOptions {
  readonly accountId: string
  readonly connection: ILinkConnection
  /** how often status 1 is repeated while a turn runs (default 5 s) */
  readonly keepAliveInterval?: Duration.DurationInput
  /** upper bound of a good ticket's life; the actual life is a random part of it (default 24 h) */
  readonly ticketLifetime?: Duration.DurationInput
  /** first wait after a failed fetch (default 2 s); doubles per failure */
  readonly retryInitial?: Duration.DurationInput
  /** longest wait between failed fetches (default 1 h) */
  readonly retryCap?: Duration.DurationInput
  /** peers whose ticket is remembered (default 1 000); past it the oldest are forgotten */
  readonly capacity?: number
  /** a number in [0, 1) choosing the ticket life (default `Random.next`) */
  readonly randomFraction?: Effect.Effect<number>
}

export interface TypingService {
  /** the peer's typing ticket, "" when there is none; fetched only when the cached entry is due */
  readonly ticketFor: (peer: Peer, contextToken: string | undefined) => Effect.Effect<string>
  /** runs `effect` with the typing indicator shown to `peer` */
  readonly duringTurn: <A, E, R>(
    peer: Peer,
    contextToken: string | undefined,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
  /** peers with a cached ticket right now (never more than the capacity) */
  readonly cachedPeers: Effect.Effect<number>
}

/** What a peer's last fetches said, and until when their ticket may be used. */
interface PeerTicket {
  /** the last good ticket ("" before the first) */
  ticket: string
  /** the wait after the next failure is twice this (capped) */
  retryMs: number
  /** the ticket may be used while now <= this; past it the next turn fetches again */
  usableUntil: number
  /** past this the history is forgotten, as if the peer were new (it outlives any ticket) */
  forgetAt: number
  /** the fetch in flight, which every caller for the peer meanwhile waits for */
  fetching: Deferred.Deferred<string> | undefined
}

interface TicketStoreSettings {
  readonly connection: ILinkConnection
  readonly lifetimeMs: number
  readonly retryInitialMs: number
  readonly retryCapMs: number
  readonly capacity: number
  readonly randomFraction: Effect.Effect<number>
}

// an entry is usable while now <= usableUntil; one millisecond less makes the fetch due at the time itself
const usableFor = (ms: number) => Math.max(0, ms - 1)

/**
 * The peers' typing tickets, fetched with getconfig. One plain map, in the order the peers were last
 * asked for (past its capacity the least recent is forgotten), instead of an Effect `Cache` for the
 * tickets and another for their history: that pair held several kB per account for one peer. A class,
 * so its steps are methods shared by every account (ARCHITECTURE "Light accounts").
 */
class TicketStore {
  private readonly peers = new Map<PeerKey, PeerTicket>()

  constructor(private readonly api: ILinkApi, private readonly settings: TicketStoreSettings) {}

  get size(): Effect.Effect<number> {
    return Effect.sync(() => this.peers.size)
  }

  private fetch(peer: Peer, contextToken: string | undefined, entry: PeerTicket): Effect.Effect<string> {
    const { api, settings } = this
    const { connection, lifetimeMs, retryCapMs, retryInitialMs } = settings
    return Effect.gen(function*() {
      const request: GetConfigRequest = contextToken === undefined
        ? { ilink_user_id: peer.id }
        : { ilink_user_id: peer.id, context_token: contextToken }
      const outcome = yield* Effect.either(api.getConfig(connection, request))
      const now = yield* Clock.currentTimeMillis
      entry.forgetAt = now + lifetimeMs + retryCapMs
      if (outcome._tag === "Right" && (outcome.right.ret ?? 0) === 0) {
        entry.ticket = outcome.right.typing_ticket ?? ""
        entry.retryMs = retryInitialMs
        entry.usableUntil = now + usableFor(Math.floor((yield* settings.randomFraction) * lifetimeMs))
        return entry.ticket
      }
      const why = outcome._tag === "Left" ? outcome.left.message : `getconfig answered ret=${outcome.right.ret}`
      entry.retryMs = Math.min(entry.retryMs * 2, retryCapMs)
      entry.usableUntil = now + usableFor(entry.retryMs)
      yield* Effect.logDebug(
        `no typing ticket for ${peer.id} (${why}); typing stays off for it, next try in ${entry.retryMs} ms`
      )
      // the last good ticket is used meanwhile, as the official client does
      return entry.ticket
    })
  }

  ticketFor(peer: Peer, contextToken: string | undefined): Effect.Effect<string> {
    const { peers } = this
    const { capacity, retryInitialMs } = this.settings
    const self = this
    return Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const known = peers.get(peer.key)
      const entry: PeerTicket = known !== undefined && (known.fetching !== undefined || now <= known.forgetAt)
        ? known
        : { ticket: "", retryMs: retryInitialMs / 2, usableUntil: -Infinity, forgetAt: Infinity, fetching: undefined }
      // most recently asked for last; past the capacity the least recent goes
      peers.delete(peer.key)
      peers.set(peer.key, entry)
      for (const oldest of peers.keys()) {
        if (peers.size <= capacity) break
        peers.delete(oldest)
      }
      if (entry.fetching !== undefined) return yield* Deferred.await(entry.fetching)
      if (now <= entry.usableUntil) return entry.ticket
      const fetching = yield* Deferred.make<string>()
      entry.fetching = fetching
      return yield* self.fetch(peer, contextToken, entry).pipe(
        Effect.onExit((exit) => Effect.zipRight(Effect.sync(() => void (entry.fetching = undefined)), Deferred.done(fetching, exit)))
      )
    })
  }
}

/** One account's typing indicator; a class for the same reason as {@link TicketStore}. */
class TypingIndicator implements TypingService {
  constructor(
    private readonly api: ILinkApi,
    private readonly connection: ILinkConnection,
    private readonly accountId: string,
    private readonly keepAlive: Duration.Duration,
    private readonly tickets: TicketStore
  ) {}

  ticketFor(peer: Peer, contextToken: string | undefined): Effect.Effect<string> {
    return this.tickets.ticketFor(peer, contextToken)
  }

  get cachedPeers(): Effect.Effect<number> {
    return this.tickets.size
  }

  private sendStatus(peer: Peer, ticket: string, status: 1 | 2): Effect.Effect<void> {
    return this.api.sendTyping(this.connection, { ilink_user_id: peer.id, typing_ticket: ticket, status }).pipe(
      Effect.catchAll((error) => Effect.logDebug(`typing status ${status} for ${peer.id} failed: ${error.message}`))
    )
  }

  duringTurn<A, E, R>(peer: Peer, contextToken: string | undefined, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const self = this
    return Effect.suspend(() => {
      // set once the indicator has been started, so the end knows whether to cancel it
      let startedWith: string | undefined
      const indicator = Effect.gen(function*() {
        const ticket = yield* self.ticketFor(peer, contextToken)
        if (ticket === "") return
        startedWith = ticket
        yield* Effect.repeat(self.sendStatus(peer, ticket, 1), Schedule.spaced(self.keepAlive))
      })
      const stop = (fiber: Fiber.RuntimeFiber<unknown>) =>
        Effect.flatMap(Fiber.interrupt(fiber), () =>
          startedWith === undefined ? Effect.void : self.sendStatus(peer, startedWith, 2)
        )
      return Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Effect.fork(Effect.interruptible(indicator)), (fiber) =>
          restore(effect).pipe(Effect.ensuring(stop(fiber)))
        )
      )
    }).pipe(Effect.annotateLogs({ accountId: this.accountId }))
  }
}

const make = (options: TypingOptions): Effect.Effect<TypingService, never, ILinkApi> =>
  Effect.map(ILinkApi, (api) => {
    const tickets = new TicketStore(api, {
      connection: options.connection,
      lifetimeMs: Duration.toMillis(options.ticketLifetime ?? Duration.millis(TYPING_TICKET_LIFETIME_MS)),
      retryInitialMs: Duration.toMillis(options.retryInitial ?? Duration.millis(TYPING_RETRY_BASE_MS)),
      retryCapMs: Duration.toMillis(options.retryCap ?? Duration.millis(TYPING_RETRY_CAP_MS)),
      capacity: Math.max(1, options.capacity ?? TYPING_TICKET_CAPACITY),
      randomFraction: options.randomFraction ?? Random.next
    })
    const keepAlive = Duration.decode(options.keepAliveInterval ?? Duration.millis(TYPING_KEEPALIVE_MS))
    return new TypingIndicator(api, options.connection, options.accountId, keepAlive, tickets)
  })

/** Typing of one account; built by the AccountActor. */
export class Typing extends Context.Tag("openclaw-weixin/Typing")<Typing, TypingService>() {
  static make = make
}
