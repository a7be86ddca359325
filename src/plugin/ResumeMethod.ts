/**
 * The gateway side of ResumeProtocol: the `openclaw-weixin.resumeAccount` method the gateway process
 * registers (PluginEntry, registration mode `full`). It decodes the params, runs `resumeAfterLogin` on
 * the plugin runtime, in the async context the host started the account in (HostTaskContext.ts), and
 * answers with its outcome. Every outcome, an unknown account included, is an answer; only bad params
 * (INVALID_REQUEST) and a failure to run (UNAVAILABLE) answer with an error.
 */
import { Effect, Option, Redacted, Schema } from "effect"
import type { GatewayRequestHandlerOptions, OpenClawPluginApi } from "openclaw/plugin-sdk/core"
import { AccountStore } from "../state/AccountStore.js"
import type { PluginDeps } from "./PluginDeps.js"
import { resumeAfterLogin } from "./ResumeAfterLogin.js"
import { RESUME_ACCOUNT_METHOD, RESUME_ACCOUNT_SCOPE, ResumeAccountParams } from "./ResumeProtocol.js"

export type ResumeRequest = Pick<GatewayRequestHandlerOptions, "params" | "respond">

/** Remembers the new token for the redacting logger, as startAccount does for the token it starts with. */
const rememberStoredToken = (deps: PluginDeps, accountId: string) =>
  Effect.flatMap(AccountStore, (store) => store.load(accountId)).pipe(
    Effect.map(Option.flatMap((account) => Option.fromNullable(account.token))),
    Effect.tap(Option.match({
      onNone: () => Effect.void,
      onSome: (token) => Effect.sync(() => deps.runtime.secrets.remember(Redacted.value(token)))
    })),
    Effect.ignore
  )

export const makeResumeMethod = (deps: PluginDeps) => async ({ params, respond }: ResumeRequest): Promise<void> => {
  const decoded = Schema.decodeUnknownEither(ResumeAccountParams)(params)
  if (decoded._tag === "Left") {
    respond(false, undefined, {
      code: "INVALID_REQUEST",
      message: `${RESUME_ACCOUNT_METHOD} needs { accountId: string }`
    })
    return
  }
  const { accountId } = decoded.right
  try {
    // outside this request's async context: the restarted account outlives the request
    const answer = await deps.hostTaskContexts.run(
      accountId,
      () => deps.runtime.run(Effect.zipRight(rememberStoredToken(deps, accountId), resumeAfterLogin(accountId)))
    )
    respond(true, answer)
  } catch (error) {
    // e.g. the state dir is unreadable: the caller says so and the login stays saved
    const reason = error instanceof Error ? error.message : String(error)
    respond(false, undefined, { code: "UNAVAILABLE", message: `${RESUME_ACCOUNT_METHOD} failed for ${accountId}: ${reason}` })
  }
}

/** Registers the method when the host offers gateway methods (the gateway's `full` registration). */
export const registerResumeMethod = (api: OpenClawPluginApi, deps: PluginDeps): void => {
  if (typeof api.registerGatewayMethod !== "function") return
  api.registerGatewayMethod(RESUME_ACCOUNT_METHOD, makeResumeMethod(deps), { scope: RESUME_ACCOUNT_SCOPE })
}
