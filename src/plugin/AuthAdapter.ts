/**
 * `auth.login`: the terminal QR login behind `openclaw channels login --channel openclaw-weixin`. It runs
 * in the CLI process: it prints the QR and the link as a fallback, asks for the number the phone shows
 * when the server wants one, and saves the login. Then it tells the running gateway, which resumes the
 * account in place or starts it (LoginAnnouncement.ts).
 *
 * `--account` only names the login session: the stored account id always comes from the server's bot id
 * (PROTOCOL §3.3), and a differing id is pointed out. Already bound → ends normally.
 */
import { Effect } from "effect"
import { describeLoginOutcome, loginEventText } from "../login/LoginEvents.js"
import { LoginFlow } from "../login/LoginFlow.js"
import { terminalLoginPrompt, untilEvent } from "../login/LoginPrompt.js"
import { normalizeAccountId } from "../domain/AccountId.js"
import { withLoginSettings } from "./LoginSettings.js"
import { channelConfigFromHostConfig } from "../config/ChannelConfig.js"
import { LoginFailed } from "./PluginErrors.js"
import { announceToGateway, type LoginParams } from "./LoginAnnouncement.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { WeixinAuthAdapter } from "./SdkTypes.js"

export type { LoginParams } from "./LoginAnnouncement.js"

export const terminalLogin = Effect.fn("Auth.terminalLogin")(function*(deps: PluginDeps, params: LoginParams) {
  const config = yield* channelConfigFromHostConfig(params.cfg)
  const flow = yield* LoginFlow
  const say = (text: string) => Effect.sync(() => params.runtime.log(text))
  yield* say("Starting the WeChat login…")
  const outcome = yield* flow.login({
    // Ctrl-C ends the login as Cancelled (a clear message, nothing half-saved) instead of killing the CLI
    cancel: untilEvent(process, "SIGINT"),
    onEvent: (event) => say(loginEventText(event))
  }).pipe(
    Effect.provide(terminalLoginPrompt(deps.terminal.input, deps.terminal.output)),
    withLoginSettings(config)
  )
  switch (outcome._tag) {
    case "Connected": {
      yield* say(describeLoginOutcome(outcome))
      const asked = params.accountId?.trim()
      if (asked !== undefined && asked !== "" && normalizeAccountId(asked) !== outcome.accountId) {
        yield* say(`Note: the account was saved as ${outcome.accountId}, the id WeChat gave this bot (not "${asked}").`)
      }
      return yield* announceToGateway(deps, params, outcome.accountId)
    }
    case "AlreadyConnected":
      return yield* say(describeLoginOutcome(outcome))
    default:
      return yield* new LoginFailed({ reason: describeLoginOutcome(outcome) })
  }
})

export const makeAuthAdapter = (deps: PluginDeps): WeixinAuthAdapter => ({
  login: (params) => deps.runtime.run(terminalLogin(deps, params))
})
