/**
 * The channel's catalog entry (shown by `channels list`, pickers and docs), in our own wording. The same
 * values are in package.json `openclaw.channel` (a test keeps them equal).
 */
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"

export const CHANNEL_META = {
  id: WEIXIN_CHANNEL_ID,
  label: "WeChat",
  selectionLabel: "WeChat (iLink bot, long-poll)",
  docsPath: "/channels/openclaw-weixin",
  docsLabel: "openclaw-weixin",
  blurb: "Chat with your agents from WeChat through a WeChat bot account; log in by scanning a QR code.",
  order: 75
} as const

export const PLUGIN_NAME = "WeChat"
export const PLUGIN_DESCRIPTION = "WeChat (Weixin) channel for OpenClaw over the iLink bot API"
