/**
 * Typed failures of the iLink HTTP client. Every error names the `endpoint` (e.g. `ilink/bot/getupdates`),
 * optionally the `accountId`, and says whether the request reached the server:
 *
 * - `"no"`: provably never sent (DNS, refused, TLS handshake, unreachable, bad config): safe to resend;
 * - `"maybe"`: sent or partly sent, no answer (timeout, reset): resending may duplicate a message;
 * - `"yes"`: the server answered (status, api error, undecodable body).
 *
 * All fields are serialisable, so the errors can cross a process or be stored as they are.
 *
 * @example
 * ```ts
 * api.sendMessage(conn, req).pipe(
 *   Effect.catchTag("ILinkApiError", (e) => Effect.logWarning(e.message)),
 *   Effect.catchIf(isNeverReached, retryLater)
 * )
 * ```
 */
import { Schema } from "effect"
import { LOGIN_COMMAND } from "./LoginCommand.js"

export const ReachedServer = Schema.Literal("no", "maybe", "yes")
export type ReachedServer = typeof ReachedServer.Type

/** Who an error is about: the endpoint path and, when known, the account. */
export interface ILinkErrorScope {
  readonly endpoint: string
  readonly accountId?: string | undefined
}

/** The `endpoint` / `accountId` fields every error carries, from a call's scope (no `accountId` key when unknown). */
export const scopeFields = (scope: ILinkErrorScope): { readonly endpoint: string; readonly accountId?: string } =>
  scope.accountId === undefined ? { endpoint: scope.endpoint } : { endpoint: scope.endpoint, accountId: scope.accountId }

const commonFields = {
  /** the endpoint path, e.g. `ilink/bot/sendmessage` */
  endpoint: Schema.String,
  accountId: Schema.optionalWith(Schema.String, { exact: true }),
  reachedServer: ReachedServer
}

const forAccount = (accountId: string | undefined) => (accountId === undefined ? "" : ` (account ${accountId})`)

export const TransportErrorKind = Schema.Literal("dns", "refused", "reset", "tls", "unreachable", "unknown")
export type TransportErrorKind = typeof TransportErrorKind.Type

/** The connection failed below HTTP. `code` is the system/undici code when one was found (ECONNRESET, …). */
export class ILinkTransportError extends Schema.TaggedError<ILinkTransportError>("openclaw-weixin/ILinkTransportError")(
  "ILinkTransportError",
  {
    ...commonFields,
    kind: TransportErrorKind,
    code: Schema.optionalWith(Schema.String, { exact: true }),
    detail: Schema.String
  }
) {
  override get message(): string {
    const advice: Record<TransportErrorKind, string> = {
      dns: "the host name did not resolve; check the base URL and this machine's DNS",
      refused: "the server refused the connection; check the base URL and that the server is up",
      reset: "the connection was cut; it is retried automatically if it was safe to",
      tls: "the TLS handshake or certificate check failed; check the base URL and the system clock",
      unreachable: "the network or host is unreachable; check connectivity",
      unknown: "check connectivity and the base URL"
    }
    const code = this.code === undefined ? "" : ` [${this.code}]`
    return `iLink ${this.endpoint}${forAccount(this.accountId)}: network ${this.kind} error${code}: ${this.detail}; ${
      advice[this.kind]
    }`
  }
}

/** No answer within the client's own deadline. */
export class ILinkTimeoutError extends Schema.TaggedError<ILinkTimeoutError>("openclaw-weixin/ILinkTimeoutError")(
  "ILinkTimeoutError",
  {
    ...commonFields,
    timeoutMs: Schema.Number
  }
) {
  override get message(): string {
    return `iLink ${this.endpoint}${forAccount(this.accountId)}: no answer within ${this.timeoutMs} ms; ` +
      "the request may or may not have been processed, so it is not resent automatically"
  }
}

/** The server answered with a non-2xx HTTP status. */
export class ILinkHttpStatusError
  extends Schema.TaggedError<ILinkHttpStatusError>("openclaw-weixin/ILinkHttpStatusError")("ILinkHttpStatusError", {
    ...commonFields,
    status: Schema.Number,
    /** the start of the response body, for diagnosis */
    bodySnippet: Schema.String
  })
{
  override get message(): string {
    const hint = this.status >= 500 ? "a server-side problem; it is retried with backoff" : "check the base URL and the login"
    return `iLink ${this.endpoint}${forAccount(this.accountId)}: HTTP ${this.status}: ${
      this.bodySnippet === "" ? "(empty body)" : this.bodySnippet
    }; ${hint}`
  }
}

/** The server answered 2xx but signalled failure in `ret` / `errcode` (PROTOCOL §1.6, App. C). */
export class ILinkApiError extends Schema.TaggedError<ILinkApiError>("openclaw-weixin/ILinkApiError")(
  "ILinkApiError",
  {
    ...commonFields,
    ret: Schema.optionalWith(Schema.Number, { exact: true }),
    errcode: Schema.optionalWith(Schema.Number, { exact: true }),
    errmsg: Schema.optionalWith(Schema.String, { exact: true })
  }
) {
  override get message(): string {
    const parts = [
      this.ret === undefined ? undefined : `ret=${this.ret}`,
      this.errcode === undefined ? undefined : `errcode=${this.errcode}`,
      `errmsg=${this.errmsg === undefined || this.errmsg === "" ? "(none)" : this.errmsg}`
    ].filter((part) => part !== undefined)
    const hint = this.ret === -2
      ? "; the context token may be missing or stale, the reply budget used up, or the text too long"
      : this.ret === -3
      ? "; check the recipient id (no prefixes, exact case)"
      : ""
    return `iLink ${this.endpoint}${forAccount(this.accountId)}: the server refused the request: ${
      parts.join(" ")
    }${hint}`
  }
}

/**
 * The session expired (−14, PROTOCOL §1.6): the bot token is stale and only a new QR login recovers. The one
 * name of this fact everywhere: the error, the account phase, the refusal of a send while parked.
 */
export class AuthExpired
  extends Schema.TaggedError<AuthExpired>("openclaw-weixin/AuthExpired")(
    "AuthExpired",
    {
      ...commonFields,
      ret: Schema.optionalWith(Schema.Number, { exact: true }),
      errcode: Schema.optionalWith(Schema.Number, { exact: true }),
      errmsg: Schema.optionalWith(Schema.String, { exact: true })
    }
  )
{
  override get message(): string {
    return `iLink ${this.endpoint}${forAccount(this.accountId)}: the WeChat session has expired (-14), or the ` +
      `bot was logged in on another OpenClaw, which ends this login; log in again with \`${LOGIN_COMMAND}\``
  }
}

/** A 2xx body we could not read: not JSON, truncated, too large, or the wrong shape. */
export class ILinkDecodeError extends Schema.TaggedError<ILinkDecodeError>("openclaw-weixin/ILinkDecodeError")(
  "ILinkDecodeError",
  {
    ...commonFields,
    /** what was wrong, in words */
    problem: Schema.String,
    bodySnippet: Schema.String
  }
) {
  override get message(): string {
    return `iLink ${this.endpoint}${forAccount(this.accountId)}: could not read the server's answer: ${this.problem}; ` +
      `body starts with: ${this.bodySnippet === "" ? "(empty)" : JSON.stringify(this.bodySnippet)}; ` +
      "check that the base URL points at an iLink server"
  }
}

/** A configuration value that can never work (e.g. a base URL that is not an absolute http(s) URL). */
export class ILinkConfigError extends Schema.TaggedError<ILinkConfigError>("openclaw-weixin/ILinkConfigError")(
  "ILinkConfigError",
  {
    endpoint: Schema.String,
    accountId: Schema.optionalWith(Schema.String, { exact: true }),
    reachedServer: Schema.Literal("no"),
    setting: Schema.String,
    value: Schema.String,
    problem: Schema.String
  }
) {
  override get message(): string {
    return `iLink${forAccount(this.accountId)}: ${this.setting} ${JSON.stringify(this.value)} ${this.problem}; ` +
      `fix it in the channels.openclaw-weixin config (or log in again with \`${LOGIN_COMMAND}\`)`
  }
}

export const ILinkError = Schema.Union(
  ILinkTransportError,
  ILinkTimeoutError,
  ILinkHttpStatusError,
  ILinkApiError,
  AuthExpired,
  ILinkDecodeError,
  ILinkConfigError
)
export type ILinkError = typeof ILinkError.Type

/** True when the request provably never reached the server, so resending cannot duplicate anything. */
export const isNeverReached = (error: ILinkError): boolean => error.reachedServer === "no"

/** Errors a call on a validated connection can fail with (everything but configuration). */
export type ILinkCallError =
  | ILinkTransportError
  | ILinkTimeoutError
  | ILinkHttpStatusError
  | ILinkApiError
  | AuthExpired
  | ILinkDecodeError

/** QR endpoints take a raw base URL, so they can also fail with a configuration error. */
export type ILinkQrCallError = ILinkConfigError | ILinkTransportError | ILinkTimeoutError | ILinkHttpStatusError | ILinkDecodeError
