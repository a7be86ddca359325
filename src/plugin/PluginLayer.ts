/**
 * PluginLayer: the single composition root. Every service and actor the plugin runs (the state stores,
 * ILinkApi, the Supervisor with its AccountRunner, LoginFlow, the host-bound accounts, the inbound
 * bridge, the host logger) is built here into one `ManagedRuntime`; each host call runs an effect on it
 * (src/plugin/PluginRuntime.ts) and the host's unload disposes it.
 *
 * How a host-started account runs: `gateway.startAccount` binds the account (its inbound Host, decoded
 * config, log sink) in `BoundAccounts`, then asks the Supervisor to start it. The AccountRunner reads the
 * binding and the stored login at every (re)start, so a new login or config applies on the next run,
 * and registers the live actor so proactive sends go through the running Outbox.
 */
import { Context, Effect, Layer, type LogLevel, ManagedRuntime, Option } from "effect"
import { AccountActor, type AccountActorHandle } from "../account/AccountActor.js"
import type { AccountStateRef } from "../account/AccountStatus.js"
import { LoginFlow, LoginListener } from "../login/LoginFlow.js"
import { AccountRunner, Supervisor } from "../account/Supervisor.js"
import { normalizeAccountId } from "../domain/AccountId.js"
import { channelRuntimeInboundBridge } from "../host/HostBridge.js"
import type { InboundBridge } from "../host/InboundBridge.js"
import { AccountNotConfigured } from "./PluginErrors.js"
import { resolveWeixinAccount, routeTagFor } from "../config/ResolvedAccount.js"
import { type ChannelConfig, defaultChannelConfig } from "../config/ChannelConfig.js"
import { Host, type HostService, HostTurnError } from "../account/AgentTurns.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import { ILinkConnection } from "../ilink/ILinkConnection.js"
import { ILinkSettings } from "../ilink/ILinkSettings.js"
import { hostLoggingLayer, type LogSinks, type SecretValues } from "./HostLogger.js"
import { AccountStore } from "../state/AccountStore.js"
import { ContextTokenStore } from "../state/ContextTokenStore.js"
import { CursorStore } from "../state/CursorStore.js"
import { InboxJournal } from "../state/InboxJournal.js"
import { State, type StateServices, type StateStores } from "../state/State.js"

/** What the host gave an account when it started it. */
export interface AccountBinding {
  readonly host: HostService
  readonly config: ChannelConfig
}

/** Accounts the host started in this process, and their live actors. */
export class BoundAccounts extends Effect.Service<BoundAccounts>()("openclaw-weixin/BoundAccounts", {
  sync: () => {
    const bindings = new Map<string, AccountBinding>()
    const actors = new Map<string, AccountActorHandle>()
    return {
      /** binds the account until the returned effect runs (a later bind for the same id wins) */
      bind: (rawId: string, binding: AccountBinding) =>
        Effect.sync(() => {
          const id = normalizeAccountId(rawId)
          bindings.set(id, binding)
          return Effect.sync(() => {
            if (bindings.get(id) === binding) bindings.delete(id)
          })
        }),
      binding: (rawId: string) => Effect.sync(() => Option.fromNullable(bindings.get(normalizeAccountId(rawId)))),
      /** true while `binding` is the account's latest (no newer startAccount bound it since) */
      isCurrent: (rawId: string, binding: AccountBinding) =>
        Effect.sync(() => bindings.get(normalizeAccountId(rawId)) === binding),
      isBound: (rawId: string) => bindings.has(normalizeAccountId(rawId)),
      /** the running actor of the account, when it runs in this process */
      actor: (rawId: string) => Effect.sync(() => Option.fromNullable(actors.get(normalizeAccountId(rawId)))),
      registerActor: (handle: AccountActorHandle) =>
        Effect.acquireRelease(Effect.sync(() => actors.set(handle.accountId, handle)), () =>
          Effect.sync(() => {
            if (actors.get(handle.accountId) === handle) actors.delete(handle.accountId)
          }))
    } as const
  }
}) {}

/** The actor's Host: each turn goes to the bridge of the account's current binding. */
const boundHost = (accounts: BoundAccounts, accountId: string): HostService => ({
  handleInbound: (turn, reply) =>
    Effect.flatMap(accounts.binding(accountId), (binding) =>
      Option.match(binding, {
        onNone: () =>
          Effect.fail(
            new HostTurnError({
              accountId,
              messageKey: turn.claimed.key,
              stage: "route",
              detail: "the host has not started this account (gateway.startAccount), so there is no agent to hand it to"
            })
          ),
        onSome: ({ host }) => host.handleInbound(turn, reply)
      }))
})

/** Runs one account for the Supervisor: stored login + binding → AccountActor, until it parks. */
export const AccountRunnerLive: Layer.Layer<AccountRunner, never, BoundAccounts | StateStores | ILinkApi> = Layer.effect(
  AccountRunner,
  Effect.gen(function*() {
    const accounts = yield* BoundAccounts
    // only the stores: the whole layer context would also carry the layer's Scope into the actor
    const stores = Context.pick(AccountStore, CursorStore, ContextTokenStore, InboxJournal)(
      yield* Effect.context<StateStores>()
    )
    const accountStore = Context.get(stores, AccountStore)
    const api = yield* ILinkApi
    const run = (accountId: string, state: AccountStateRef) =>
      Effect.scoped(
        Effect.gen(function*() {
          const binding = yield* accounts.binding(accountId)
          const config = Option.match(binding, { onNone: () => defaultChannelConfig, onSome: (b) => b.config })
          const account = resolveWeixinAccount(config, accountId, yield* accountStore.load(accountId))
          if (account.token === undefined) return yield* new AccountNotConfigured({ accountId })
          const connection = yield* ILinkConnection.make({ baseUrl: account.baseUrl, token: account.token, accountId })
          const handle = yield* AccountActor.run({
            accountId: account.accountId,
            connection,
            settings: { dispatchConcurrency: config.dispatchConcurrency, chunkLimit: config.textChunkLimit },
            state
          }).pipe(
            Effect.provideService(Host, boundHost(accounts, account.accountId)),
            Effect.provideService(ILinkApi, api),
            Effect.provide(stores),
            Effect.provideService(ILinkSettings, {
              botAgent: config.botAgent,
              routeTag: routeTagFor(config, account)
            })
          )
          yield* accounts.registerActor(handle)
          yield* handle.awaitParked
        })
      )
    return { run }
  })
)

/**
 * Logins reach running accounts only when the host started them here: a login saved in the gateway
 * restarts that account with its new token; an account the host has not started is left for the host
 * to start (the CLI asks the gateway to, after `channels login`).
 */
export const BoundLoginListener: Layer.Layer<LoginListener, never, Supervisor | BoundAccounts> = Layer.effect(
  LoginListener,
  Effect.gen(function*() {
    const supervisor = yield* Supervisor
    const accounts = yield* BoundAccounts
    return {
      loginSaved: (accountId: string) =>
        accounts.isBound(accountId)
          ? supervisor.loginSaved(accountId)
          : Effect.logInfo("login saved; the gateway starts the account when the host asks for it").pipe(
            Effect.annotateLogs({ accountId: normalizeAccountId(accountId) })
          ),
      accountRemoved: (accountId: string) => supervisor.forget(accountId)
    }
  })
)

export type PluginServices = StateServices | ILinkApi | BoundAccounts | Supervisor | LoginFlow | InboundBridge

export interface PluginLayerOptions {
  readonly sinks: LogSinks
  readonly secrets?: SecretValues | undefined
  /** lines below this level are dropped (default Info) */
  readonly minimumLogLevel?: LogLevel.LogLevel | undefined
  /** the inbound Host implementation (default: the real one over channelRuntime, src/plugin/HostBridge.ts) */
  readonly inboundBridge?: Layer.Layer<InboundBridge> | undefined
  /** overrides for tests: the state in a temp dir (State.layerAt), an ILinkApi with a test HTTP client */
  readonly state?: Layer.Layer<StateServices> | undefined
  readonly ilinkApi?: Layer.Layer<ILinkApi> | undefined
}

/** Every service of the plugin, built once. */
export const makePluginLayer = (options: PluginLayerOptions): Layer.Layer<PluginServices> => {
  const platform = Layer.mergeAll(
    options.state ?? State.layer,
    options.ilinkApi ?? ILinkApi.Default,
    BoundAccounts.Default,
    options.inboundBridge ?? channelRuntimeInboundBridge
  )
  const supervisor = Supervisor.Default.pipe(Layer.provide(AccountRunnerLive), Layer.provideMerge(platform))
  const login = LoginFlow.DefaultWithoutDependencies.pipe(
    Layer.provide(BoundLoginListener),
    Layer.provideMerge(supervisor)
  )
  return login.pipe(Layer.provide(hostLoggingLayer(options.sinks, options.secrets, options.minimumLogLevel)))
}

export type PluginManagedRuntime = ManagedRuntime.ManagedRuntime<PluginServices, never>

export const makePluginRuntime = (options: PluginLayerOptions): PluginManagedRuntime =>
  // the logging layer is provided inside makePluginLayer; its logger carries over into the runtime
  ManagedRuntime.make(makePluginLayer(options))
