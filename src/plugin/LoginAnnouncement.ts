/**
 * After `openclaw channels login` saved an account in the CLI process: tell the running gateway, which
 * cannot see that the login changed, and print what it did. The login itself has succeeded by then;
 * nothing here can fail it.
 *
 * 1. `openclaw-weixin.resumeAccount` (ResumeProtocol.ts): if the gateway runs the account (running,
 *    backing off, or parked after −14), it restarts it in place with the new login; other accounts and
 *    the host's own task for the account are left alone.
 * 2. The gateway has not started the account: ask the host to start it with `channels.start`. The CLI
 *    itself calls `channels.start` after the login, but for the account it chose BEFORE the login
 *    (`--account`, else the first stored account), so a new second account would be missed; when that
 *    choice is the saved account, the host's own call is left to do it.
 * 3. A gateway running an older build of this plugin answers "unknown method": step 2 alone, and a
 *    running account there needs a gateway restart to use the new login, which the login says.
 *
 * No gateway, a remote one, a refusal, an unreadable answer: the login says so and still succeeds.
 */
import { Effect, Either, Schema } from "effect"
import { normalizeAccountId, WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { GATEWAY_RPC_TIMEOUT_MS, type GatewayRpc, type PluginDeps } from "./PluginDeps.js"
import { RESUME_ACCOUNT_METHOD, RESUME_ACCOUNT_SCOPE, ResumeAccountAnswer } from "./ResumeProtocol.js"
import type { WeixinAuthAdapter } from "./SdkTypes.js"

export type LoginParams = Parameters<NonNullable<WeixinAuthAdapter["login"]>>[0]

const STATUS_COMMAND = `openclaw channels status --channel ${WEIXIN_CHANNEL_ID} --probe`
const RESTART_HINT = "restart the gateway (e.g. `openclaw gateway restart`)"

/** No gateway answered (not running, unreachable, or too slow). */
export class GatewayUnreachable extends Schema.TaggedError<GatewayUnreachable>()("GatewayUnreachable", {
  method: Schema.String,
  reason: Schema.String
}) {}

/** The gateway answered with an error (missing scope, bad params, a failure in the handler). */
export class GatewayRefused extends Schema.TaggedError<GatewayRefused>()("GatewayRefused", {
  method: Schema.String,
  code: Schema.String,
  reason: Schema.String
}) {}

/** The gateway does not know the method: its build of this plugin predates it. */
export class GatewayMethodUnknown extends Schema.TaggedError<GatewayMethodUnknown>()("GatewayMethodUnknown", {
  method: Schema.String
}) {}

/** The gateway answered with something this plugin cannot read. */
export class GatewayAnswerUnreadable extends Schema.TaggedError<GatewayAnswerUnreadable>()("GatewayAnswerUnreadable", {
  method: Schema.String,
  answer: Schema.String
}) {}

export type GatewayCallError = GatewayUnreachable | GatewayRefused | GatewayMethodUnknown | GatewayAnswerUnreadable

/** The part of the `channels.start` answer the login reports on (OpenClaw 2026.9.6). */
export const StartChannelAnswer = Schema.Struct({
  outcome: Schema.Struct({ status: Schema.String, reason: Schema.optional(Schema.String) })
})
export type StartChannelAnswer = typeof StartChannelAnswer.Type

/** The first line only: the host's connection errors go on with advice the CLI prints again right after. */
const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]?.trim().replace(/\.$/, "") ?? ""

/** The host's `GatewayClientRequestError`: the gateway answered, with an error. */
const classifyRejection = (method: string, error: unknown): GatewayCallError => {
  const code = (error as { readonly gatewayCode?: unknown } | null)?.gatewayCode
  if (!(error instanceof Error) || typeof code !== "string") {
    return new GatewayUnreachable({ method, reason: firstLine(error) })
  }
  if (code === "INVALID_REQUEST" && error.message === `unknown method: ${method}`) return new GatewayMethodUnknown({ method })
  return new GatewayRefused({ method, code, reason: firstLine(error) })
}

/** One call to the running gateway, its answer decoded; every way it can go wrong is a typed error. */
export const callRunningGateway = <A, I>(
  rpc: GatewayRpc,
  request: { readonly cfg: unknown; readonly method: string; readonly params: Record<string, unknown>; readonly scopes?: ReadonlyArray<string> },
  answer: Schema.Schema<A, I>
): Effect.Effect<A, GatewayCallError> =>
  Effect.tryPromise({
    try: (signal) => rpc.call({ ...request, signal }),
    catch: (error) => classifyRejection(request.method, error)
  }).pipe(
    Effect.timeoutFail({
      duration: GATEWAY_RPC_TIMEOUT_MS,
      onTimeout: () => new GatewayUnreachable({ method: request.method, reason: `no answer within ${GATEWAY_RPC_TIMEOUT_MS / 1000} s` })
    }),
    Effect.flatMap((raw) =>
      Schema.decodeUnknown(answer)(raw).pipe(
        Effect.mapError(() => new GatewayAnswerUnreadable({ method: request.method, answer: JSON.stringify(raw) ?? String(raw) }))
      )
    )
  )

const resumeInGateway = (rpc: GatewayRpc, cfg: unknown, accountId: string) =>
  callRunningGateway(
    rpc,
    { cfg, method: RESUME_ACCOUNT_METHOD, params: { accountId }, scopes: [RESUME_ACCOUNT_SCOPE] },
    ResumeAccountAnswer
  )

const startInGateway = (rpc: GatewayRpc, cfg: unknown, accountId: string) =>
  callRunningGateway(rpc, { cfg, method: "channels.start", params: { channel: WEIXIN_CHANNEL_ID, accountId } }, StartChannelAnswer)

/** What the login prints when the gateway restarted the account with the new login. */
export const describeResumed = (accountId: string, was: string): string => {
  switch (was) {
    case "AuthExpired":
      return `The running gateway picked up the new login: account ${accountId} runs again in place (its login had expired).`
    case "Running":
    case "Backoff":
      return `The running gateway restarted account ${accountId} in place with the new login.`
    default:
      // the host had just started it (e.g. its own start of a new account raced the login)
      return `The running gateway is starting account ${accountId} now.`
  }
}

/** What the login prints about a `channels.start` answer. */
export const describeGatewayStart = (accountId: string, answer: StartChannelAnswer): string => {
  const { reason, status } = answer.outcome
  if (status === "handed-off") return `The running gateway is starting account ${accountId} now.`
  if (reason === "task-owned") return `Account ${accountId} is already running in the gateway.`
  return `The gateway did not start account ${accountId} (${status}${reason === undefined ? "" : `: ${reason}`}); ` +
    `check it with \`${STATUS_COMMAND}\`.`
}

/** What the login prints when a call went wrong (GatewayMethodUnknown is handled before). */
const describeFailure = (accountId: string, error: GatewayCallError): Effect.Effect<string> => {
  switch (error._tag) {
    case "GatewayUnreachable":
      return Effect.succeed(
        `No running gateway answered (${error.reason}); account ${accountId} starts with the next gateway start.`
      )
    case "GatewayRefused":
      return Effect.succeed(
        `The gateway refused ${error.method} for account ${accountId} (${error.reason}); the login is saved: ` +
          `${RESTART_HINT} if the account does not run, and check it with \`${STATUS_COMMAND}\`.`
      )
    case "GatewayMethodUnknown":
    case "GatewayAnswerUnreadable":
      return Effect.as(
        Effect.logWarning(`unexpected ${error.method} answer for account ${accountId}: ${JSON.stringify(error)}`),
        `The gateway gave an unexpected answer to ${error.method} for account ${accountId}; check it with \`${STATUS_COMMAND}\`.`
      )
  }
}

const isRemoteGateway = (cfg: unknown): boolean => {
  const gateway = (cfg as { readonly gateway?: { readonly mode?: unknown } } | null | undefined)?.gateway
  return gateway?.mode === "remote"
}

/** Tells the running gateway about the login just saved for `accountId`. Always succeeds; says what happened. */
export const announceToGateway = Effect.fn("Auth.announceToGateway")(
  function*(deps: PluginDeps, params: LoginParams, accountId: string) {
    const say = (text: string) => Effect.sync(() => params.runtime.log(text))
    const rpc = deps.gatewayRpc.value
    if (rpc === undefined) return
    if (isRemoteGateway(params.cfg)) {
      return yield* say(`The gateway is remote: account ${accountId} was saved on this machine only and is not started there.`)
    }
    const chosenByCli = params.accountId?.trim()
    // the CLI's own channels.start, right after this, names the saved account: no need to ask twice
    const hostStartsIt = chosenByCli !== undefined && chosenByCli !== "" && normalizeAccountId(chosenByCli) === accountId
    const start = (olderBuild: boolean) =>
      hostStartsIt
        ? olderBuild
          ? say(
            `The running gateway has an older build of ${WEIXIN_CHANNEL_ID} that cannot pick up a new login in place: ` +
              `if account ${accountId} was already running there, ${RESTART_HINT}.`
          )
          : Effect.void
        : startInGateway(rpc, params.cfg, accountId).pipe(
          Effect.flatMap((answer) =>
            say(
              olderBuild && answer.outcome.reason === "task-owned"
                ? `Account ${accountId} already runs in the gateway, whose build of ${WEIXIN_CHANNEL_ID} cannot pick up ` +
                  `a new login in place: ${RESTART_HINT} to use it.`
                : describeGatewayStart(accountId, answer)
            )
          )
        )
    const resumed = yield* Effect.either(resumeInGateway(rpc, params.cfg, accountId))
    const next: Effect.Effect<void, GatewayCallError> = Either.match(resumed, {
      onLeft: (error) => error._tag === "GatewayMethodUnknown" ? start(true) : Effect.fail(error),
      onRight: (answer) => {
        switch (answer._tag) {
          case "Resumed":
            return say(describeResumed(accountId, answer.was))
          case "NotRunningHere":
            return start(false)
          case "NoStoredLogin":
            return say(
              `The running gateway finds no saved login for account ${accountId}; is it using the same state directory ` +
                `as this command? Check with \`${STATUS_COMMAND}\`.`
            )
        }
      }
    })
    yield* next.pipe(Effect.catchAll((error) => Effect.flatMap(describeFailure(accountId, error), say)))
  }
)
