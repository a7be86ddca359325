/**
 * What every adapter of the ChannelPlugin shares: the lazily built runtime, where the state dir is, the
 * terminal the CLI login talks to, and (in a CLI process) the way to reach the running gateway. Tests
 * build their own; index.ts builds the process-wide one.
 */
import type { StatePaths } from "../state/StatePaths.js"
import { PluginRuntime } from "./PluginRuntime.js"
import { currentStatePaths } from "../state/AccountFilesSync.js"
import { HostTaskContexts } from "./HostTaskContext.js"

/** One request to the running gateway. */
export interface GatewayRpcRequest {
  /** the host config the CLI resolved (gateway URL and auth come from it) */
  readonly cfg: unknown
  readonly method: string
  readonly params: Readonly<Record<string, unknown>>
  /**
   * Operator scopes to connect with. Unset: the host picks the least its own method table allows, which
   * knows only core methods; a plugin method needs them named.
   */
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly signal: AbortSignal
}

/** The running gateway, seen from a CLI process over the host's RPC. */
export interface GatewayRpc {
  /**
   * Resolves to the gateway's answer (undecoded). Rejects with the host's `GatewayClientRequestError`
   * (`gatewayCode`, `message`) when the gateway answered with an error, with another error when none
   * answered.
   */
  readonly call: (request: GatewayRpcRequest) => Promise<unknown>
}

/** How long one RPC to the gateway may take before the login gives up on it (it stays saved). */
export const GATEWAY_RPC_TIMEOUT_MS = 15_000

type CliCallExtra = NonNullable<Parameters<typeof import("openclaw/plugin-sdk/gateway-runtime").callGatewayFromCli>[3]>

/**
 * The host's own CLI RPC client (`callGatewayFromCli`), called the way `openclaw channels login` calls
 * `channels.start` itself: backend mode, no device identity, the gateway auth from the config. Loaded
 * on first use, so nothing of the host is imported unless a CLI login actually needs it.
 */
export const hostGatewayRpc: GatewayRpc = {
  call: async ({ cfg, method, params, scopes, signal }) => {
    const { callGatewayFromCli } = await import("openclaw/plugin-sdk/gateway-runtime")
    // `config` is not in GatewayRpcOpts' type but the host reads it (as its own login does)
    const opts = { config: cfg, json: true, timeout: String(GATEWAY_RPC_TIMEOUT_MS) }
    return await callGatewayFromCli(method, opts, params, {
      clientName: "gateway-client",
      mode: "backend",
      deviceIdentity: null,
      progress: false,
      signal,
      ...(scopes === undefined ? {} : { scopes: [...scopes] as NonNullable<CliCallExtra["scopes"]> })
    })
  }
}

export interface PluginDeps {
  readonly runtime: PluginRuntime
  /** the state dir layout, read at each call (the environment decides it) */
  readonly statePaths: () => StatePaths
  /**
   * The host config last seen (registration, startAccount): web login gets no config from the host, so
   * it reads the QR base URL from here.
   */
  readonly latestConfig: { value: unknown }
  /** where `auth.login` reads the verify code from and prints its prompt */
  readonly terminal: {
    readonly input: NodeJS.ReadableStream
    readonly output: NodeJS.WritableStream
  }
  /**
   * Set when the host's runtime can reach a gateway (PluginEntry): `auth.login` uses it to tell the
   * running gateway about the login it just saved. Unset in tests.
   */
  readonly gatewayRpc: { value: GatewayRpc | undefined }
  /** the async context the host started each account in (the resume method restarts accounts in it) */
  readonly hostTaskContexts: HostTaskContexts
}

export const makePluginDeps = (overrides: Partial<PluginDeps> = {}): PluginDeps => ({
  runtime: overrides.runtime ?? new PluginRuntime(),
  statePaths: overrides.statePaths ?? currentStatePaths,
  latestConfig: overrides.latestConfig ?? { value: undefined },
  terminal: overrides.terminal ?? { input: process.stdin, output: process.stdout },
  gatewayRpc: overrides.gatewayRpc ?? { value: undefined },
  hostTaskContexts: overrides.hostTaskContexts ?? new HostTaskContexts()
})
