/**
 * The ChannelPlugin object the host registers (openclaw/plugin-sdk `ChannelPlugin`), assembled from one adapter per file.
 * Every adapter shares the `PluginDeps` (the lazily built runtime, the state dir, the terminal).
 */
import { Either } from "effect"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { CHANNEL_CONFIG_PATH, channelConfigJsonSchema, decodeChannelConfig } from "../config/ChannelConfig.js"
import { DEFAULT_TEXT_CHUNK_LIMIT } from "../config/Defaults.js"
import { agentPromptAdapter } from "./AgentPrompt.js"
import { allowlistAdapter } from "./Allowlist.js"
import { makeAuthAdapter } from "./AuthAdapter.js"
import { makeConfigAdapter } from "./ConfigAdapter.js"
import { makeDirectoryAdapter } from "./Directory.js"
import { makeGatewayAdapter } from "./GatewayAdapter.js"
import { messagingAdapter } from "./Messaging.js"
import { CHANNEL_META } from "./Meta.js"
import { makeOutboundAdapter } from "./OutboundAdapter.js"
import { notifyApproval } from "./PairingNotice.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { ChannelConfigSchema, WeixinChannelPlugin } from "./SdkTypes.js"
import { pairingAdapter, securityAdapter } from "./Security.js"
import { makeSetupWizard } from "./SetupWizard.js"
import { makeStatusAdapter } from "./StatusAdapter.js"

/** `configSchema` of the channel: the generated JSON schema plus a validator with host-path messages. */
export const channelConfigSchema: ChannelConfigSchema = {
  schema: channelConfigJsonSchema as ChannelConfigSchema["schema"],
  runtime: {
    safeParse: (value: unknown) =>
      Either.match(decodeChannelConfig(value), {
        // validation only: the host keeps the config as written, we apply defaults when we read it
        onRight: () => ({ success: true as const, data: value }),
        onLeft: (error) => ({
          success: false as const,
          issues: error.issues.map((issue) => ({
            path: issue.path.split(".").slice(CHANNEL_CONFIG_PATH.split(".").length),
            message: issue.problem
          }))
        })
      })
  }
}

export const makeWeixinChannelPlugin = (deps: PluginDeps): WeixinChannelPlugin => ({
  id: WEIXIN_CHANNEL_ID,
  meta: { ...CHANNEL_META },
  // media: pictures, files, video and voice in (InboundMedia), pictures, files and video out (OutboundMedia)
  capabilities: { chatTypes: ["direct"], media: true, blockStreaming: true },
  streaming: { blockStreamingCoalesceDefaults: { minChars: 200, idleMs: 3000 } },
  configSchema: channelConfigSchema,
  reload: { configPrefixes: [CHANNEL_CONFIG_PATH] },
  config: makeConfigAdapter(deps),
  gateway: makeGatewayAdapter(deps),
  auth: makeAuthAdapter(deps),
  outbound: makeOutboundAdapter(deps, DEFAULT_TEXT_CHUNK_LIMIT),
  status: makeStatusAdapter(deps),
  messaging: messagingAdapter,
  pairing: { ...pairingAdapter, notifyApproval: (params) => deps.runtime.run(notifyApproval(params)).then(() => {}) },
  security: securityAdapter,
  agentPrompt: agentPromptAdapter,
  setupWizard: makeSetupWizard(deps),
  directory: makeDirectoryAdapter(deps),
  allowlist: allowlistAdapter
})
