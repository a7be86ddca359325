/**
 * `gateway`: the host's per-account lifetime (DESIGN.md "Host lifetime") and web login / logout.
 *
 * `startAccount` binds the account (inbound bridge over `ctx.channelRuntime`, decoded config, the
 * account's log sink), asks the Supervisor to run it, mirrors every status change into `ctx.setStatus`,
 * and resolves when `ctx.abortSignal` aborts, after the account has stopped. Transient trouble (server
 * down, bad answers, crashes) stays inside the Supervisor's restart loop and never rejects the promise:
 * the host gives up on a channel after ten rejections. Only a problem that needs the user (not logged in,
 * a bad config, a host without channelRuntime) rejects, with a message that says what to do.
 */
import { Clock, Effect, Either, HashMap, Option, Redacted, Ref, Schedule, Stream } from "effect"
import { LoginFlow, LoginFlowSettings } from "../login/LoginFlow.js"
import type { AccountStatus } from "../account/AccountStatus.js"
import { logoutAccount } from "../login/Logout.js"
import { Supervisor } from "../account/Supervisor.js"
import { normalizeAccountId } from "../domain/AccountId.js"
import { ILinkSettings } from "../ilink/ILinkSettings.js"
import { BoundAccounts } from "./PluginLayer.js"
import { AccountStore } from "../state/AccountStore.js"
import { channelConfigFromHostConfig, defaultChannelConfig } from "../config/ChannelConfig.js"
import { InboundBridge } from "../host/InboundBridge.js"
import { AccountNotConfigured, ChannelRuntimeMissing } from "./PluginErrors.js"
import type { PluginDeps } from "./PluginDeps.js"
import { resolveWeixinAccount } from "../config/ResolvedAccount.js"
import type { AccountSnapshot, GatewayContext, WeixinGatewayAdapter } from "./SdkTypes.js"
import { statusSnapshot } from "./StatusAdapter.js"

/** How often the published status is re-evaluated without a change (so a stalled poll shows up). */
export const STATUS_REFRESH_MS = 15_000

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
export const runAccountForHost = Effect.fn("Gateway.runAccountForHost")(
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
    const accounts = yield* BoundAccounts
    const bridge = yield* InboundBridge
    const host = yield* bridge.make({ accountId, account, cfg: ctx.cfg, config, channelRuntime, log: ctx.log })

    if (ctx.log !== undefined) {
      const sink = ctx.log
      yield* Effect.acquireRelease(Effect.sync(() => deps.runtime.sinks.bindAccount(accountId, sink)), (unbind) =>
        Effect.sync(unbind))
    }
    const binding = { host, config }
    const unbind = yield* accounts.bind(accountId, binding)
    yield* Effect.addFinalizer(() => unbind)
    const startedAt = yield* Clock.currentTimeMillis
    yield* setHostStatus(ctx, { accountId, running: true, configured: true, lastStartAt: startedAt, lifecycle: "starting" })
    yield* publishAccountStatus(accountId, ctx, startedAt).pipe(Effect.forkScoped)
    // registered after the publisher, so it runs before the publisher is interrupted
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        // a newer startAccount for this account (a channel restart) owns the actor now: leave it running
        if (!(yield* accounts.isCurrent(accountId, binding))) return
        yield* supervisor.stop(accountId)
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
    // still running from an earlier start (the host restarted the channel): restart it so the new
    // config and login apply; otherwise start it
    if (yield* supervisor.isRunning(accountId)) yield* supervisor.restart(accountId)
    else yield* supervisor.start(accountId)
    yield* Effect.logInfo(`started; polling ${account.baseUrl}`)
    yield* awaitAbort(ctx.abortSignal)
  },
  (effect, _deps, ctx) =>
    effect.pipe(Effect.scoped, Effect.annotateLogs({ accountId: normalizeAccountId(ctx.accountId) }))
)

/** Web login gets no config from the host: use the latest one seen (a bad one falls back to defaults). */
const withLoginSettings = (deps: PluginDeps) => <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const decoded = channelConfigFromHostConfig(deps.latestConfig.value)
  const config = Either.getOrElse(decoded, () => defaultChannelConfig)
  return effect.pipe(
    Effect.provideService(LoginFlowSettings, { qrBaseUrl: config.baseUrl }),
    Effect.provideService(ILinkSettings, { botAgent: config.botAgent, routeTag: config.routeTag })
  )
}

export const makeGatewayAdapter = (deps: PluginDeps): WeixinGatewayAdapter => ({
  startAccount: (ctx) => deps.runtime.run(runAccountForHost(deps, ctx)),
  // The host aborts ctx.abortSignal first; the running startAccount then stops its account itself. An
  // account still bound belongs to a start in progress (maybe a newer one after a channel restart), so
  // only an unbound leftover is stopped here.
  stopAccount: (ctx) =>
    deps.runtime.runIfStarted(
      Effect.gen(function*() {
        const accounts = yield* BoundAccounts
        if (accounts.isBound(ctx.accountId)) return
        yield* Effect.flatMap(Supervisor, (supervisor) => supervisor.stop(ctx.accountId))
      }),
      undefined
    ),
  loginWithQrStart: (params) =>
    deps.runtime.run(
      Effect.flatMap(LoginFlow, (flow) => flow.start({ accountId: params.accountId, force: params.force })).pipe(
        withLoginSettings(deps)
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
