/**
 * `gateway`: the host's per-account lifetime (ARCHITECTURE "Host lifetime") and web login / logout.
 *
 * `startAccount` builds the account's agent turns over `ctx.channelRuntime`, hands them with the decoded
 * config to `Supervisor.start` (the binding, kept for restarts and resumes), routes the account's log
 * lines to `ctx.log`, mirrors every status change into `ctx.setStatus`, and resolves when
 * `ctx.abortSignal` aborts, after the account has stopped. Transient trouble (server
 * down, bad answers, crashes) stays inside the Supervisor's restart loop and never rejects the promise:
 * the host gives up on a channel after ten rejections. Only a problem that needs the user (not logged in,
 * a bad config, a host without channelRuntime) rejects, with a message that says what to do.
 */
import { Clock, Effect, Either, HashMap, Option, Redacted, Ref, Schedule, Stream } from "effect"
import { LoginFlow } from "../login/LoginFlow.js"
import { withLoginSettings } from "./LoginSettings.js"
import type { AccountStatus } from "../account/AccountStatus.js"
import { logoutAccount } from "../login/Logout.js"
import type { HostBinding } from "../account/AccountRunner.js"
import { Supervisor } from "../account/Supervisor.js"
import { normalizeAccountId } from "../domain/AccountId.js"
import { STATUS_REFRESH_MS } from "../config/Defaults.js"
import { AccountStore } from "../state/AccountStore.js"
import { channelConfigFromHostConfig, defaultChannelConfig } from "../config/ChannelConfig.js"
import { ChannelTurns } from "../host/ChannelTurns.js"
import { AccountNotConfigured, ChannelRuntimeMissing } from "./PluginErrors.js"
import type { PluginDeps } from "./PluginDeps.js"
import { resolveWeixinAccount } from "../config/ResolvedAccount.js"
import type { AccountSnapshot, GatewayContext, WeixinGatewayAdapter } from "./SdkTypes.js"
import { statusSnapshot } from "./StatusAdapter.js"

/** Completes when the signal aborts (at once if it already has). */
export const awaitAbort = (signal: AbortSignal): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (signal.aborted) return resume(Effect.void)
    const onAbort = () => resume(Effect.void)
    signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })

const currentSnapshot = (ctx: Pick<GatewayContext, "getStatus">): Partial<AccountSnapshot> => {
  try {
    return ctx.getStatus() ?? {}
  } catch {
    return {}
  }
}

/** Hands a snapshot to the host; a throwing setStatus is logged, never fatal. */
const setHostStatus = (ctx: Pick<GatewayContext, "getStatus" | "setStatus">, next: AccountSnapshot) =>
  Effect.try(() => ctx.setStatus({ ...currentSnapshot(ctx), ...next })).pipe(
    Effect.catchAll((error) => Effect.logWarning(`the host refused a status update: ${String(error.error)}`))
  )

/**
 * Mirrors the Supervisor's status of `accountId` into `ctx.setStatus`: on every change, and every
 * STATUS_REFRESH_MS so that time-based states (a stalled poll) appear without a change. Runs until
 * interrupted.
 */
export const publishAccountStatus = (
  accountId: string,
  ctx: Pick<GatewayContext, "getStatus" | "setStatus">,
  pollingSince: number
) =>
  Effect.gen(function*() {
    const supervisor = yield* Supervisor
    const latest = yield* Ref.make(Option.none<AccountStatus>())
    const publish = (status: AccountStatus) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        setHostStatus(ctx, statusSnapshot(accountId, status, now, pollingSince)))
    const onChange = supervisor.changes.pipe(
      Stream.filterMap((all) => HashMap.get(all, accountId)),
      Stream.runForEach((status) => Effect.zipRight(Ref.set(latest, Option.some(status)), publish(status)))
    )
    const refresh = Effect.flatMap(Ref.get(latest), Option.match({ onNone: () => Effect.void, onSome: publish })).pipe(
      Effect.repeat(Schedule.spaced(STATUS_REFRESH_MS))
    )
    yield* Effect.all([onChange, refresh], { concurrency: 2, discard: true })
  })

/** The whole life of one host-started account, as an effect that ends when the host aborts it. */
export const runAccountForHost = Effect.fnUntraced(
  function*(deps: PluginDeps, ctx: GatewayContext) {
    const accountId = normalizeAccountId(ctx.accountId)
    deps.latestConfig.value = ctx.cfg
    const config = yield* channelConfigFromHostConfig(ctx.cfg)
    const channelRuntime = ctx.channelRuntime
    if (channelRuntime === undefined) {
      ctx.log?.error(new ChannelRuntimeMissing({ accountId }).message)
      return yield* new ChannelRuntimeMissing({ accountId })
    }
    const accountStore = yield* AccountStore
    const account = resolveWeixinAccount(config, accountId, yield* accountStore.load(accountId))
    if (account.token === undefined) {
      ctx.log?.error(new AccountNotConfigured({ accountId }).message)
      yield* setHostStatus(ctx, { accountId, running: false, configured: false, lastError: "not logged in" })
      return yield* new AccountNotConfigured({ accountId })
    }
    deps.runtime.secrets.remember(Redacted.value(account.token))
    if (ctx.abortSignal.aborted) return

    const supervisor = yield* Supervisor
    const channelTurns = yield* ChannelTurns
    // host calls of this account's turns run in the host's start context, whichever request restarts it
    const inHostContext = <R>(fn: () => R): R => deps.hostTaskContexts.run(accountId, fn)
    const turns = yield* channelTurns.forAccount({
      accountId,
      account,
      cfg: ctx.cfg,
      config,
      channelRuntime,
      log: ctx.log,
      inHostContext
    })

    if (ctx.log !== undefined) {
      const sink = ctx.log
      yield* Effect.acquireRelease(Effect.sync(() => deps.runtime.sinks.bindAccount(accountId, sink)), (unbind) =>
        Effect.sync(unbind))
    }
    const binding: HostBinding = { turns, config }
    const startedAt = yield* Clock.currentTimeMillis
    yield* setHostStatus(ctx, { accountId, running: true, configured: true, lastStartAt: startedAt, lifecycle: "starting" })
    yield* publishAccountStatus(accountId, ctx, startedAt).pipe(Effect.forkScoped)
    // registered after the publisher, so it runs before the publisher is interrupted
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        // a newer startAccount for this account (a channel restart) owns it now: leave it running
        if (!(yield* supervisor.release(accountId, binding))) return
        const stoppedAt = yield* Clock.currentTimeMillis
        yield* setHostStatus(ctx, {
          accountId,
          running: false,
          connected: false,
          statusState: "stopped",
          lifecycle: "stopped",
          lastStopAt: stoppedAt
        })
        yield* Effect.logInfo("stopped by the host")
      })
    )
    // still running from an earlier start (the host restarted the channel): the new binding replaces
    // the old one and the account runs afresh, so the new config and login apply
    yield* supervisor.start(accountId, binding)
    yield* Effect.logInfo(`started; polling ${account.baseUrl}`)
    yield* awaitAbort(ctx.abortSignal)
  },
  (effect, _deps, ctx) =>
    effect.pipe(Effect.scoped, Effect.annotateLogs({ accountId: normalizeAccountId(ctx.accountId) }))
)

/** Web login gets no config from the host: use the latest one seen (a bad one falls back to defaults). */
const withWebLoginSettings = (deps: PluginDeps) =>
  withLoginSettings(Either.getOrElse(channelConfigFromHostConfig(deps.latestConfig.value), () => defaultChannelConfig))

export const makeGatewayAdapter = (deps: PluginDeps): WeixinGatewayAdapter => ({
  startAccount: (ctx) => deps.runtime.run(runAccountForHost(deps, ctx)),
  // The host aborts ctx.abortSignal first; the running startAccount then stops its account itself. An
  // account still bound belongs to a start in progress (maybe a newer one after a channel restart), so
  // only an unbound leftover is stopped here.
  stopAccount: (ctx) =>
    deps.runtime.runIfStarted(
      Effect.gen(function*() {
        const supervisor = yield* Supervisor
        if (yield* supervisor.isBound(ctx.accountId)) return
        yield* supervisor.stop(ctx.accountId)
      }),
      undefined
    ),
  loginWithQrStart: (params) =>
    deps.runtime.run(
      Effect.flatMap(LoginFlow, (flow) => flow.start({ accountId: params.accountId, force: params.force })).pipe(
        withWebLoginSettings(deps)
      )
    ),
  loginWithQrWait: (params) =>
    deps.runtime.run(
      Effect.flatMap(LoginFlow, (flow) =>
        flow.wait({ accountId: params.accountId, sessionKey: params.sessionKey, timeoutMs: params.timeoutMs })).pipe(
          Effect.map((result) => {
            const answer = { connected: result.connected, message: result.message }
            return result.accountId === undefined ? answer : Object.assign(answer, { accountId: result.accountId })
          })
        )
    ),
  logoutAccount: (ctx) =>
    deps.runtime.run(
      logoutAccount(ctx.accountId).pipe(
        Effect.map((result) => ({ cleared: result.cleared, loggedOut: result.loggedOut, accountId: result.accountId }))
      )
    )
})
