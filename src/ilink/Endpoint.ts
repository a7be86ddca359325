/**
 * The iLink bot endpoints (PROTOCOL §1.2, §1.8): their paths, the query strings of the two QR endpoints,
 * and how a path resolves against an account's base URL. Every iLink URL the plugin requests is built
 * here, so the paths exist once.
 */
import type { QrStatusRequest } from "../wire/Api.js"

export const Endpoint = {
  getUpdates: "ilink/bot/getupdates",
  sendMessage: "ilink/bot/sendmessage",
  sendTyping: "ilink/bot/sendtyping",
  getConfig: "ilink/bot/getconfig",
  getUploadUrl: "ilink/bot/getuploadurl",
  notifyStart: "ilink/bot/msg/notifystart",
  notifyStop: "ilink/bot/msg/notifystop",
  getBotQrCode: "ilink/bot/get_bot_qrcode",
  getQrCodeStatus: "ilink/bot/get_qrcode_status"
} as const
export type Endpoint = (typeof Endpoint)[keyof typeof Endpoint]

/** `bot_type` of the QR fetch; the only value the official client uses (PROTOCOL §1.8.7). */
export const BOT_TYPE = "3"

/** Path and query of `get_bot_qrcode`. */
export const qrCodePath = (): string => `${Endpoint.getBotQrCode}?bot_type=${encodeURIComponent(BOT_TYPE)}`

/** Path and query of `get_qrcode_status`: the QR id, and the verify code when the person typed one (PROTOCOL §1.8.8). */
export const qrStatusPath = (request: QrStatusRequest): string =>
  `${Endpoint.getQrCodeStatus}?qrcode=${encodeURIComponent(request.qrcode)}` +
  (request.verify_code === undefined ? "" : `&verify_code=${encodeURIComponent(request.verify_code)}`)

/**
 * Resolves an endpoint path (no leading slash, may carry a query) against a normalised base URL, which
 * ends in "/" so a path prefix of the base URL is kept (PROTOCOL §1.2).
 */
export const endpointUrl = (normalizedBaseUrl: string, path: string): URL => new URL(path, normalizedBaseUrl)
