/**
 * What the gateway does when told that a login of an account was saved by another process (the CLI's
 * `openclaw channels login`): the same as for a web login saved in the gateway itself. If the host
 * started the account here (running, backing off, or parked after −14), stop that run, reset the cursor,
 * and run it again with the stored login, in place: the host's startAccount task and every other account
 * stay as they are. Otherwise do nothing and say so, so the caller can ask the host to start it.
 *
 * This is the one place the gateway side of the resume mechanism touches the Supervisor.
 */
import { Effect, Option, Redacted } from "effect"
import { Supervisor } from "../account/Supervisor.js"
import { normalizeAccountId } from "../domain/AccountId.js"
import { AccountStore } from "../state/AccountStore.js"
import { CursorStore } from "../state/CursorStore.js"
import { type ResumeAccountAnswer, Resumed, NoStoredLogin, NotRunningHere } from "./ResumeProtocol.js"

export const resumeAfterLogin = Effect.fn("Plugin.resumeAfterLogin")(function*(rawId: string) {
  const accountId = normalizeAccountId(rawId)
  const stored = yield* (yield* AccountStore).load(accountId)
  const token = Option.flatMap(stored, (account) => Option.fromNullable(account.token))
  if (Option.isNone(token) || Redacted.value(token.value) === "") {
    yield* Effect.logWarning("told of a new login, but no stored login is found for this account")
    return NoStoredLogin.make({ accountId }) as ResumeAccountAnswer
  }
  const supervisor = yield* Supervisor
  const was = Option.match(yield* supervisor.status(accountId), { onNone: () => "Unknown", onSome: (s) => s.phase._tag })
  // re-login = fresh cursor; reset again here, after the old run stopped, so it cannot write its own back
  const resetCursor = (yield* CursorStore).save(accountId, "").pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(`could not reset the message cursor after login (${error.message}); old updates may be skipped`)
    )
  )
  // the Supervisor holds a host binding only for an account the host started here
  if ((yield* supervisor.loginSaved(accountId, resetCursor)) === "not-running-here") {
    yield* Effect.logInfo("told of a new login for an account the host has not started here")
    return NotRunningHere.make({ accountId }) as ResumeAccountAnswer
  }
  return Resumed.make({ accountId, was }) as ResumeAccountAnswer
}, (effect, rawId) => Effect.annotateLogs(effect, { accountId: normalizeAccountId(rawId) }))
