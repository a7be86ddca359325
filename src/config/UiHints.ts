/**
 * Labels and help for the Control UI's form of `channels.openclaw-weixin` (the host's `uiHints`, keyed by
 * config path, `*` for any account id). Served by the channel's `configSchema` and written into
 * openclaw.plugin.json, so the form has them before the plugin runs. Keys the channel accepts but ignores
 * are marked advanced and say so.
 */
export interface UiHint {
  readonly label?: string
  readonly help?: string
  readonly advanced?: boolean
  readonly placeholder?: string
}

const accountKeys: Record<string, UiHint> = {
  name: { label: "Display name" },
  enabled: { label: "Enabled", help: "false keeps the account stopped" },
  baseUrl: {
    label: "iLink API base URL",
    help: "wins over the base URL the account's QR login stored",
    placeholder: "https://ilinkai.weixin.qq.com",
    advanced: true
  },
  cdnBaseUrl: { label: "CDN base URL", placeholder: "https://novac2c.cdn.weixin.qq.com/c2c", advanced: true },
  routeTag: { label: "SKRouteTag header", help: "only if Tencent gave you one", advanced: true },
  mediaMaxMb: { label: "Largest media file (MB)", help: "received or sent; default 100" },
  dmPolicy: {
    label: "Who may message the bot",
    help: "pairing: unknown senders get a code to approve (default); allowlist: only allowFrom; open: anyone; disabled: nobody"
  },
  allowFrom: { label: "Allowed WeChat user ids", help: "…@im.wechat ids always let in; the QR scanner is always allowed" },
  textChunkLimit: { label: "Longest message (characters)", help: "longer replies are split; default 2000" }
}

export const CHANNEL_UI_HINTS: Record<string, UiHint> = {
  ...accountKeys,
  ...Object.fromEntries(Object.entries(accountKeys).map(([key, hint]) => [`accounts.*.${key}`, hint])),
  botAgent: { label: "Bot agent", help: "sent as base_info.bot_agent; default OpenClaw", advanced: true },
  protocolVersion: {
    label: "iLink protocol level",
    help: "default 2.4.9; change only if Tencent asks for a newer level",
    advanced: true
  },
  dispatchConcurrency: { label: "Users answered at once", help: "per account; default 8", advanced: true },
  replyProgressMessages: { label: "Show tool progress", help: "tool-call items while the agent works" },
  "quoteCache.enabled": { label: "Remember messages for quotes", help: "a quote by id only reaches the agent with the quoted text; default on", advanced: true },
  "quoteCache.retentionDays": { label: "Quote memory (days)", help: "default 30", advanced: true },
  "quoteCache.maxMessagesPerAccount": { label: "Messages remembered per account", help: "the oldest are forgotten first; default 10000", advanced: true },
  "quoteCache.mediaRetentionDays": { label: "Quoted media re-attached for (days)", help: "default 7", advanced: true },
  "quoteCache.maxMediaBytesPerAccount": { label: "Quoted media budget per account (bytes)", help: "default 268435456", advanced: true },
  "quoteCache.maxSingleMediaBytes": { label: "Largest media file remembered (bytes)", help: "default 26214400", advanced: true },
  channelConfigUpdatedAt: {
    label: "Updated at (official plugin)",
    help: "written by the official plugin; accepted and ignored here",
    advanced: true
  }
}
