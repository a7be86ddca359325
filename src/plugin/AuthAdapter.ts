/**
 * `auth.login`: the terminal QR login behind `openclaw channels login --channel openclaw-weixin`. It runs
 * in the CLI process (registration mode `discovery`): it prints the QR and the link as a fallback, asks
 * for the number the phone shows when the server wants one, and saves the login. Afterwards the CLI asks
 * the running gateway to start the account.
 *
 * `--account` only names the login session: the stored account id always comes from the server's bot id
 * (ILINK §3.3), and a differing id is pointed out. Already bound → ends normally.
 *
 * Starting the new account: the CLI's own `channels.start` names the account it chose BEFORE the login
 * (`--account`, else `config.defaultAccountId`, i.e. the first stored account), so for a second account
 * it targets the one already running. The login therefore asks the gateway to start the saved account
 * itself, over the same RPC; only that account starts, the others keep running. No gateway → the login
 * still succeeds and says the account starts with the next gateway start.
 */
import { Effect, Schema } from "effect"
import {
  describeLoginEvent,
  describeLoginOutcome,
  LoginFlow,
  LoginFlowSettings,
  terminalLoginPrompt,
  terminalQrText,
  untilEvent
} from "../login/LoginFlow.js"
import { normalizeAccountId, WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { ILinkSettings } from "../ilink/ILinkSettings.js"
import { channelConfigFromHostConfig } from "../config/ChannelConfig.js"
import { LoginFailed } from "./PluginErrors.js"
import { GATEWAY_RPC_TIMEOUT_MS, type GatewayRpc, type PluginDeps } from "./PluginDeps.js"
import type { WeixinAuthAdapter } from "./SdkTypes.js"

export type LoginParams = Parameters<NonNullable<WeixinAuthAdapter["login"]>>[0]

const STATUS_COMMAND = `openclaw channels status --channel ${WEIXIN_CHANNEL_ID} --probe`

/** No gateway answered `channels.start` (not running, unreachable, refused, or too slow). */
export class GatewayUnreachable extends Schema.TaggedError<GatewayUnreachable>()("GatewayUnreachable", {
  accountId: Schema.String,
  reason: Schema.String
}) {}

/** The gateway answered `channels.start` with something this plugin cannot read. */
export class GatewayAnswerUnreadable extends Schema.TaggedError<GatewayAnswerUnreadable>()("GatewayAnswerUnreadable", {
  accountId: Schema.String,
  answer: Schema.String
}) {}

/** The part of the `channels.start` answer the login reports on (OpenClaw 2026.9.6). */
export const StartChannelAnswer = Schema.Struct({
  outcome: Schema.Struct({ status: Schema.String, reason: Schema.optional(Schema.String) })
})
export type StartChannelAnswer = typeof StartChannelAnswer.Type

/** What the login prints about the gateway's answer. */
export const describeGatewayStart = (accountId: string, answer: StartChannelAnswer): string => {
  const { reason, status } = answer.outcome
  if (status === "handed-off") return `The running gateway is starting account ${accountId} now.`
  if (reason === "task-owned") return `Account ${accountId} is already running in the gateway.`
  return `The gateway did not start account ${accountId} (${status}${reason === undefined ? "" : `: ${reason}`}); ` +
    `check it with \`${STATUS_COMMAND}\`.`
}

/** The first line only: the host's connection errors go on with advice the CLI prints again right after. */
const describeError = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]?.trim().replace(/\.$/, "") ?? ""

/** Asks the running gateway to start `accountId`; a missing gateway is a typed error, never a defect. */
export const startInRunningGateway = Effect.fn("Auth.startInRunningGateway")(
  function*(rpc: GatewayRpc, cfg: unknown, accountId: string) {
    const answer = yield* Effect.tryPromise({
      try: (signal) => rpc.startChannelAccount({ cfg, channel: WEIXIN_CHANNEL_ID, accountId, signal }),
      catch: (error) => new GatewayUnreachable({ accountId, reason: describeError(error) })
    }).pipe(
      Effect.timeoutFail({
        duration: GATEWAY_RPC_TIMEOUT_MS,
        onTimeout: () => new GatewayUnreachable({ accountId, reason: `no answer within ${GATEWAY_RPC_TIMEOUT_MS / 1000} s` })
      })
    )
    return yield* Schema.decodeUnknown(StartChannelAnswer)(answer).pipe(
      Effect.mapError(() => new GatewayAnswerUnreadable({ accountId, answer: JSON.stringify(answer) ?? String(answer) }))
    )
  }
)

const isRemoteGateway = (cfg: unknown): boolean => {
  const gateway = (cfg as { readonly gateway?: { readonly mode?: unknown } } | null | undefined)?.gateway
  return gateway?.mode === "remote"
}

/**
 * After a CLI login saved `accountId`: starts it in the running gateway unless the CLI's own start (for
 * the account it chose before the login) already covers it. Always succeeds; says what happened.
 */
export const announceToGateway = Effect.fn("Auth.announceToGateway")(
  function*(deps: PluginDeps, params: LoginParams, accountId: string) {
    const say = (text: string) => Effect.sync(() => params.runtime.log(text))
    const rpc = deps.gatewayRpc.value
    const chosenByCli = params.accountId?.trim()
    if (rpc === undefined) return
    if (chosenByCli !== undefined && chosenByCli !== "" && normalizeAccountId(chosenByCli) === accountId) return
    if (isRemoteGateway(params.cfg)) {
      return yield* say(`The gateway is remote: account ${accountId} was saved on this machine only and is not started there.`)
    }
    yield* startInRunningGateway(rpc, params.cfg, accountId).pipe(
      Effect.flatMap((answer) => say(describeGatewayStart(accountId, answer))),
      Effect.catchTags({
        GatewayUnreachable: (error) =>
          say(`No running gateway answered (${error.reason}); account ${accountId} starts with the next gateway start.`),
        GatewayAnswerUnreadable: (error) =>
          Effect.zipRight(
            Effect.logWarning(`unexpected channels.start answer for account ${accountId}: ${error.answer}`),
            say(`The gateway gave an unexpected answer when asked to start account ${accountId}; check it with \`${STATUS_COMMAND}\`.`)
          )
      })
    )
  }
)

export const terminalLogin = Effect.fn("Auth.terminalLogin")(function*(deps: PluginDeps, params: LoginParams) {
  const config = yield* channelConfigFromHostConfig(params.cfg)
  const flow = yield* LoginFlow
  const say = (text: string) => Effect.sync(() => params.runtime.log(text))
  yield* say("Starting the WeChat login…")
  const outcome = yield* flow.login({
    // Ctrl-C ends the login as Cancelled (a clear message, nothing half-saved) instead of killing the CLI
    cancel: untilEvent(process, "SIGINT"),
    onEvent: (event) => say(event._tag === "QrShown" ? terminalQrText(event) : describeLoginEvent(event))
  }).pipe(
    Effect.provide(terminalLoginPrompt(deps.terminal.input, deps.terminal.output)),
    Effect.provideService(LoginFlowSettings, { qrBaseUrl: config.baseUrl }),
    Effect.provideService(ILinkSettings, { botAgent: config.botAgent, routeTag: config.routeTag })
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
