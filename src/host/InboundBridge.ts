/**
 * The plug point for the inbound host bridge: given what `gateway.startAccount` received from the host
 * (the task-scoped `channelRuntime`, the config, the log sink), build the `Host` service the account
 * actor hands each claimed message to. The real implementation over `channelRuntime` (route, session,
 * agent turn, pairing) is `channelRuntimeInboundBridge` (src/plugin/HostBridge.ts); tests provide their own.
 */
import { Context, type Effect } from "effect"
import type { ChannelLogSink, ChannelRuntimeSurface } from "openclaw/plugin-sdk/channel-contract"
import type { OpenClawConfig } from "openclaw/plugin-sdk/core"
import type { HostService } from "../account/AgentTurns.js"
import type { ChannelConfig } from "../config/ChannelConfig.js"
import type { ResolvedWeixinAccount } from "../config/ResolvedAccount.js"

export interface InboundBridgeInput {
  readonly accountId: string
  readonly account: ResolvedWeixinAccount
  /** the host config the account was started with */
  readonly cfg: OpenClawConfig
  /** the decoded channel section of `cfg` */
  readonly config: ChannelConfig
  readonly channelRuntime: ChannelRuntimeSurface
  readonly log: ChannelLogSink | undefined
}

export class InboundBridge extends Context.Tag("openclaw-weixin/InboundBridge")<InboundBridge, {
  /** the Host for one started account; called once per `startAccount` */
  readonly make: (input: InboundBridgeInput) => Effect.Effect<HostService>
}>() {}
