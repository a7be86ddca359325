/**
 * ChannelTurns: how a host-started account gets its `AgentTurns`. `gateway.startAccount` hands over what
 * the host gave it (the task-scoped `channelRuntime`, the config, the log sink); `layer` builds
 * ChannelAgentTurns over that runtime, `layerTest` hands every account the same in-memory host
 * (src/account/TestAgentTurns.ts), so plugin tests run the production composition with a scripted agent.
 */
import { Context, Effect, Layer } from "effect"
import type { ChannelLogSink, ChannelRuntimeSurface } from "openclaw/plugin-sdk/channel-contract"
import type { OpenClawConfig } from "openclaw/plugin-sdk/core"
import type { AgentTurnsService } from "../account/AgentTurns.js"
import type { ChannelConfig } from "../config/ChannelConfig.js"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { channelDmScope } from "../config/DmScope.js"
import type { ResolvedWeixinAccount } from "../config/ResolvedAccount.js"
import { currentStatePaths, listAccountIdsSync } from "../state/AccountFilesSync.js"
import { makeChannelAgentTurns } from "./ChannelAgentTurns.js"
import { type AsyncContextRunner, describeThrown, missingRuntimePieces } from "./ChannelRuntime.js"
import { MediaLoader } from "./MediaLoader.js"

export interface ChannelTurnsInput {
  readonly accountId: string
  readonly account: ResolvedWeixinAccount
  /** the host config the account was started with */
  readonly cfg: OpenClawConfig
  /** the decoded channel section of `cfg` */
  readonly config: ChannelConfig
  readonly channelRuntime: ChannelRuntimeSurface
  readonly log: ChannelLogSink | undefined
  /** runs a host call in the async context the host started the account in (default: the caller's) */
  readonly inHostContext?: AsyncContextRunner | undefined
}

/**
 * The host's inbound debounce for this channel (`messages.inbound.byChannel.openclaw-weixin`, else
 * `messages.inbound.debounceMs`, else 0), read by the host's own `resolveInboundDebounceMs`. Should its
 * module not load, debounce stays off, with a warning that says so.
 */
export const hostInboundDebounceMs = (cfg: OpenClawConfig): Effect.Effect<number> =>
  Effect.tryPromise(() => import("openclaw/plugin-sdk/channel-inbound-debounce")).pipe(
    Effect.map(({ resolveInboundDebounceMs }) => resolveInboundDebounceMs({ cfg, channel: WEIXIN_CHANNEL_ID })),
    Effect.catchAll((error) =>
      Effect.as(
        Effect.logWarning(`the host's inbound debounce setting could not be read (${describeThrown(error.error)}); every message is its own turn`),
        0
      )
    )
  )

export class ChannelTurns extends Context.Tag("openclaw-weixin/ChannelTurns")<ChannelTurns, {
  /** the agent turns of one started account; called once per `startAccount` */
  readonly forAccount: (input: ChannelTurnsInput) => Effect.Effect<AgentTurnsService>
}>() {
  /** Agent turns over each account's own `channelRuntime`; a reply's media is loaded by the MediaLoader. */
  static layer: Layer.Layer<ChannelTurns, never, MediaLoader> = Layer.effect(ChannelTurns, Effect.map(MediaLoader, (loader) => ({
    forAccount: (input: ChannelTurnsInput) =>
      Effect.gen(function*() {
        const missing = missingRuntimePieces(input.channelRuntime)
        if (missing.length > 0) {
          yield* Effect.logWarning(
            `the host's channelRuntime lacks ${missing.join(", ")}; messages that need them will fail with a ` +
              "HostTurnError naming the piece. Run openclaw-weixin on OpenClaw 2026.9.6 or newer"
          ).pipe(Effect.annotateLogs({ accountId: input.accountId }))
        }
        const inboundDebounceMs = yield* hostInboundDebounceMs(input.cfg)
        if (inboundDebounceMs > 0) {
          yield* Effect.logInfo(`inbound debounce on: plain-text lines a user sends within ${inboundDebounceMs} ms of each other become one turn`)
            .pipe(Effect.annotateLogs({ accountId: input.accountId }))
        }
        return makeChannelAgentTurns({
          inboundDebounceMs,
          channelRuntime: input.channelRuntime,
          cfg: input.cfg,
          accountId: input.accountId,
          // dmPolicy and allowFrom as resolved for this account (its own over the section's)
          settings: { ...input.config, ...input.account.access },
          scannerUserId: input.account.userId,
          inHostContext: input.inHostContext,
          // several accounts and no session.dmScope: per-account sessions (the index is read at each turn)
          dmScope: () => channelDmScope(input.cfg, listAccountIdsSync(currentStatePaths()).length),
          media: { loader, maxBytes: input.account.mediaMaxBytes }
        })
      })
  })))

  /** Every account gets `turns` (an in-memory host), whatever the host passed. */
  static layerTest = (turns: AgentTurnsService): Layer.Layer<ChannelTurns> =>
    Layer.succeed(ChannelTurns, { forAccount: () => Effect.succeed(turns) })
}
