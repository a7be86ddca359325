/**
 * `pairing.notifyApproval`: after `openclaw pairing approve openclaw-weixin <CODE> --notify` (or an
 * approval in the Control UI) the approved user is told in WeChat that they may now talk to the agent.
 *
 * The notice is an ordinary proactive send (OutboundAdapter `sendText`): the running account's Outbox in
 * the gateway, a short-lived one in the CLI process. It rides on the context token of the message that
 * asked for the code. When WeChat would refuse it anyway (no token, the 24 h window since that message
 * closed, the reply budget spent, the token rejected, the login expired) the notice is skipped and the log
 * says why; the approval itself stands either way. Any other failure rejects, and the host reports it.
 */
import { Effect } from "effect"
import { normalizeAccountId } from "../domain/AccountId.js"
import { sendText } from "./OutboundAdapter.js"
import type { PairingNotifyParams } from "./SdkTypes.js"

export const APPROVAL_NOTICE =
  "You have been approved: your messages now reach the assistant of this WeChat bot. Write any time."

/** Refusals that mean "this user cannot be reached now", not "something is broken". */
const SKIPPED = new Set([
  "NoContextToken",
  "ReplyWindowClosed",
  "ReplyBudgetSpent",
  "ContextTokenRejected",
  "AccountAuthExpired"
])

export const notifyApproval = Effect.fn("Pairing.notifyApproval")(
  function*(params: Pick<PairingNotifyParams, "cfg" | "id" | "accountId" | "meta">) {
    const asked = params.accountId ?? params.meta?.["accountId"]
    const accountId = asked === undefined || asked.trim() === "" ? null : normalizeAccountId(asked)
    const sent = yield* sendText({ cfg: params.cfg, to: params.id, text: APPROVAL_NOTICE, accountId }).pipe(
      Effect.map(() => true),
      Effect.catchIf(
        (error): error is typeof error & { readonly message: string } => SKIPPED.has(error._tag),
        (error) =>
          Effect.as(
            Effect.logWarning(`pairing approved for ${params.id}, but the approval notice was not sent: ${error.message}`),
            false
          )
      )
    )
    if (sent) yield* Effect.logInfo(`told ${params.id} in WeChat that their pairing was approved`)
    return sent
  },
  (effect, params) => Effect.annotateLogs(effect, { accountId: params.accountId ?? params.meta?.["accountId"] ?? "" })
)
