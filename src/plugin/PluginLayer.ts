/**
 * PluginLayer: the single composition root. Every service the plugin runs (the state stores, ILinkApi, the
 * Supervisor over the AccountRunner, LoginFlow, the agent turns of host-started accounts, the store of
 * inbound media, the host logger) is built here into one `ManagedRuntime`; each host call runs an effect on it
 * (src/plugin/PluginRuntime.ts) and the host's unload disposes it.
 *
 * How a host-started account runs: `gateway.startAccount` builds the account's agent turns over its
 * `channelRuntime` (ChannelTurns) and hands them, with the decoded config, to `Supervisor.start` once.
 * The Supervisor keeps that binding for every restart and resume; each run reads the stored login
 * again, so a new login or config applies on the next run.
 */
import { Layer, type LogLevel, ManagedRuntime } from "effect"
import { Supervisor } from "../account/Supervisor.js"
import type { InboundMediaStore } from "../account/InboundMediaStore.js"
import { ChannelTurns } from "../host/ChannelTurns.js"
import { HostMediaStore } from "../host/HostMediaStore.js"
import { HostQrRenderer } from "../host/HostQrRenderer.js"
import { CdnTimeouts, type CdnTimeoutsShape } from "../ilink/CdnTimeouts.js"
import { MediaLoader } from "../host/MediaLoader.js"
import { CdnUpload } from "../ilink/CdnUpload.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import { LoginFlow } from "../login/LoginFlow.js"
import type { QrRenderer } from "../login/QrRender.js"
import { State, type StateServices } from "../state/State.js"
import { hostLoggingLayer, type LogSinks, type SecretValues } from "./HostLogger.js"

export type PluginServices = StateServices | ILinkApi | Supervisor | LoginFlow | ChannelTurns | MediaLoader | CdnUpload

export interface PluginLayerOptions {
  readonly sinks: LogSinks
  readonly secrets?: SecretValues | undefined
  /** lines below this level are dropped (default Info) */
  readonly minimumLogLevel?: LogLevel.LogLevel | undefined
  /** how started accounts get their agent turns (default: over the host's channelRuntime) */
  readonly channelTurns?: Layer.Layer<ChannelTurns, never, MediaLoader> | undefined
  /** how outbound media is loaded (default: the host's loader; tests: local files) */
  readonly mediaLoader?: Layer.Layer<MediaLoader> | undefined
  /** overrides for tests: the state in a temp dir (State.layerAt), an ILinkApi with a test HTTP client */
  readonly state?: Layer.Layer<StateServices> | undefined
  readonly ilinkApi?: Layer.Layer<ILinkApi> | undefined
  /** where inbound media is stored (default: the host's media store); tests use InboundMediaStore.layerMemory */
  readonly mediaStore?: Layer.Layer<InboundMediaStore> | undefined
  /** CDN timeouts for every account (default: CdnTimeouts' own); tests shorten them */
  readonly cdnTimeouts?: CdnTimeoutsShape | undefined
  /** how login QR codes are drawn (default: the host's renderer) */
  readonly qrRenderer?: Layer.Layer<QrRenderer> | undefined
}

/** Every service of the plugin, built once. */
export const makePluginLayer = (options: PluginLayerOptions): Layer.Layer<PluginServices> => {
  const ilinkApi = options.ilinkApi ?? ILinkApi.Default
  const media = options.mediaLoader ?? MediaLoader.layerHost
  const platform = Layer.mergeAll(
    options.state ?? State.layer,
    ilinkApi,
    media,
    (options.channelTurns ?? ChannelTurns.layer).pipe(Layer.provide(media)),
    options.mediaStore ?? HostMediaStore.layer,
    // sendMedia in a process without a running account uploads with it (the runner has its own)
    CdnUpload.Default.pipe(Layer.provide(ilinkApi))
  )
  const supervisor = Supervisor.layer.pipe(
    Layer.provideMerge(platform),
    Layer.provide(options.cdnTimeouts === undefined ? Layer.empty : Layer.succeed(CdnTimeouts, options.cdnTimeouts))
  )
  // LoginFlow tells the Supervisor about every login it saves (Supervisor.loginSaved)
  const login = LoginFlow.DefaultWithoutDependencies.pipe(
    Layer.provideMerge(supervisor),
    Layer.provide(options.qrRenderer ?? HostQrRenderer.layer)
  )
  return login.pipe(Layer.provide(hostLoggingLayer(options.sinks, options.secrets, options.minimumLogLevel)))
}

export type PluginManagedRuntime = ManagedRuntime.ManagedRuntime<PluginServices, never>

export const makePluginRuntime = (options: PluginLayerOptions): PluginManagedRuntime =>
  // the logging layer is provided inside makePluginLayer; its logger carries over into the runtime
  ManagedRuntime.make(makePluginLayer(options))
