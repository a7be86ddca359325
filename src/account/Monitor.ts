/**
 * Monitor: the account's long-poll loop (PROTOCOL §2, ARCHITECTURE "The flow of one message").
 *
 * getupdates → Inbox.claim → hand each claimed message to the Dispatcher → poll again. Messages the
 * client could not decode (`rejected_msgs`) go to the Inbox too, which records and logs them durably
 * before the cursor moves, so one bad message never wedges the account nor vanishes. It never waits
 * for an agent turn: the Dispatcher's `offer` only suspends when its queue is full, which slows polling
 * without dropping anything. Failed polls back off exponentially with jitter (capped, reset after a
 * success); iLink −14 parks the account in `AuthExpired` and the loop ends, since only a new login helps.
 */
import { Clock, Duration, Effect, Random, Schema } from "effect"
import type { ActorSettings } from "../config/Tuning.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import type { ILinkConnection } from "../ilink/ILinkConnection.js"
import {
  type AccountStateRef,
  AccountPhase,
  markError,
  markPollDone,
  setPhase
} from "./AccountStatus.js"
import type { ClaimedMessage, InboxService } from "./Inbox.js"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"

export const sessionExpiredCode = -14

/** iLink said −14: the session can no longer be used; only a new QR login recovers. */
export class MonitorSessionExpired extends Schema.TaggedError<MonitorSessionExpired>()("MonitorSessionExpired", {
  reason: Schema.String
}) {}

/** A poll (or the claim of its batch) that failed and is retried after a backoff. */
export class MonitorPollFailed extends Schema.TaggedError<MonitorPollFailed>()("MonitorPollFailed", {
  reason: Schema.String
}) {}

/**
 * The wait before retry number `attempt` (1, 2, …): ~1 s, 2 s, 4 s … each ±20 % jitter (`random` in
 * [0, 1) picks where in the band), never more than the cap.
 */
export const pollBackoffMs = (
  settings: Pick<ActorSettings, "backoffBaseMs" | "backoffCapMs">,
  attempt: number,
  random: number
): number => Math.min(settings.backoffBaseMs * 2 ** (attempt - 1) * (0.8 + 0.4 * random), settings.backoffCapMs)

/**
 * Polls until the session expires, and returns the parked phase; never fails (every poll failure is
 * retried). Interrupting it aborts the long-poll in flight at once.
 *
 * Untraced: it runs as long as the account does, so a span (with its call-site stack and a copy of the
 * fiber's context) would stay in every idle account's memory for nothing; each poll has its own span
 * (`ILinkApi.getUpdates`).
 */
export const runMonitor = Effect.fnUntraced(function*(options: {
  readonly connection: ILinkConnection
  readonly inbox: InboxService
  readonly dispatch: (claimed: ClaimedMessage) => Effect.Effect<void>
  readonly state: AccountStateRef
  readonly settings: ActorSettings
}) {
  const api = yield* ILinkApi
  const { connection, inbox, dispatch, state, settings } = options
  let timeoutMs = settings.initialPollTimeoutMs
  let attempt = 0

  const pollOnce: Effect.Effect<void, MonitorSessionExpired | MonitorPollFailed> = Effect.gen(function*() {
    const cursor = yield* inbox.cursor
    const response = yield* api.getUpdates(connection, { get_updates_buf: cursor, timeoutMs }).pipe(
      Effect.mapError((e) =>
        e._tag === "AuthExpired"
          ? new MonitorSessionExpired({ reason: e.message })
          : new MonitorPollFailed({ reason: e.message })
      )
    )
    // ILinkApi maps ret/errcode to errors already; checked again so a test double cannot slip one through.
    const ret = response.ret ?? 0
    const errcode = response.errcode ?? 0
    const refusal = `getupdates ret=${ret} errcode=${errcode} ${response.errmsg ?? ""}`.trim()
    if (ret === sessionExpiredCode || errcode === sessionExpiredCode) {
      return yield* new MonitorSessionExpired({ reason: refusal })
    }
    if (ret !== 0 || errcode !== 0) return yield* new MonitorPollFailed({ reason: refusal })
    const claimed = yield* inbox.claim(response.msgs ?? [], response.get_updates_buf, response.rejected_msgs ?? []).pipe(
      Effect.mapError((e) => new MonitorPollFailed({ reason: e.message }))
    )
    attempt = 0
    if (response.longpolling_timeout_ms !== undefined && response.longpolling_timeout_ms > 0) {
      timeoutMs = response.longpolling_timeout_ms
    }
    yield* markPollDone(state, claimed.length > 0)
    for (const message of claimed) yield* dispatch(message)
  })

  // a failed poll waits out its backoff and the loop polls again; an expired session is not retried. A
  // plain counter and one sleep, not a composed Schedule: an idle account holds no schedule state.
  const pollWithRetry = Effect.catchTag(pollOnce, "MonitorPollFailed", (e) =>
    Effect.gen(function*() {
      attempt++
      yield* markError(state, e.reason)
      yield* Effect.logWarning(`poll failed (attempt ${attempt}): ${e.reason}; retrying with backoff`)
      const delayMs = pollBackoffMs(settings, attempt, yield* Random.next)
      const now = yield* Clock.currentTimeMillis
      yield* setPhase(state, AccountPhase.Backoff({ nextAttemptAt: now + delayMs, attempt }))
      yield* Effect.sleep(Duration.millis(delayMs))
    }))

  return yield* Effect.forever(pollWithRetry).pipe(
    Effect.catchTag("MonitorSessionExpired", (e) =>
      Effect.gen(function*() {
        const since = yield* Clock.currentTimeMillis
        const parked = AccountPhase.AuthExpired({ since, reason: e.reason })
        yield* markError(state, e.reason)
        yield* setPhase(state, parked)
        yield* Effect.logError(
          `session expired, polling stopped (${e.reason}); ` +
            `log in again with \`${LOGIN_COMMAND}\` to resume`
        )
        return parked
      })
    )
  )
})
