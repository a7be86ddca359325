/**
 * The plugin definition the entry module default-exports, and what `register(api)` does per
 * registration mode (the `registrationMode` of openclaw/plugin-sdk; docs/HOST-NOTES.md "Lifecycle"):
 *
 * - `cli-metadata`, `setup-only`: register the channel, touch nothing else (`api.runtime` throws there).
 * - `discovery` (also the CLI process of `channels login` / `message send`), `tool-discovery`,
 *   `setup-runtime`: check the host version, register the channel, route logs to `api.logger`. The
 *   adapters work in these processes: the runtime is built lazily by the first adapter call.
 * - `full` (the gateway): the same, plus the unload hook that disposes the runtime, and the gateway
 *   method `openclaw-weixin.resumeAccount` through which a CLI login resumes an account this gateway
 *   runs (ResumeMethod.ts). Without a `full` registration (a CLI process) the runtime is released
 *   after each adapter call instead.
 * - Every mode with a runtime: when the host's runtime has a `gateway` surface (a real host, not a test
 *   double), `auth.login` gets the host's RPC client to tell the running gateway about the account it
 *   saved. Not tied to a mode: the `channels login` CLI process registers `full` in 2026.9.6, and only
 *   that process ever runs `auth.login` (its own registration of the gateway method is never served).
 *
 * Unload hook (found in the 2026.9.6 .d.ts): `api.lifecycle.onDispose(fn)` (PluginInstanceLifecycle),
 * else `api.lifecycle.registerRuntimeLifecycle({ id, dispose })`, else the deprecated top-level
 * `api.registerRuntimeLifecycle`; `api.lifecycle.signal` aborting also disposes.
 */
import type { OpenClawPluginApi, OpenClawPluginConfigSchema } from "openclaw/plugin-sdk/core"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { makeWeixinChannelPlugin } from "./ChannelPlugin.js"
import { rememberingHostTaskContexts } from "./HostTaskContext.js"
import { describeHostVersion, HostTooOldError, judgeHostVersion, MIN_HOST_VERSION } from "./HostVersion.js"
import { PLUGIN_DESCRIPTION, PLUGIN_NAME } from "./Meta.js"
import { hostGatewayRpc, type PluginDeps } from "./PluginDeps.js"
import { registerResumeMethod } from "./ResumeMethod.js"

/** Plugin-level config (`plugins.entries.openclaw-weixin.config`) takes no options. */
export const PLUGIN_CONFIG_JSON_SCHEMA = { type: "object", additionalProperties: false, properties: {} } as const

export const pluginConfigSchema: OpenClawPluginConfigSchema = {
  jsonSchema: { ...PLUGIN_CONFIG_JSON_SCHEMA, properties: {} } as unknown as NonNullable<
    OpenClawPluginConfigSchema["jsonSchema"]
  >,
  validate: (value) =>
    value === undefined || value === null ||
      (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0)
      ? { ok: true }
      : { ok: false, errors: ["plugins.entries.openclaw-weixin.config takes no options; remove them"] }
}

/** Modes in which `api.runtime` must not be touched. */
const METADATA_ONLY_MODES: ReadonlySet<string> = new Set(["cli-metadata", "setup-only"])

const hostVersionOf = (api: OpenClawPluginApi): unknown => {
  try {
    return (api.runtime as { readonly version?: unknown } | undefined)?.version
  } catch {
    // a host that refuses runtime access here cannot tell us its version: treated as unknown
    return undefined
  }
}

/** A real host's runtime has `gateway.request`; test doubles of `api` do not, so tests never reach a gateway. */
const hasHostGatewayRuntime = (api: OpenClawPluginApi): boolean => {
  try {
    const gateway = (api.runtime as { readonly gateway?: { readonly request?: unknown } } | undefined)?.gateway
    return typeof gateway?.request === "function"
  } catch {
    return false
  }
}

/** Checks the host version; too old → throws HostTooOldError, unknown/unparseable → warns. */
export const checkHostVersion = (api: OpenClawPluginApi): void => {
  const verdict = judgeHostVersion(hostVersionOf(api), MIN_HOST_VERSION)
  const note = describeHostVersion(verdict)
  if (verdict._tag === "TooOld") {
    api.logger?.error?.(note ?? "")
    throw new HostTooOldError({ found: verdict.version, minimum: MIN_HOST_VERSION })
  }
  if (note !== undefined) api.logger?.warn?.(`openclaw-weixin: ${note}`)
}

/** Calls `dispose` once when the host unloads the plugin (see the module comment for the hook). */
export const onHostUnload = (api: OpenClawPluginApi, dispose: () => Promise<void>): void => {
  let done = false
  const once = async () => {
    if (done) return
    done = true
    await dispose()
  }
  const lifecycle = api.lifecycle as Partial<OpenClawPluginApi["lifecycle"]> | undefined
  if (typeof lifecycle?.onDispose === "function") lifecycle.onDispose(once)
  else if (typeof lifecycle?.registerRuntimeLifecycle === "function") {
    lifecycle.registerRuntimeLifecycle({ id: `${WEIXIN_CHANNEL_ID}-runtime`, dispose: once })
  } else if (typeof api.registerRuntimeLifecycle === "function") {
    api.registerRuntimeLifecycle({ id: `${WEIXIN_CHANNEL_ID}-runtime`, dispose: once })
  }
  lifecycle?.signal?.addEventListener("abort", () => void once(), { once: true })
}

export const makePluginEntry = (deps: PluginDeps) => {
  const plugin = rememberingHostTaskContexts(makeWeixinChannelPlugin(deps), deps.hostTaskContexts)
  let sawFull = false
  return {
    id: WEIXIN_CHANNEL_ID,
    name: PLUGIN_NAME,
    description: PLUGIN_DESCRIPTION,
    configSchema: pluginConfigSchema,
    /** the channel plugin object, for tools and tests */
    plugin,
    register(api: OpenClawPluginApi): void {
      if (METADATA_ONLY_MODES.has(api.registrationMode)) {
        api.registerChannel({ plugin })
        return
      }
      checkHostVersion(api)
      api.registerChannel({ plugin })
      deps.runtime.sinks.fallback = api.logger
      deps.latestConfig.value = api.config
      if (hasHostGatewayRuntime(api)) deps.gatewayRpc.value = hostGatewayRpc
      if (api.registrationMode === "full") {
        sawFull = true
        deps.runtime.setTransient(false)
        onHostUnload(api, () => deps.runtime.dispose())
        registerResumeMethod(api, deps)
      } else if (!sawFull) {
        // a CLI process: release the runtime after each adapter call so the command can exit
        deps.runtime.setTransient(true)
      }
    }
  }
}
