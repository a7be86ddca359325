/**
 * The multi-account Supervisor (DESIGN.md "Actors and supervision"): one fiber per account in a FiberMap
 * keyed by the normalized account id.
 *
 * - `start` / `stop` / `restart` / `reconcile` / `loginSaved` each touch only the accounts they name.
 *   Restart is remove-then-run: `FiberMap.remove` waits for the old fiber's finalizers, so two pollers
 *   never share one cursor. Control operations are serialised by one lock so a restart and a reconcile
 *   cannot interleave on the same key.
 * - The account itself is whatever the `AccountRunner` runs: an effect that runs one account until
 *   interrupted and publishes its status into the `AccountStateRef` it is given.
 * - A crash (the runner dies or fails) restarts that account after a capped exponential delay; a run that
 *   stayed up for `stableAfterMs` resets the delay. A runner that returns in `AuthExpired` is parked: no
 *   restart loop, it stays visible as AuthExpired until `loginSaved` (a new QR login) starts it again.
 *
 * Also here: `AccountActorRunner`, the AccountRunner that runs the real AccountActor from the stored
 * credentials, and `SupervisorLoginListener`, which lets LoginFlow tell the Supervisor about new logins.
 */
import {
  Cause,
  Clock,
  Context,
  Effect,
  Exit,
  FiberMap,
  HashMap,
  Layer,
  Option,
  Random,
  Stream,
  SubscriptionRef
} from "effect"
import { normalizeAccountId } from "../domain/AccountId.js"
import type { Host } from "./AgentTurns.js"
import type { ILinkApi } from "../ilink/ILinkApi.js"
import { DEFAULT_ILINK_BASE_URL, ILinkConnection } from "../ilink/ILinkConnection.js"
import { AccountStore } from "../state/AccountStore.js"
import type { StateStores } from "../state/State.js"
import { AccountActor, type AccountActorConfig } from "./AccountActor.js"
import { AccountPhase, type AccountStateRef, type AccountStatus, makeAccountState, setPhase } from "./AccountStatus.js"
import { LoginListener } from "./LoginListener.js"

/** Runs one account until interrupted, publishing its status into `state`. Returning means it ended. */
export class AccountRunner extends Context.Tag("openclaw-weixin/AccountRunner")<
  AccountRunner,
  { readonly run: (accountId: string, state: AccountStateRef) => Effect.Effect<void, unknown> }
>() {}

export interface SupervisorSettings {
  /** delay before the first restart after a crash */
  readonly restartBaseMs: number
  /** upper bound of the restart delay */
  readonly restartCapMs: number
  /** a run that lasted this long counts as healthy: the next crash starts again from `restartBaseMs` */
  readonly stableAfterMs: number
  /** spread restart delays by ±20% so accounts that crashed together do not restart together */
  readonly jitter: boolean
}

export const defaultSupervisorSettings: SupervisorSettings = {
  restartBaseMs: 1_000,
  restartCapMs: 60_000,
  stableAfterMs: 120_000,
  jitter: true
}

export class SupervisorSettingsTag extends Context.Tag("openclaw-weixin/SupervisorSettings")<
  SupervisorSettingsTag,
  SupervisorSettings
>() {}

export type AccountStatuses = HashMap.HashMap<string, AccountStatus>

/**
 * Delay before restart number `attempt` (1-based): base · 2^(attempt−1), capped. Computed directly rather
 * than driven by a Schedule because the Backoff status has to show when the next attempt happens.
 */
export const restartDelayMs = (settings: SupervisorSettings, attempt: number): number =>
  Math.min(settings.restartCapMs, settings.restartBaseMs * 2 ** Math.min(attempt - 1, 30))

const oneLine = (cause: Cause.Cause<unknown>): string => {
  const text = Cause.pretty(cause).split("\n")[0] ?? "unknown failure"
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

export class Supervisor extends Effect.Service<Supervisor>()("openclaw-weixin/Supervisor", {
  scoped: Effect.gen(function*() {
    const runner = yield* AccountRunner
    const settings = Option.getOrElse(yield* Effect.serviceOption(SupervisorSettingsTag), () =>
      defaultSupervisorSettings
    )
    const fibers = yield* FiberMap.make<string>()
    const statuses = yield* SubscriptionRef.make<AccountStatuses>(HashMap.empty())
    const lock = yield* Effect.makeSemaphore(1)
    const serialised = <A, E, R>(effect: Effect.Effect<A, E, R>) => lock.withPermits(1)(effect)

    const publish = (id: string, status: AccountStatus) =>
      SubscriptionRef.update(statuses, HashMap.set(id, status))

    const statusOf = (id: string) => Effect.map(SubscriptionRef.get(statuses), HashMap.get(id))

    // One run of the account: its own state ref (a dead run's late writes cannot reach the next one),
    // mirrored into `statuses` while it runs. Yields the final status when the runner returns.
    const runOnce = (id: string) =>
      Effect.scoped(
        Effect.gen(function*() {
          const state = yield* makeAccountState
          yield* state.changes.pipe(Stream.runForEach((status) => publish(id, status)), Effect.forkScoped)
          yield* runner.run(id, state)
          const final = yield* SubscriptionRef.get(state)
          yield* publish(id, final)
          return final
        })
      )

    const restartDelay = (attempt: number) =>
      settings.jitter
        ? Effect.map(Random.nextRange(0.8, 1.2), (factor) => Math.round(restartDelayMs(settings, attempt) * factor))
        : Effect.succeed(restartDelayMs(settings, attempt))

    const supervise = (id: string) =>
      Effect.gen(function*() {
        let attempt = 0
        while (true) {
          const startedAt = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(runOnce(id))
          if (Exit.isSuccess(exit) && exit.value.phase._tag === "AuthExpired") {
            yield* Effect.logWarning(
              `account parked (${exit.value.phase.reason}); it resumes after ` +
                "`openclaw channels login --channel openclaw-weixin`"
            )
            return
          }
          const endedAt = yield* Clock.currentTimeMillis
          if (endedAt - startedAt >= settings.stableAfterMs) attempt = 0
          attempt += 1
          const delay = yield* restartDelay(attempt)
          const reason = Exit.isSuccess(exit) ? "the account ended without being stopped" : oneLine(exit.cause)
          yield* Effect.logError(`account crashed (${reason}); restarting in ${delay} ms (attempt ${attempt})`)
          const previous = yield* statusOf(id)
          yield* publish(id, {
            ...Option.getOrElse(previous, (): AccountStatus => ({ phase: AccountPhase.Starting() })),
            phase: AccountPhase.Backoff({ nextAttemptAt: endedAt + delay, attempt }),
            lastError: { at: endedAt, message: reason }
          })
          yield* Effect.sleep(delay)
        }
      }).pipe(Effect.annotateLogs({ accountId: id }))

    const launch = (id: string) =>
      Effect.zipRight(
        publish(id, { phase: AccountPhase.Starting() }),
        FiberMap.run(fibers, id, supervise(id))
      )

    const halt = (id: string) => FiberMap.remove(fibers, id)

    const markStopped = (id: string) =>
      SubscriptionRef.update(statuses, (all) =>
        HashMap.modify(all, id, (status): AccountStatus => ({ ...status, phase: AccountPhase.Stopped() })))

    const isRunning = (id: string) => FiberMap.has(fibers, id)

    /** Starts the account unless it already runs. */
    const start = Effect.fn("Supervisor.start")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* serialised(Effect.gen(function*() {
        if (yield* isRunning(id)) return
        yield* launch(id)
      }))
    })

    /** Stops the account and waits for its finalizers; its status stays visible as Stopped. */
    const stop = Effect.fn("Supervisor.stop")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* serialised(Effect.zipRight(halt(id), markStopped(id)))
    })

    /** Stops the old run (waiting for it to finish) and starts a new one; never two runs at once. */
    const restart = Effect.fn("Supervisor.restart")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* serialised(Effect.zipRight(halt(id), launch(id)))
    })

    /** Stops the account and drops it from the statuses (logout, or removed as a stale same-user login). */
    const forget = Effect.fn("Supervisor.forget")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* serialised(
        Effect.zipRight(halt(id), SubscriptionRef.update(statuses, HashMap.remove(id)))
      )
    })

    /**
     * Makes the running set equal `ids`: starts new and Stopped accounts, forgets accounts no longer
     * listed, and leaves every other account (running, backing off or parked) untouched.
     */
    const reconcile = Effect.fn("Supervisor.reconcile")(function*(rawIds: Iterable<string>) {
      const wanted = new Set(Array.from(rawIds, normalizeAccountId))
      yield* serialised(Effect.gen(function*() {
        const known = yield* SubscriptionRef.get(statuses)
        for (const id of HashMap.keys(known)) {
          if (!wanted.has(id)) {
            yield* halt(id)
            yield* SubscriptionRef.update(statuses, HashMap.remove(id))
          }
        }
        for (const id of wanted) {
          const status = HashMap.get(known, id)
          const stopped = Option.isNone(status) || status.value.phase._tag === "Stopped"
          if (stopped && !(yield* isRunning(id))) yield* launch(id)
        }
      }))
    })

    /**
     * A new login was saved for this account: whatever its state (parked as AuthExpired, running, backing
     * off or unknown), run it afresh so it picks up the new token. `beforeStart` runs after the old run has
     * fully stopped (LoginFlow resets the cursor there). Others untouched.
     */
    const loginSaved = Effect.fn("Supervisor.loginSaved")(function*(
      rawId: string,
      beforeStart: Effect.Effect<void> = Effect.void
    ) {
      const id = normalizeAccountId(rawId)
      const before = yield* statusOf(id)
      yield* Effect.logInfo(
        `new login saved; ${
          Option.match(before, { onNone: () => "starting the account", onSome: (s) => `restarting it (was ${s.phase._tag})` })
        }`
      ).pipe(Effect.annotateLogs({ accountId: id }))
      yield* serialised(Effect.all([halt(id), beforeStart, launch(id)], { discard: true }))
    })

    const snapshot: Effect.Effect<AccountStatuses> = SubscriptionRef.get(statuses)

    return {
      start,
      stop,
      restart,
      forget,
      reconcile,
      loginSaved,
      /** statuses of every known account right now */
      snapshot,
      /** the current statuses, then every change */
      changes: statuses.changes,
      status: (rawId: string) => statusOf(normalizeAccountId(rawId)),
      isRunning: (rawId: string) => isRunning(normalizeAccountId(rawId))
    } as const
  })
}) {}

/** Lets a completed QR login reach the running accounts: start or refresh the new one, drop stale ones. */
export const SupervisorLoginListener: Layer.Layer<LoginListener, never, Supervisor> = Layer.effect(
  LoginListener,
  Effect.map(Supervisor, (supervisor) => ({
    loginSaved: supervisor.loginSaved,
    accountRemoved: supervisor.forget
  }))
)

/** Where an account's actor connects, and with which settings; the plugin adapter applies its config here. */
export interface AccountConnectionSettings {
  /** base URL when the account file stores none (`channels.openclaw-weixin.baseUrl`, else the default) */
  readonly defaultBaseUrl?: string | undefined
  readonly actor?: AccountActorConfig["settings"]
}

/**
 * The real AccountRunner: loads the account's stored credentials and runs its AccountActor until the
 * session expires. An account with no token, or a base URL that can never work, is parked as AuthExpired
 * with the reason, since only a new login (or a config fix) helps; it does not crash-loop.
 */
export const AccountActorRunner = (
  connectionSettings: AccountConnectionSettings = {}
): Layer.Layer<AccountRunner, never, ILinkApi | StateStores | Host> =>
  Layer.effect(
    AccountRunner,
    Effect.gen(function*() {
      const context = yield* Effect.context<ILinkApi | StateStores | Host>()
      const park = (state: AccountStateRef, reason: string) =>
        Effect.gen(function*() {
          yield* Effect.logWarning(reason)
          yield* setPhase(state, AccountPhase.AuthExpired({ since: yield* Clock.currentTimeMillis, reason }))
        })
      const run = (accountId: string, state: AccountStateRef) =>
        Effect.gen(function*() {
          const accounts = yield* AccountStore
          const stored = yield* accounts.load(accountId)
          const token = Option.flatMap(stored, (account) => Option.fromNullable(account.token))
          if (Option.isNone(token)) {
            return yield* park(
              state,
              "no credentials are stored for this account; run `openclaw channels login --channel openclaw-weixin`"
            )
          }
          const storedBaseUrl = Option.flatMap(stored, (account) => Option.fromNullable(account.baseUrl?.trim() || undefined))
          const baseUrl = Option.getOrElse(storedBaseUrl, () => connectionSettings.defaultBaseUrl ?? DEFAULT_ILINK_BASE_URL)
          const connection = ILinkConnection.make({ baseUrl, token: token.value, accountId })
          if (connection._tag === "Left") return yield* park(state, connection.left.message)
          yield* AccountActor.runUntilParked({
            accountId,
            connection: connection.right,
            state,
            ...(connectionSettings.actor === undefined ? {} : { settings: connectionSettings.actor })
          })
        }).pipe(Effect.provide(context))
      return { run }
    })
  )
