/**
 * The channel's catalog entry (shown by `channels list`, pickers and docs), in our own wording. The same
 * values are in package.json `openclaw.channel` (a test keeps them equal).
 */
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"

export const CHANNEL_META = {
  id: WEIXIN_CHANNEL_ID,
  label: "WeChat",
  selectionLabel: "WeChat (iLink bot, long-poll)",
  // the host's own page for this channel id (node_modules/openclaw/docs/channels/wechat.md)
  docsPath: "/channels/wechat",
  docsLabel: "wechat",
  blurb: "Chat with your agents from WeChat through a WeChat bot account; log in by scanning a QR code.",
  // the names the host's catalog of external channels lists for this channel id
  aliases: ["weixin", "wechat", "微信"],
  order: 75
} as const

export const PLUGIN_NAME = "WeChat"
export const PLUGIN_DESCRIPTION = "WeChat (Weixin) channel for OpenClaw over the iLink bot API"
