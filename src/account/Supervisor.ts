/**
 * The multi-account Supervisor (ARCHITECTURE "Actors and supervision"): one fiber per account in a FiberMap
 * keyed by the normalized account id, each running the account through the AccountRunner.
 *
 * - The host binding (who runs agent turns, the decoded config) is handed to `start` once and kept for
 *   every restart and resume. A newer `start` for the same account (the host restarted the channel)
 *   replaces it; `release` with the older binding then leaves the newer run alone.
 * - Restart is remove-then-run: `FiberMap.remove` waits for the old fiber's finalizers, so two pollers
 *   never share one cursor. Control operations are serialised by one lock, so a restart and a login
 *   cannot interleave on the same key.
 * - A run that fails or dies restarts on a Schedule (exponential, capped, jittered); its `onDecision`
 *   publishes the next attempt time as `Backoff`. A run that stayed up for `stableAfterMs` was healthy:
 *   the next crash counts as the first again.
 * - A run that ends parked (session expired, not logged in, bad base URL) is not restarted: the account
 *   stays visible with what to do until `loginSaved` (a new login) runs it again with its binding.
 * - Proactive sends go through the running actor (`send`); a parked account fails them at once.
 */
import {
  Cause,
  Clock,
  Duration,
  Effect,
  FiberMap,
  HashMap,
  Layer,
  Option,
  Ref,
  Schedule,
  ScheduleDecision,
  ScheduleIntervals,
  Schema,
  SubscriptionRef
} from "effect"
import { RestartTuning } from "../config/Tuning.js"
import { normalizeAccountId } from "../domain/AccountId.js"
import type { AccountActorHandle } from "./AccountActor.js"
import { AccountRunner, type HostBinding } from "./AccountRunner.js"
import {
  AccountPhase,
  type AccountStateRef,
  type AccountStatus,
  isParked,
  type ParkedPhase,
  whatToDo
} from "./AccountStatus.js"
import type { SendRequest } from "./Outbox.js"
import { AccountAuthExpired, AccountMisconfigured, type OutboxError } from "./Receipt.js"
import { acquireReleaseLight } from "./LightFinalizer.js"

export type AccountStatuses = HashMap.HashMap<string, AccountStatus>

/** What `loginSaved` did: ran the account again here, or found no host binding for it in this process. */
export type LoginSavedOutcome = "restarted" | "not-running-here"

/** This process does not run the account (the CLI, or an account the host did not start here). */
export class NotRunningHere extends Schema.TaggedError<NotRunningHere>()("NotRunningHere", {
  accountId: Schema.String
}) {
  override get message(): string {
    return `account ${this.accountId} does not run in this process`
  }
}

/** One run ended without parking: it failed or died after `ranForMs`. The restart schedule's input. */
interface RunEnded {
  readonly accountId: string
  readonly cause: Cause.Cause<unknown>
  readonly ranForMs: number
}

const oneLine = (cause: Cause.Cause<unknown>): string => {
  const text = Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.pretty(cause).split("\n")[0] ?? "unknown failure",
    onSome: (e) => (typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e))
  })
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

const logParked = (parked: ParkedPhase) => Effect.logWarning(`account parked; it resumes after a new login: ${whatToDo(parked)}`)

// unreachable: the restart schedule retries forever
const logGaveUp = (ended: RunEnded) => Effect.logError(`account gave up: ${oneLine(ended.cause)}`)

export class Supervisor extends Effect.Service<Supervisor>()("openclaw-weixin/Supervisor", {
  scoped: Effect.gen(function*() {
    const runner = yield* AccountRunner
    const settings = yield* RestartTuning
    const fibers = yield* FiberMap.make<string>()
    const statuses = yield* SubscriptionRef.make<AccountStatuses>(HashMap.empty())
    const bindings = yield* Ref.make(HashMap.empty<string, HostBinding>())
    const actors = yield* Ref.make(HashMap.empty<string, AccountActorHandle>())
    const lock = yield* Effect.makeSemaphore(1)
    const serialised = <A, E, R>(effect: Effect.Effect<A, E, R>) => lock.withPermits(1)(effect)

    const publish = (id: string, status: AccountStatus) => SubscriptionRef.update(statuses, HashMap.set(id, status))
    const statusOf = (id: string) => Effect.map(SubscriptionRef.get(statuses), HashMap.get(id))
    const updateStatus = (id: string, f: (status: AccountStatus) => AccountStatus) =>
      SubscriptionRef.update(statuses, (all) =>
        HashMap.set(all, id, f(Option.getOrElse(HashMap.get(all, id), (): AccountStatus => ({ phase: AccountPhase.Starting() })))))
    const bindingOf = (id: string) => Effect.map(Ref.get(bindings), HashMap.get(id))

    /** Registers the running actor for proactive sends until its run ends. */
    const register = (id: string) => (actor: AccountActorHandle) =>
      acquireReleaseLight(Ref.update(actors, HashMap.set(id, actor)), () =>
        Ref.update(actors, (all) =>
          Option.exists(HashMap.get(all, id), (current) => current === actor) ? HashMap.remove(all, id) : all))

    /** A run's view of its entry in `statuses`; it stops writing when the run ends. */
    const runState = (id: string) =>
      acquireReleaseLight(Ref.make(true), (live) => Ref.set(live, false)).pipe(
        Effect.map((live): AccountStateRef => ({
          get: Effect.map(statusOf(id), Option.getOrElse((): AccountStatus => ({ phase: AccountPhase.Starting() }))),
          // a method, not an arrow property: named arrows cost an idle account a dictionary each (keepNames)
          update(f) {
            return Effect.flatMap(Ref.get(live), (writes) => (writes ? updateStatus(id, f) : Effect.void))
          }
        }))
      )

    // One run, publishing into `statuses` directly. A failure or defect becomes the restart schedule's input.
    const runOnce = (id: string, binding: HostBinding): Effect.Effect<ParkedPhase, RunEnded> =>
      Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
        Effect.scoped(Effect.gen(function*() {
          const state = yield* runState(id)
          return yield* runner.run(id, binding, { state, onStarted: register(id) })
        })).pipe(
          Effect.catchAllCause((cause) =>
            Effect.gen(function*() {
              const endedAt = yield* Clock.currentTimeMillis
              yield* updateStatus(id, (s) => ({ ...s, lastError: { at: endedAt, message: oneLine(cause) } }))
              return yield* Effect.fail<RunEnded>({ accountId: id, cause, ranForMs: endedAt - startedAt })
            })
          )
        ))

    // one schedule for every account (each retry keeps its own state); the run it follows is in its input
    const restartSchedule = (() => {
      const capped = Schedule.exponential(Duration.millis(settings.restartBaseMs)).pipe(
        Schedule.union(Schedule.spaced(Duration.millis(settings.restartCapMs)))
      )
      return (settings.jitter ? Schedule.jittered(capped) : capped).pipe(
        Schedule.intersect(Schedule.count),
        Schedule.intersect(Schedule.identity<RunEnded>()),
        // a run that stayed up long enough was healthy: this crash counts as the first again
        Schedule.resetWhen(([, ended]) => ended.ranForMs >= settings.stableAfterMs),
        Schedule.onDecision(([[, count], ended], decision) =>
          ScheduleDecision.isContinue(decision)
            ? Effect.gen(function*() {
              const nextAttemptAt = ScheduleIntervals.start(decision.intervals)
              const attempt = count + 1
              const delay = nextAttemptAt - (yield* Clock.currentTimeMillis)
              yield* Effect.logError(
                `account crashed (${oneLine(ended.cause)}); restarting in ${Math.round(delay)} ms (attempt ${attempt})`
              )
              yield* updateStatus(ended.accountId, (s) => ({ ...s, phase: AccountPhase.Backoff({ nextAttemptAt, attempt }) }))
            })
            : Effect.void
        )
      )
    })()

    const supervise = (id: string, binding: HostBinding) =>
      runOnce(id, binding).pipe(
        Effect.retry(restartSchedule),
        Effect.matchEffect({ onSuccess: logParked, onFailure: logGaveUp }),
        Effect.annotateLogs({ accountId: id })
      )

    const launch = (id: string, binding: HostBinding) =>
      Effect.zipRight(publish(id, { phase: AccountPhase.Starting() }), FiberMap.run(fibers, id, supervise(id, binding)))

    const halt = (id: string) => FiberMap.remove(fibers, id)
    const unbind = (id: string) => Ref.update(bindings, HashMap.remove(id))
    const markStopped = (id: string) =>
      SubscriptionRef.update(statuses, (all) =>
        HashMap.modify(all, id, (status): AccountStatus => ({ ...status, phase: AccountPhase.Stopped() })))
    const isRunning = (id: string) => FiberMap.has(fibers, id)

    /**
     * Runs the account with the host's binding, kept for every restart and resume. The binding it
     * already holds is a no-op; a different one replaces it and runs the account afresh.
     */
    const start = Effect.fnUntraced(function*(rawId: string, binding: HostBinding) {
      const id = normalizeAccountId(rawId)
      yield* serialised(Effect.gen(function*() {
        const held = yield* bindingOf(id)
        if (Option.exists(held, (current) => current === binding)) return
        yield* Ref.update(bindings, HashMap.set(id, binding))
        yield* halt(id)
        yield* launch(id, binding)
      }))
    })

    /**
     * The end of a host call that started the account with `binding`: stops it and drops the binding,
     * unless a newer start replaced it. Says whether it stopped the account.
     */
    const release = Effect.fn("Supervisor.release")(function*(rawId: string, binding: HostBinding) {
      const id = normalizeAccountId(rawId)
      return yield* serialised(Effect.gen(function*() {
        if (!Option.exists(yield* bindingOf(id), (current) => current === binding)) return false
        yield* halt(id)
        yield* unbind(id)
        yield* markStopped(id)
        return true
      }))
    })

    /** Stops the account, whoever started it, and waits for its finalizers; its status stays as Stopped. */
    const stop = Effect.fn("Supervisor.stop")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* serialised(Effect.all([halt(id), unbind(id), markStopped(id)], { discard: true }))
    })

    /** Stops the account and drops it (logout, or removed as a stale same-user login). */
    const forget = Effect.fn("Supervisor.forget")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* serialised(
        Effect.all([halt(id), unbind(id), SubscriptionRef.update(statuses, HashMap.remove(id))], { discard: true })
      )
    })

    /**
     * A new login was saved for this account. If this process holds its host binding (it runs, backs off
     * or is parked here): stop the old run, run `resetCursor` once it has fully stopped (so it cannot write
     * its cursor back), and run the account again with the new stored login. Otherwise nothing happens.
     */
    const loginSaved = Effect.fn("Supervisor.loginSaved")(function*(
      rawId: string,
      resetCursor: Effect.Effect<void> = Effect.void
    ) {
      const id = normalizeAccountId(rawId)
      return yield* serialised(Effect.gen(function*() {
        const binding = yield* bindingOf(id)
        if (Option.isNone(binding)) {
          yield* Effect.logInfo("new login saved; the host has not started this account here, so nothing to restart")
          return "not-running-here" as const
        }
        const before = yield* statusOf(id)
        yield* Effect.logInfo(
          `new login saved; running the account again (was ${Option.match(before, { onNone: () => "unknown", onSome: (s) => s.phase._tag })})`
        )
        yield* halt(id)
        yield* resetCursor
        yield* launch(id, binding.value)
        return "restarted" as const
      })).pipe(Effect.annotateLogs({ accountId: id }))
    })

    /**
     * Sends through the account's running actor. A parked account fails at once with what to do; an
     * account this process does not run (or that is between two runs) fails with `NotRunningHere`.
     */
    const send = Effect.fn("Supervisor.send")(function*(rawId: string, request: SendRequest) {
      const id = normalizeAccountId(rawId)
      const actor = HashMap.get(yield* Ref.get(actors), id)
      if (Option.isSome(actor)) return yield* actor.value.send(request)
      const status = yield* statusOf(id)
      if (Option.isSome(status) && isParked(status.value.phase)) {
        const phase = status.value.phase
        return yield* (phase._tag === "BadConfig"
          ? Effect.fail<OutboxError>(new AccountMisconfigured({ accountId: id, reason: phase.reason }))
          : Effect.fail<OutboxError>(
            new AccountAuthExpired({
              accountId: id,
              reason: phase._tag === "AuthExpired" ? phase.reason : "no credentials are stored"
            })
          ))
      }
      return yield* new NotRunningHere({ accountId: id })
    })

    return {
      start,
      release,
      stop,
      forget,
      loginSaved,
      send,
      /** statuses of every known account right now */
      snapshot: SubscriptionRef.get(statuses),
      /** the current statuses, then every change */
      changes: statuses.changes,
      status: (rawId: string) => statusOf(normalizeAccountId(rawId)),
      isRunning: (rawId: string) => isRunning(normalizeAccountId(rawId)),
      /** the host started this account in this process and has not released it */
      isBound: (rawId: string) => Effect.map(bindingOf(normalizeAccountId(rawId)), Option.isSome)
    } as const
  })
}) {
  /** The Supervisor over the production AccountRunner. */
  static layer = Supervisor.Default.pipe(Layer.provide(AccountRunner.layer))
}
