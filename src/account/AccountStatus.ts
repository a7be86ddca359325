/**
 * The observable state of one account actor (`channels status` reads it). Phases follow DESIGN.md
 * "Actors and supervision"; timestamps are epoch milliseconds taken from `Clock`.
 */
import { Clock, Data, Effect, SubscriptionRef } from "effect"

export type AccountPhase = Data.TaggedEnum<{
  Starting: {}
  Running: {}
  /** a poll failed; the next attempt is scheduled at `nextAttemptAt` (attempt counts from 1) */
  Backoff: { readonly nextAttemptAt: number; readonly attempt: number }
  /** iLink said −14: only a new QR login recovers, so polling has stopped */
  AuthExpired: { readonly since: number; readonly reason: string }
  Stopped: {}
}>

export const AccountPhase = Data.taggedEnum<AccountPhase>()

export interface AccountStatus {
  readonly phase: AccountPhase
  /** last completed getupdates, empty or not (liveness) */
  readonly lastPollAt?: number
  /** last batch that carried at least one new message */
  readonly lastInboundAt?: number
  /** last message the Outbox handed to the server */
  readonly lastOutboundAt?: number
  /** the most recent failure, as a one-line description */
  readonly lastError?: { readonly at: number; readonly message: string }
}

export type AccountStateRef = SubscriptionRef.SubscriptionRef<AccountStatus>

export const makeAccountState: Effect.Effect<AccountStateRef> = SubscriptionRef.make<AccountStatus>({
  phase: AccountPhase.Starting()
})

/** Sets the phase, except that `Stopped` is final: a late update from a dying fiber must not revive it. */
export const setPhase = (ref: AccountStateRef, phase: AccountPhase): Effect.Effect<void> =>
  SubscriptionRef.update(ref, (s) => (s.phase._tag === "Stopped" ? s : { ...s, phase }))

export const markPolled = (ref: AccountStateRef): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => SubscriptionRef.update(ref, (s) => ({ ...s, lastPollAt: now })))

export const markInbound = (ref: AccountStateRef): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => SubscriptionRef.update(ref, (s) => ({ ...s, lastInboundAt: now })))

export const markOutbound = (ref: AccountStateRef): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    SubscriptionRef.update(ref, (s) => ({ ...s, lastOutboundAt: now }))
  )

export const markError = (ref: AccountStateRef, message: string): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    SubscriptionRef.update(ref, (s) => ({ ...s, lastError: { at: now, message } }))
  )
