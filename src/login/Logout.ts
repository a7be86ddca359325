/**
 * Logout of one account (`gateway.logoutAccount`; the official plugin has none, PROTOCOL §3.9): stop its
 * actor first, so nothing writes the cursor or context tokens back, then delete every file of that account
 * (credentials, cursor, context tokens, allowFrom, our own journals) and its index entry. Other accounts
 * are not touched. Running it again is harmless.
 */
import { Effect, Option } from "effect"
import { normalizeAccountId } from "../domain/AccountId.js"
import { AccountStore } from "../state/AccountStore.js"
import { Supervisor } from "../account/Supervisor.js"

export interface LogoutResult {
  /** the account had credentials or an index entry before this call */
  readonly cleared: boolean
  readonly loggedOut: true
  readonly accountId: string
}

export const logoutAccount = Effect.fn("Logout.account")(function*(rawAccountId: string) {
  const accountId = normalizeAccountId(rawAccountId)
  const accounts = yield* AccountStore
  // absent in the CLI process: there is no running actor to stop there
  const supervisor = yield* Effect.serviceOption(Supervisor)
  const indexed = (yield* accounts.list()).includes(accountId)
  const stored = Option.isSome(yield* accounts.load(accountId))
  if (Option.isSome(supervisor)) yield* supervisor.value.forget(accountId)
  yield* accounts.remove(accountId)
  yield* Effect.logInfo(indexed || stored ? "logged out: the account's files were deleted" : "logout: nothing was stored")
  return { cleared: indexed || stored, loggedOut: true, accountId } satisfies LogoutResult
}, (effect, rawAccountId) => Effect.annotateLogs(effect, { accountId: normalizeAccountId(rawAccountId) }))
