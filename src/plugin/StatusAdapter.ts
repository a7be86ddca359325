/**
 * `status`: what `openclaw channels status [--probe]` shows. The account's runtime snapshot is the one
 * `gateway.startAccount` publishes through `ctx.setStatus` (see `statusSnapshot`); issues are read from
 * it: an expired login (log in again) and a stalled poll (no getupdates completed for over 120 s).
 *
 * The probe must not call getupdates: a second long-poll would race the account's own poller for the
 * cursor. It checks what can be checked without side effects: a token is stored, the base URL is valid,
 * the live actor's phase (when this process runs it), and, when the login stored the scanning user's
 * id, one read-only `getconfig` for that user: a bad or expired token is answered with -14, any other
 * answer (even a `ret` for a user without context) means the token passed authentication.
 */
import { Duration, Effect, Either, Option } from "effect"
import { type AccountPhase, type AccountStatus, isParked, whatToDo } from "../account/AccountStatus.js"
import { Supervisor } from "../account/Supervisor.js"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import { ILinkConnection } from "../ilink/ILinkConnection.js"
import { ILinkSettings } from "../ilink/ILinkSettings.js"
import { capabilitiesDiagnostics } from "./Capabilities.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { ResolvedWeixinAccount } from "../config/ResolvedAccount.js"
import type { AccountSnapshot, StatusIssue, WeixinStatusAdapter } from "./SdkTypes.js"

import { POLL_STALL_MS } from "../config/Defaults.js"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"

export { POLL_STALL_MS } from "../config/Defaults.js"

export type StatusState =
  | "starting"
  | "running"
  | "backoff"
  | "auth-expired"
  | "not-logged-in"
  | "bad-config"
  | "stopped"
  | "poll-stalled"

const phaseState: Record<AccountPhase["_tag"], StatusState> = {
  Starting: "starting",
  Running: "running",
  Backoff: "backoff",
  AuthExpired: "auth-expired",
  NotLoggedIn: "not-logged-in",
  BadConfig: "bad-config",
  Stopped: "stopped"
}

const BLOCKED: ReadonlySet<StatusState> = new Set(["auth-expired", "not-logged-in", "bad-config"])

const lifecycleOf = (state: StatusState): NonNullable<AccountSnapshot["lifecycle"]> =>
  state === "starting"
    ? "starting"
    : state === "running"
    ? "ready"
    : BLOCKED.has(state)
    ? "blocked"
    : state === "stopped"
    ? "stopped"
    : "recovering"

/**
 * The host snapshot of an actor status at `now`. `pollingSince` is when polling was expected to begin
 * (the start of the account), used for the stall check before the first poll completes.
 */
export const statusSnapshot = (
  accountId: string,
  status: AccountStatus,
  now: number,
  pollingSince: number
): AccountSnapshot => {
  const phase = status.phase._tag
  const polling = phase === "Running" || phase === "Backoff"
  const lastActivity = status.lastPollAt ?? pollingSince
  const stalled = polling && now - lastActivity > POLL_STALL_MS
  const state: StatusState = stalled ? "poll-stalled" : phaseState[phase]
  const reason = isParked(status.phase)
    ? whatToDo(status.phase)
    : stalled
    ? `no poll has completed for ${Math.round((now - lastActivity) / 1000)} s`
    : status.phase._tag === "Backoff"
    ? `retrying after a failed poll (attempt ${status.phase.attempt})`
    : undefined
  return {
    accountId,
    running: phase !== "Stopped",
    connected: phase === "Running" && !stalled,
    statusState: state,
    lifecycle: lifecycleOf(state),
    ...(reason === undefined ? {} : { stateReason: reason }),
    lastTransportActivityAt: status.lastPollAt ?? null,
    lastInboundAt: status.lastInboundAt ?? null,
    lastOutboundAt: status.lastOutboundAt ?? null,
    lastError: status.lastError?.message ?? null
  }
}

const LOGIN_FIX = `run \`${LOGIN_COMMAND}\` and scan the QR code with WeChat`

/** Issues for `channels status`, read from the snapshots the accounts published. */
export const collectStatusIssues = (accounts: ReadonlyArray<AccountSnapshot>): Array<StatusIssue> =>
  accounts.flatMap((snapshot): Array<StatusIssue> => {
    if (snapshot.statusState === "auth-expired") {
      return [{
        channel: WEIXIN_CHANNEL_ID,
        accountId: snapshot.accountId,
        kind: "auth",
        message: `the WeChat login of account ${snapshot.accountId} has expired, or the bot was logged in on another ` +
          "OpenClaw (which ends this login); it receives and sends nothing until you log in again: scanning the QR code takes the bot back",
        fix: LOGIN_FIX
      }]
    }
    if (snapshot.statusState === "not-logged-in") {
      return [{
        channel: WEIXIN_CHANNEL_ID,
        accountId: snapshot.accountId,
        kind: "config",
        message: `WeChat account ${snapshot.accountId} is not logged in`,
        fix: LOGIN_FIX
      }]
    }
    if (snapshot.statusState === "bad-config") {
      return [{
        channel: WEIXIN_CHANNEL_ID,
        accountId: snapshot.accountId,
        kind: "config",
        message: `WeChat account ${snapshot.accountId} cannot run with its configuration: ${snapshot.stateReason ?? "see its last error"}`,
        fix: "set an http(s) baseUrl in channels.openclaw-weixin (or for the account), or log in again"
      }]
    }
    if (snapshot.statusState === "poll-stalled") {
      return [{
        channel: WEIXIN_CHANNEL_ID,
        accountId: snapshot.accountId,
        kind: "runtime",
        message: `polling of WeChat account ${snapshot.accountId} has stalled: ${snapshot.stateReason ?? `no poll completed for over ${POLL_STALL_MS / 1000} s`}`,
        fix: "check the network and the configured baseUrl; restart the gateway if it persists"
      }]
    }
    if (snapshot.configured === false && snapshot.enabled !== false) {
      return [{
        channel: WEIXIN_CHANNEL_ID,
        accountId: snapshot.accountId,
        kind: "config",
        message: `WeChat account ${snapshot.accountId} is not logged in`,
        fix: LOGIN_FIX
      }]
    }
    return []
  })

export interface WeixinProbe {
  readonly ok: boolean
  readonly configured: boolean
  readonly baseUrl: string
  /** phase of the actor when it runs in this process */
  readonly phase: string | undefined
  /** `getconfig` with the stored token: accepted, expired (-14), server unreachable, or not tried */
  readonly token: "accepted" | "expired" | "unreachable" | "not-checked"
  readonly detail: string
  /** why the probe failed (the host prints it as "Probe: failed (<error>)"); absent when it passed */
  readonly error?: string
}

/** A failed probe carries its reason where the host looks for it. */
const withError = (probe: WeixinProbe): WeixinProbe => (probe.ok ? probe : { ...probe, error: probe.detail })

/** The probe as an effect (see the module comment for what it checks and why not getupdates). */
export const probeAccount = Effect.fn("Status.probeAccount")(
  function*(account: ResolvedWeixinAccount, timeoutMs: number) {
    const supervisor = yield* Supervisor
    const api = yield* ILinkApi
    const live = yield* supervisor.status(account.accountId)
    const phase = Option.getOrUndefined(Option.map(live, (s) => s.phase._tag))
    const base = { configured: account.configured, baseUrl: account.baseUrl, phase }
    if (account.token === undefined) {
      return { ...base, ok: false, token: "not-checked", detail: "not logged in" } satisfies WeixinProbe
    }
    const connection = ILinkConnection.make({ baseUrl: account.baseUrl, token: account.token, accountId: account.accountId })
    if (Either.isLeft(connection)) {
      return { ...base, ok: false, token: "not-checked", detail: connection.left.message } satisfies WeixinProbe
    }
    if (phase === "AuthExpired") {
      return { ...base, ok: false, token: "expired", detail: "the login expired; log in again" } satisfies WeixinProbe
    }
    if (phase === "NotLoggedIn" || phase === "BadConfig") {
      const parked = Option.getOrThrow(live).phase
      return {
        ...base,
        ok: false,
        token: "not-checked",
        detail: isParked(parked) ? whatToDo(parked) : "the account is parked"
      } satisfies WeixinProbe
    }
    if (account.userId === undefined) {
      return { ...base, ok: true, token: "not-checked", detail: "token stored; no user id to check it with" } satisfies WeixinProbe
    }
    const answer = yield* api.getConfig(connection.right, { ilink_user_id: account.userId }).pipe(
      Effect.timeout(Duration.millis(Math.max(1_000, timeoutMs))),
      Effect.either,
      // the request carries the account's bot agent and route tag, like its own requests
      Effect.provideService(ILinkSettings, account.http)
    )
    if (Either.isRight(answer)) {
      return { ...base, ok: true, token: "accepted", detail: "the server accepted the bot token" } satisfies WeixinProbe
    }
    const error = answer.left
    if (error._tag === "ILinkApiError") {
      const code = error.ret ?? error.errcode
      // the server turns a bad or expired token away with -14; any other answer came past authentication
      return code === -14
        ? { ...base, ok: false, token: "expired", detail: "the server says the login expired; log in again" } satisfies WeixinProbe
        : {
          ...base,
          ok: true,
          token: "accepted",
          detail: `the server accepted the bot token (getconfig answered ret=${code ?? "?"}, which needs no action)`
        } satisfies WeixinProbe
    }
    return { ...base, ok: false, token: "unreachable", detail: error.message } satisfies WeixinProbe
  },
  (effect, account) => Effect.annotateLogs(Effect.map(effect, withError), { accountId: account.accountId })
)

export const defaultRuntimeSnapshot: AccountSnapshot = {
  accountId: "",
  running: false,
  connected: false,
  lastError: null,
  lastInboundAt: null,
  lastOutboundAt: null
}

export const makeStatusAdapter = (deps: PluginDeps): WeixinStatusAdapter => ({
  defaultRuntime: defaultRuntimeSnapshot,
  buildAccountSnapshot: ({ account, runtime, probe }) => {
    return {
      ...runtime,
      accountId: account.accountId,
      ...(account.name === undefined ? {} : { name: account.name }),
      enabled: account.enabled,
      configured: account.configured,
      baseUrl: account.baseUrl,
      dmPolicy: account.access.dmPolicy,
      ...(probe === undefined ? {} : { probe })
    }
  },
  buildChannelSummary: ({ snapshot }) => ({
    configured: snapshot.configured ?? false,
    running: snapshot.running ?? false,
    state: snapshot.statusState ?? null,
    lastError: snapshot.lastError ?? null,
    lastInboundAt: snapshot.lastInboundAt ?? null,
    lastOutboundAt: snapshot.lastOutboundAt ?? null
  }),
  probeAccount: ({ account, timeoutMs }) => deps.runtime.run(probeAccount(account, timeoutMs)),
  // `openclaw channels capabilities`: bot id, scanning user, base URL, open reply windows (Capabilities.ts)
  buildCapabilitiesDiagnostics: ({ account }) => deps.runtime.run(capabilitiesDiagnostics(account)),
  collectStatusIssues: (accounts) => collectStatusIssues(accounts)
})
