/**
 * Typing: shows "typing…" to a peer while its agent turn runs (PROTOCOL §5.6).
 *
 * The typing ticket comes from `getconfig`, cached per peer in a bounded `Cache` (past its capacity the
 * oldest peers are forgotten first), with the time to live chosen from the fetch's Exit: after a success the ticket
 * is kept for a random part of 24 h (so peers do not all refresh at once); after a failure the next fetch
 * waits 2 s, then 4 s, 8 s, … up to 1 h, and the last good ticket is used meanwhile, as the official
 * client does. What the last fetches said (that ticket, the current wait) is kept per peer in a second
 * bounded cache, so an expired entry still knows its history.
 *
 * `duringTurn` never delays or fails the turn: the ticket is fetched in a background fiber, which sends
 * status 1 at once and every 5 s; when the turn ends (success, failure or interruption) the fiber stops
 * and status 2 is sent if a start was. An empty ticket means no typing calls at all.
 */
import { Cache, Clock, Context, Duration, Effect, Equal, Exit, Fiber, Hash, Random, Ref, Schedule, Schema } from "effect"
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

/** A fetched ticket and how long it may be used. */
interface Ticket {
  readonly ticket: string
  readonly lifeMs: number
}

/** getconfig gave no ticket; `fallback` is the last good one, `retryMs` the wait before the next try. */
class TicketUnavailable extends Schema.TaggedError<TicketUnavailable>()("TicketUnavailable", {
  fallback: Schema.String,
  retryMs: Schema.Number
}) {}

/** The cache key: one entry per peer key; the id and the turn's token ride along for the fetch. */
class TicketKey implements Equal.Equal {
  constructor(readonly peer: Peer, readonly contextToken: string | undefined) {}
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof TicketKey && that.peer.key === this.peer.key
  }
  [Hash.symbol](): number {
    return Hash.string(this.peer.key)
  }
}

interface History {
  /** the last good ticket ("" before the first) */
  readonly ticket: string
  /** the wait after the next failure is twice this (capped) */
  readonly retryMs: number
}

interface TicketCacheSettings {
  readonly connection: ILinkConnection
  readonly lifetimeMs: number
  readonly retryInitialMs: number
  readonly retryCapMs: number
  readonly capacity: number
  readonly randomFraction: Effect.Effect<number>
}

/** The peers' typing tickets, fetched with getconfig, kept for as long as the fetch's Exit says. */
const makeTicketCache = (settings: TicketCacheSettings) =>
  Effect.gen(function*() {
    const api = yield* ILinkApi
    const { capacity, connection, lifetimeMs, retryCapMs, retryInitialMs } = settings
    // outlives any ticket entry, so a peer's history is there whenever its entry is due again
    const history = yield* Cache.make({
      capacity,
      timeToLive: Duration.millis(lifetimeMs + retryCapMs),
      lookup: (_: PeerKey) => Ref.make<History>({ ticket: "", retryMs: retryInitialMs / 2 })
    })

    const fetch = (key: TicketKey): Effect.Effect<Ticket, TicketUnavailable> =>
      Effect.gen(function*() {
        const past = yield* history.get(key.peer.key)
        const request: GetConfigRequest = key.contextToken === undefined
          ? { ilink_user_id: key.peer.id }
          : { ilink_user_id: key.peer.id, context_token: key.contextToken }
        const outcome = yield* Effect.either(api.getConfig(connection, request))
        if (outcome._tag === "Right" && (outcome.right.ret ?? 0) === 0) {
          const ticket = outcome.right.typing_ticket ?? ""
          yield* Ref.set(past, { ticket, retryMs: retryInitialMs })
          return { ticket, lifeMs: Math.floor((yield* settings.randomFraction) * lifetimeMs) }
        }
        const why = outcome._tag === "Left" ? outcome.left.message : `getconfig answered ret=${outcome.right.ret}`
        const { retryMs, ticket } = yield* Ref.updateAndGet(past, (h) => ({
          ticket: h.ticket,
          retryMs: Math.min(h.retryMs * 2, retryCapMs)
        }))
        yield* Effect.logDebug(
          `no typing ticket for ${key.peer.id} (${why}); typing stays off for it, next try in ${retryMs} ms`
        )
        return yield* new TicketUnavailable({ fallback: ticket, retryMs })
      })

    // Cache keeps an entry while now <= expiry; one millisecond less makes the fetch due at the time itself
    const dueIn = (ms: number) => Duration.millis(Math.max(0, ms - 1))
    return yield* Cache.makeWith({
      capacity,
      lookup: fetch,
      timeToLive: Exit.match({
        onSuccess: (ticket: Ticket) => dueIn(ticket.lifeMs),
        onFailure: (cause) => dueIn(cause._tag === "Fail" ? cause.error.retryMs : retryInitialMs)
      })
    })
  })

const make = (options: TypingOptions): Effect.Effect<TypingService, never, ILinkApi> =>
  Effect.gen(function*() {
    const api = yield* ILinkApi
    const { connection } = options
    const keepAlive = Duration.decode(options.keepAliveInterval ?? Duration.millis(TYPING_KEEPALIVE_MS))
    // built on the first turn that shows typing: an account nobody writes to holds no cache
    const tickets = yield* Effect.cached(makeTicketCache({
      connection,
      lifetimeMs: Duration.toMillis(options.ticketLifetime ?? Duration.millis(TYPING_TICKET_LIFETIME_MS)),
      retryInitialMs: Duration.toMillis(options.retryInitial ?? Duration.millis(TYPING_RETRY_BASE_MS)),
      retryCapMs: Duration.toMillis(options.retryCap ?? Duration.millis(TYPING_RETRY_CAP_MS)),
      capacity: options.capacity ?? TYPING_TICKET_CAPACITY,
      randomFraction: options.randomFraction ?? Random.next
    }).pipe(Effect.provideService(ILinkApi, api)))

    const ticketFor = (peer: Peer, contextToken: string | undefined): Effect.Effect<string> =>
      Effect.flatMap(tickets, (cache) => cache.get(new TicketKey(peer, contextToken))).pipe(
        Effect.map((ticket) => ticket.ticket),
        Effect.catchTag("TicketUnavailable", (unavailable) => Effect.succeed(unavailable.fallback))
      )

    const sendStatus = (peer: Peer, ticket: string, status: 1 | 2) =>
      api.sendTyping(connection, { ilink_user_id: peer.id, typing_ticket: ticket, status }).pipe(
        Effect.catchAll((error) => Effect.logDebug(`typing status ${status} for ${peer.id} failed: ${error.message}`))
      )

    const duringTurn = <A, E, R>(
      peer: Peer,
      contextToken: string | undefined,
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
        // set once the indicator has been started, so the end knows whether to cancel it
        let startedWith: string | undefined
        const indicator = Effect.gen(function*() {
          const ticket = yield* ticketFor(peer, contextToken)
          if (ticket === "") return
          startedWith = ticket
          yield* Effect.repeat(sendStatus(peer, ticket, 1), Schedule.spaced(keepAlive))
        })
        const stop = (fiber: Fiber.RuntimeFiber<unknown>) =>
          Effect.flatMap(Fiber.interrupt(fiber), () =>
            startedWith === undefined ? Effect.void : sendStatus(peer, startedWith, 2)
          )
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(Effect.fork(Effect.interruptible(indicator)), (fiber) =>
            restore(effect).pipe(Effect.ensuring(stop(fiber)))
          )
        )
      }).pipe(Effect.annotateLogs({ accountId: options.accountId }))

    return { ticketFor, duringTurn, cachedPeers: Effect.flatMap(tickets, (cache) => cache.size) }
  })

/** Typing of one account; built by the AccountActor. */
export class Typing extends Context.Tag("openclaw-weixin/Typing")<Typing, TypingService>() {
  static make = make
}
