/**
 * Typing: shows "typing…" to a peer while its agent turn runs (ILINK §5.6).
 *
 * The typing ticket comes from `getconfig`, cached per peer like the official plugin does: after a
 * success it is kept for a random part of 24 h (so peers do not all refresh at once); after a failure
 * the last good ticket is kept and the next fetch waits 2 s, then 4 s, 8 s, … up to 1 h.
 *
 * `duringTurn` never delays or fails the turn: the ticket is fetched in a background fiber, which sends
 * status 1 at once and every 5 s; when the turn ends (success, failure or interruption) the fiber stops
 * and status 2 is sent if a start was. An empty ticket means no typing calls at all.
 */
import { Clock, Duration, Effect, Either, Fiber, Random, Schedule, SynchronizedRef } from "effect"
import type { GetConfigRequest, GetConfigResponse, SendTypingRequest } from "../wire/Api.js"
import type { ILinkError } from "../wire/ILinkError.js"
import { normalizePeerId } from "../domain/PeerId.js"

/** The iLink calls Typing makes; `ILinkApi` satisfies it (the connection type is left open). */
export interface TypingApi<Conn> {
  readonly getConfig: (conn: Conn, request: GetConfigRequest) => Effect.Effect<GetConfigResponse, ILinkError>
  readonly sendTyping: (conn: Conn, request: SendTypingRequest) => Effect.Effect<void, ILinkError>
}

export interface TypingOptions<Conn> {
  readonly accountId: string
  readonly connection: Effect.Effect<Conn>
  readonly api: TypingApi<Conn>
  /** how often status 1 is repeated while a turn runs (default 5 s) */
  readonly keepAliveInterval?: Duration.DurationInput
  /** upper bound of a good ticket's life; the actual life is a random part of it (default 24 h) */
  readonly ticketLifetime?: Duration.DurationInput
  /** first wait after a failed fetch (default 2 s); doubles per failure */
  readonly retryInitial?: Duration.DurationInput
  /** longest wait between failed fetches (default 1 h) */
  readonly retryCap?: Duration.DurationInput
  /** a number in [0, 1) choosing the ticket life (default `Random.next`) */
  readonly randomFraction?: Effect.Effect<number>
}

export interface TypingService {
  /** the peer's typing ticket, "" when there is none; fetched only when the cached entry is due */
  readonly ticketFor: (peer: string, contextToken: string | undefined) => Effect.Effect<string>
  /** runs `effect` with the typing indicator shown to `peer` */
  readonly duringTurn: <A, E, R>(
    peer: string,
    contextToken: string | undefined,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
}

interface TicketEntry {
  readonly ticket: string
  readonly nextFetchAt: number
  readonly retryDelayMs: number
}

export const make = <Conn>(options: TypingOptions<Conn>): Effect.Effect<TypingService> =>
  Effect.sync(() => {
    const { api, connection } = options
    const keepAlive = Duration.decode(options.keepAliveInterval ?? Duration.seconds(5))
    const lifetimeMs = Duration.toMillis(options.ticketLifetime ?? Duration.hours(24))
    const retryInitialMs = Duration.toMillis(options.retryInitial ?? Duration.seconds(2))
    const retryCapMs = Duration.toMillis(options.retryCap ?? Duration.hours(1))
    const randomFraction = options.randomFraction ?? Random.next
    // one ref per peer so a slow getconfig for one peer never holds up another (single-flight per peer)
    const slots = new Map<string, SynchronizedRef.SynchronizedRef<TicketEntry | undefined>>()

    const fetchTicket = (userId: string, contextToken: string | undefined, previous: TicketEntry | undefined) =>
      Effect.gen(function* () {
        const request: GetConfigRequest = contextToken === undefined
          ? { ilink_user_id: userId }
          : { ilink_user_id: userId, context_token: contextToken }
        const outcome = yield* Effect.either(Effect.flatMap(connection, (conn) => api.getConfig(conn, request)))
        const now = yield* Clock.currentTimeMillis
        if (outcome._tag === "Right" && (outcome.right.ret ?? 0) === 0) {
          const life = Math.floor((yield* randomFraction) * lifetimeMs)
          const entry: TicketEntry = {
            ticket: outcome.right.typing_ticket ?? "",
            nextFetchAt: now + life,
            retryDelayMs: retryInitialMs
          }
          return [entry.ticket, entry] as const
        }
        const why = outcome._tag === "Left" ? outcome.left.message : `getconfig answered ret=${outcome.right.ret}`
        const retryDelayMs = previous === undefined ? retryInitialMs : Math.min(previous.retryDelayMs * 2, retryCapMs)
        yield* Effect.logDebug(
          `no typing ticket for ${userId} (${why}); typing stays off for it, next try in ${retryDelayMs} ms`
        )
        const entry: TicketEntry = { ticket: previous?.ticket ?? "", nextFetchAt: now + retryDelayMs, retryDelayMs }
        return [entry.ticket, entry] as const
      })

    const ticketFor = (peer: string, contextToken: string | undefined): Effect.Effect<string> =>
      Effect.suspend(() => {
        const normalized = Either.getOrUndefined(normalizePeerId(peer))
        if (normalized === undefined) return Effect.succeed("")
        let slot = slots.get(normalized.key)
        if (slot === undefined) {
          slot = SynchronizedRef.unsafeMake<TicketEntry | undefined>(undefined)
          slots.set(normalized.key, slot)
        }
        return SynchronizedRef.modifyEffect(slot, (entry) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            entry !== undefined && now < entry.nextFetchAt
              ? Effect.succeed([entry.ticket, entry] as const)
              : fetchTicket(normalized.id, contextToken, entry)
          ))
      })

    const sendStatus = (userId: string, ticket: string, status: 1 | 2) =>
      Effect.flatMap(connection, (conn) => api.sendTyping(conn, { ilink_user_id: userId, typing_ticket: ticket, status })).pipe(
        Effect.catchAll((error) => Effect.logDebug(`typing status ${status} for ${userId} failed: ${error.message}`))
      )

    const duringTurn = <A, E, R>(
      peer: string,
      contextToken: string | undefined,
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
        const userId = Either.getOrUndefined(normalizePeerId(peer))?.id
        if (userId === undefined) return effect
        // set once the indicator has been started, so the end knows whether to cancel it
        let startedWith: string | undefined
        const indicator = Effect.gen(function* () {
          const ticket = yield* ticketFor(peer, contextToken)
          if (ticket === "") return
          startedWith = ticket
          yield* Effect.repeat(sendStatus(userId, ticket, 1), Schedule.spaced(keepAlive))
        })
        const stop = (fiber: Fiber.RuntimeFiber<unknown>) =>
          Effect.flatMap(Fiber.interrupt(fiber), () =>
            startedWith === undefined ? Effect.void : sendStatus(userId, startedWith, 2)
          )
        return Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(Effect.fork(Effect.interruptible(indicator)), (fiber) =>
            restore(effect).pipe(Effect.ensuring(stop(fiber)))
          )
        )
      }).pipe(Effect.annotateLogs({ accountId: options.accountId }))

    return { ticketFor, duringTurn }
  })

/** Namespace-style access: `Typing.make(...)`. */
export const Typing = { make }
