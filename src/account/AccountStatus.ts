/**
 * The observable state of one account (`channels status` reads it). Phases follow ARCHITECTURE "Actors and
 * supervision"; timestamps are epoch milliseconds taken from `Clock`.
 *
 * Three phases are parked: the account cannot run until the user acts, so the Supervisor never restarts
 * it on its own (a new login resumes it). Each says what to do.
 */
import { Clock, Data, Effect, Ref } from "effect"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"

export type AccountPhase = Data.TaggedEnum<{
  Starting: {}
  Running: {}
  /** the run failed; the next attempt is scheduled at `nextAttemptAt` (attempt counts from 1) */
  Backoff: { readonly nextAttemptAt: number; readonly attempt: number }
  /** iLink said −14: only a new QR login recovers, so polling has stopped */
  AuthExpired: { readonly since: number; readonly reason: string }
  /** no bot token is stored for the account: it never logged in, or logged out */
  NotLoggedIn: { readonly since: number }
  /** a setting the account cannot run with (a base URL that is not an http(s) URL) */
  BadConfig: { readonly since: number; readonly reason: string }
  Stopped: {}
}>

export const AccountPhase = Data.taggedEnum<AccountPhase>()

/** A phase the account stays in until the user acts. */
export type ParkedPhase = Extract<AccountPhase, { readonly _tag: "AuthExpired" | "NotLoggedIn" | "BadConfig" }>

export const isParked = (phase: AccountPhase): phase is ParkedPhase =>
  phase._tag === "AuthExpired" || phase._tag === "NotLoggedIn" || phase._tag === "BadConfig"


/** What a parked account needs from the user, in one sentence. */
export const whatToDo = (phase: ParkedPhase): string => {
  switch (phase._tag) {
    case "AuthExpired":
      return `the WeChat login expired, or the bot was logged in on another OpenClaw (${phase.reason}); ` +
        `log in again, which takes the bot back: ${LOGIN_COMMAND}`
    case "NotLoggedIn":
      return `no credentials are stored for this account; log in: ${LOGIN_COMMAND}`
    case "BadConfig":
      return `${phase.reason}; fix channels.openclaw-weixin in the config, or log in again: ${LOGIN_COMMAND}`
  }
}

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

/**
 * Where one run of an account publishes its status. Under the Supervisor it writes straight into the
 * Supervisor's map of statuses (no fiber per account mirrors it), and stops writing once the run has
 * ended, so a dead run's late update cannot reach the next one. A run on its own (tests, benchmarks)
 * gets one from `makeAccountState`.
 */
export interface AccountStateRef {
  readonly get: Effect.Effect<AccountStatus>
  readonly update: (f: (status: AccountStatus) => AccountStatus) => Effect.Effect<void>
}

/** A status of its own, starting as `Starting`. */
export const makeAccountState: Effect.Effect<AccountStateRef> = Effect.map(
  Ref.make<AccountStatus>({ phase: AccountPhase.Starting() }),
  (ref) => ({ get: Ref.get(ref), update: (f) => Ref.update(ref, f) })
)

/** Sets the phase, except that `Stopped` is final: a late update from a dying fiber must not revive it. */
export const setPhase = (ref: AccountStateRef, phase: AccountPhase): Effect.Effect<void> =>
  ref.update((s) => (s.phase._tag === "Stopped" ? s : { ...s, phase }))

/**
 * A completed poll, in one update (an idle account makes one per long-poll): its time, the phase
 * `Running` (a `Stopped` stays stopped), and, when it brought new messages, the time of those.
 */
export const markPollDone = (ref: AccountStateRef, inbound: boolean): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    ref.update((s) => ({
      ...s,
      phase: s.phase._tag === "Stopped" || s.phase._tag === "Running" ? s.phase : AccountPhase.Running(),
      lastPollAt: now,
      ...(inbound ? { lastInboundAt: now } : {})
    })))

export const markOutbound = (ref: AccountStateRef): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => ref.update((s) => ({ ...s, lastOutboundAt: now })))

export const markError = (ref: AccountStateRef, message: string): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => ref.update((s) => ({ ...s, lastError: { at: now, message } })))
