/**
 * The gateway RPC method through which a CLI login reaches the running gateway: "a login of this account
 * was just saved; pick it up". The CLI process cannot reach the account's actor, and the host's own
 * `channels.start` answers "task-owned" for an account whose startAccount still runs (a parked account
 * included), so the plugin registers its own method in the gateway (ResumeMethod.ts) and the CLI login
 * calls it (AuthAdapter.ts). Both sides decode with these schemas; an older gateway without the method
 * answers "unknown method", which the CLI tells apart.
 */
import { Schema } from "effect"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"

/** Plugin-prefixed, as the host asks of plugin methods. */
export const RESUME_ACCOUNT_METHOD = `${WEIXIN_CHANNEL_ID}.resumeAccount`

/** The same scope the host requires for `channels.start` / `channels.stop`: it restarts an account. */
export const RESUME_ACCOUNT_SCOPE = "operator.admin"

export const ResumeAccountParams = Schema.Struct({ accountId: Schema.NonEmptyTrimmedString })
export type ResumeAccountParams = typeof ResumeAccountParams.Type

/** The gateway ran the account (running, backing off or parked) and restarted it with the new login. */
export const Resumed = Schema.TaggedStruct("Resumed", {
  accountId: Schema.String,
  /** the account's phase before the restart (`AuthExpired` for a session the server expired) */
  was: Schema.String
})

/** The host has not started this account in the gateway: the caller may ask the host to start it. */
export const NotRunningHere = Schema.TaggedStruct("NotRunningHere", { accountId: Schema.String })

/** The gateway finds no stored login for the account (e.g. it reads another state directory). */
export const NoStoredLogin = Schema.TaggedStruct("NoStoredLogin", { accountId: Schema.String })

export const ResumeAccountAnswer = Schema.Union(Resumed, NotRunningHere, NoStoredLogin)
export type ResumeAccountAnswer = typeof ResumeAccountAnswer.Type
