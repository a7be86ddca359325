/**
 * The ChannelPlugin object the host registers (openclaw/plugin-sdk `ChannelPlugin`), assembled from one adapter per file.
 * Every adapter shares the `PluginDeps` (the lazily built runtime, the state dir, the terminal).
 */
import { Either } from "effect"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { CHANNEL_CONFIG_PATH, channelConfigJsonSchema, decodeChannelConfig } from "../config/ChannelConfig.js"
import { DEFAULT_TEXT_CHUNK_LIMIT } from "../config/Defaults.js"
import { CHANNEL_UI_HINTS } from "../config/UiHints.js"
import { agentPromptAdapter } from "./AgentPrompt.js"
import { allowlistAdapter } from "./Allowlist.js"
import { makeAuthAdapter } from "./AuthAdapter.js"
import { makeConfigAdapter } from "./ConfigAdapter.js"
import { makeDoctorAdapter } from "./Doctor.js"
import { makeDirectoryAdapter } from "./Directory.js"
import { makeGatewayAdapter } from "./GatewayAdapter.js"
import { messagingAdapter } from "./Messaging.js"
import { CHANNEL_META } from "./Meta.js"
import { makeOutboundAdapter } from "./OutboundAdapter.js"
import { notifyApproval } from "./PairingNotice.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { ChannelConfigSchema, WeixinChannelPlugin } from "./SdkTypes.js"
import { makeSecurityAdapter, pairingAdapter } from "./Security.js"
import { makeSetupWizard } from "./SetupWizard.js"
import { makeStatusAdapter } from "./StatusAdapter.js"

/** `configSchema` of the channel: the generated JSON schema plus a validator with host-path messages. */
export const channelConfigSchema: ChannelConfigSchema = {
  schema: channelConfigJsonSchema as ChannelConfigSchema["schema"],
  uiHints: { ...CHANNEL_UI_HINTS },
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
  // media: pictures, files, video and voice in (InboundMedia), pictures, files and video out (OutboundMedia);
  // no blockStreaming: every turn runs with disableBlockStreaming (final replies only), so we do not claim it
  capabilities: { chatTypes: ["direct"], media: true },
  configSchema: channelConfigSchema,
  reload: { configPrefixes: [CHANNEL_CONFIG_PATH] },
  config: makeConfigAdapter(deps),
  gateway: makeGatewayAdapter(deps),
  auth: makeAuthAdapter(deps),
  outbound: makeOutboundAdapter(deps, DEFAULT_TEXT_CHUNK_LIMIT),
  status: makeStatusAdapter(deps),
  messaging: messagingAdapter,
  pairing: { ...pairingAdapter, notifyApproval: (params) => deps.runtime.run(notifyApproval(params)).then(() => {}) },
  security: makeSecurityAdapter(deps),
  doctor: makeDoctorAdapter(deps),
  agentPrompt: agentPromptAdapter,
  setupWizard: makeSetupWizard(deps),
  directory: makeDirectoryAdapter(deps),
  allowlist: allowlistAdapter
})
