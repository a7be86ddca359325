/**
 * Saving a confirmed login (docs/PROTOCOL.md §3.3): the credentials first, in one atomic write; then the
 * account index; then older accounts of the same WeChat user are removed; then a fresh cursor, and the
 * Supervisor of this process is told (`loginSaved`), which resets the cursor between stopping the old run
 * and starting the new one. In a process without a Supervisor (the CLI), or one that does not run the
 * account, the cursor is reset directly. The whole step is uninterruptible, so a cancelled login never
 * leaves an account half-written.
 */
import { Effect, Option, Redacted, Ref } from "effect"
import type { Supervisor } from "../account/Supervisor.js"
import { normalizeAccountId } from "../domain/AccountId.js"
import { AccountStore } from "../state/AccountStore.js"
import { CursorStore } from "../state/CursorStore.js"
import { LoginEnded, LoginOutcome } from "./LoginEvents.js"

/** What a login tells the Supervisor of its process (the gateway has one; the CLI process has none). */
export type LoginSupervisor = Pick<Supervisor, "loginSaved" | "forget">

/** What the server sent with `confirmed`, checked: a bot id and a non-blank token. */
export interface ConfirmedLogin {
  readonly rawBotId: string
  readonly token: Redacted.Redacted<string>
  readonly baseUrl: string | undefined
  readonly userId: string | undefined
  /** the QR base URL, reported as the account's base URL when the server named none */
  readonly fallbackBaseUrl: string
}

/** Saves a confirmed login; every ending, a failed write included, is a `LoginOutcome`. */
export const saveLogin = (
  listener: Option.Option<LoginSupervisor>,
  login: ConfirmedLogin
): Effect.Effect<LoginOutcome, never, AccountStore | CursorStore> =>
  Effect.gen(function*() {
    const accounts = yield* AccountStore
    const cursors = yield* CursorStore
    const accountId = normalizeAccountId(login.rawBotId)
    yield* accounts.save(accountId, {
      token: login.token,
      ...(login.baseUrl === undefined ? {} : { baseUrl: login.baseUrl }),
      ...(login.userId === undefined ? {} : { userId: login.userId })
    }).pipe(
      Effect.tapError((error) => Effect.logError(`could not save the new login: ${error.message}`)),
      Effect.mapError((error) =>
        new LoginEnded({
          outcome: LoginOutcome.Failed({ reason: `could not save the credentials of ${accountId}: ${error.message}` })
        })
      )
    )
    yield* accounts.register(accountId).pipe(
      Effect.tapError((error) => Effect.logError(`saved the new login but could not index it: ${error.message}`)),
      Effect.mapError((error) =>
        new LoginEnded({
          outcome: LoginOutcome.Failed({
            reason: `saved the credentials of ${accountId} but could not add it to accounts.json ` +
              `(${error.message}); fix the state dir, then log in again`
          })
        })
      )
    )
    if (login.userId !== undefined) yield* removeSameUserAccounts(accounts, listener, accountId, login.userId)
    // re-login = fresh cursor: the new session starts from the server's current position
    const resetCursor = cursors.save(accountId, "").pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`could not reset the message cursor after login (${error.message}); old updates may be skipped`)
      )
    )
    if (Option.isSome(listener)) {
      const cursorReset = yield* Ref.make(false)
      const resetOnce = Effect.zipRight(resetCursor, Ref.set(cursorReset, true))
      yield* listener.value.loginSaved(accountId, resetOnce).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("the new login was saved but the running gateway could not pick it up; restart it", cause)
        )
      )
      if (!(yield* Ref.get(cursorReset))) yield* resetCursor
    } else {
      yield* resetCursor
    }
    yield* Effect.logInfo("new login saved")
    return LoginOutcome.Connected({
      accountId,
      rawBotId: login.rawBotId,
      userId: login.userId,
      baseUrl: login.baseUrl ?? login.fallbackBaseUrl
    })
  }).pipe(
    Effect.catchTag("LoginEnded", ({ outcome }) => Effect.succeed(outcome)),
    Effect.annotateLogs({ accountId: normalizeAccountId(login.rawBotId) }),
    Effect.uninterruptible
  )

/** docs/PROTOCOL.md §3.3 step 4: one WeChat user keeps one bot; older logins of the same user are removed. */
const removeSameUserAccounts = (
  accounts: AccountStore,
  listener: Option.Option<LoginSupervisor>,
  keptAccountId: string,
  userId: string
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const ids = yield* accounts.list()
    for (const other of ids) {
      if (other === keptAccountId) continue
      const stored = yield* accounts.load(other)
      // `userId` is trimmed and not blank, so a blank stored one never matches
      if (!Option.exists(stored, (account) => account.userId?.trim() === userId)) continue
      // stop it before deleting its files, so it cannot write its cursor back afterwards
      if (Option.isSome(listener)) yield* listener.value.forget(other).pipe(Effect.ignoreLogged)
      yield* accounts.remove(other)
      yield* Effect.logInfo(`removed account ${other}: the same WeChat user is now logged in as ${keptAccountId}`)
    }
  }).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(
        `could not remove older accounts of the same WeChat user (${error.message}); ` +
          "remove them with `openclaw channels logout` if they stay"
      )
    )
  )
