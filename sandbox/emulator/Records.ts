/**
 * What the emulator records for tests to read: every request, every protocol violation, every
 * sendmessage with its outcome, typing and notify events.
 */

/** Names of everything the emulator serves; fault plans and violations are keyed by these. */
export type EndpointName =
  | "getupdates"
  | "sendmessage"
  | "sendtyping"
  | "getconfig"
  | "getuploadurl"
  | "notifystart"
  | "notifystop"
  | "get_bot_qrcode"
  | "get_qrcode_status"
  | "cdn_upload"
  | "cdn_download"

/** The endpoints a bot calls with its token; validation requires a Bearer header and `base_info` on these. */
export const botEndpointNames = [
  "getupdates",
  "sendmessage",
  "sendtyping",
  "getconfig",
  "getuploadurl",
  "notifystart",
  "notifystop"
] as const satisfies ReadonlyArray<EndpointName>

export const endpointNames = [
  ...botEndpointNames,
  "get_bot_qrcode",
  "get_qrcode_status",
  "cdn_upload",
  "cdn_download"
] as const satisfies ReadonlyArray<EndpointName>

export interface RequestRecord {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  /** Header names in lower case, as Node reports them. */
  readonly headers: Readonly<Record<string, string>>
  /** Body as UTF-8 text (CDN uploads: base64 of the bytes, see `bodyEncoding`). */
  readonly body: string
  readonly bodyEncoding: "utf8" | "base64"
  readonly endpoint: EndpointName | "unknown"
}

export interface Violation {
  readonly at: number
  readonly endpoint: EndpointName | "unknown"
  readonly rule: string
  readonly detail: string
}

export type SendOutcome =
  | "delivered"
  | "accepted_without_message_id"
  | "no_context_token"
  | "unknown_context_token"
  | "stale_context_token"
  | "budget_spent"
  | "window_closed"
  | "text_too_long"
  | "invalid_to_user"
  | "rate_limited"
  | "session_expired"
  | "fault"

export interface SentRecord {
  readonly at: number
  readonly botId: string
  readonly toUserId: string
  readonly clientId: string | undefined
  readonly contextToken: string | undefined
  readonly runId: string | undefined
  /** Concatenated text of the text items, if any. */
  readonly text: string | undefined
  /** The `msg` object as the client sent it (parsed JSON; ids beyond 2^53 lose precision here). */
  readonly msg: unknown
  /** The raw request body text. */
  readonly rawBody: string
  readonly outcome: SendOutcome
  /** The ret answered; undefined when a fault replaced the answer. */
  readonly ret: number | undefined
  readonly errmsg: string | undefined
  /** Server message id (decimal string) when the outcome is `delivered`. */
  readonly messageId: string | undefined
}

export interface TypingEvent {
  readonly at: number
  readonly botId: string
  readonly userId: string
  readonly status: "typing" | "cancel" | "invalid"
  readonly typingTicket: string
}

export interface NotifyEvent {
  readonly at: number
  readonly botId: string
  readonly kind: "start" | "stop"
}
