/**
 * `pairing` and `security`: direct-message access through the host's pairing store (ARCHITECTURE "Where we
 * differ": codes for unknown senders, `openclaw pairing approve openclaw-weixin <CODE>` works).
 * The policy comes from `channels.openclaw-weixin.dmPolicy` (default `pairing`):
 * - `pairing`: unknown senders get a pairing code; approved ones (and `allowFrom`) may talk;
 * - `allowlist`: only `allowFrom` entries and approved senders; others are dropped;
 * - `open`: anyone;
 * - `disabled`: nobody.
 * Entries compare case-insensitively (lowercase, prefixes stripped), like context-token lookups.
 */
import { CHANNEL_CONFIG_PATH } from "../config/ChannelConfig.js"
import { normalizeAllowEntry } from "../host/Access.js"
import { channelConfigOrThrow } from "./ConfigAdapter.js"
import type { WeixinSecurityAdapter } from "./SdkTypes.js"

export { pairingAdapter } from "../host/Access.js"

export const securityAdapter: WeixinSecurityAdapter = {
  resolveDmPolicy: ({ cfg }) => {
    const config = channelConfigOrThrow(cfg)
    return {
      policy: config.dmPolicy,
      allowFrom: [...(config.allowFrom ?? [])],
      policyPath: `${CHANNEL_CONFIG_PATH}.dmPolicy`,
      allowFromPath: `${CHANNEL_CONFIG_PATH}.allowFrom`,
      approveHint: "approve a sender with `openclaw pairing approve openclaw-weixin <CODE>`",
      normalizeEntry: normalizeAllowEntry
    }
  }
}
