/**
 * The iLink bot HTTP API (ILINK §1): one method per endpoint, each with its own client-side timeout,
 * the exact headers and `base_info` of the official client, and every failure as a typed `ILinkError`.
 *
 * Bodies are read as text (capped at {@link MAX_RESPONSE_BYTES}) and decoded with Schema; getupdates and
 * sendmessage keep 64-bit ids exact (`parseLossless`). A getupdates that outlives its timeout is an empty
 * poll with the same cursor, not an error. The base URL is part of each call's connection, so the
 * sandbox and per-account base URLs need no extra wiring.
 *
 * @example
 * ```ts
 * const api = yield* ILinkApi
 * const conn = yield* ILinkConnection.make({ baseUrl, token, accountId })
 * const batch = yield* api.getUpdates(conn, { get_updates_buf: cursor })
 * ```
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import type { HttpClientError } from "@effect/platform/HttpClientError"
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, Either, Option, Random, type Redacted, Schema, Stream } from "effect"
import { sanitizeBotAgent } from "../domain/BotAgent.js"
import { clientVersionHeader } from "../domain/ClientVersion.js"
import { PackageInfo } from "../domain/PackageInfo.js"
import {
  type BaseInfo,
  GetConfigBody,
  type GetConfigRequest,
  GetConfigResponse,
  GetUpdatesBody,
  GetUpdatesResponse,
  GetUploadUrlBody,
  type GetUploadUrlRequest,
  GetUploadUrlResponse,
  NotifyBody,
  NotifyResponse,
  QrCodeRequest,
  QrCodeResponse,
  type QrStatusRequest,
  QrStatusResponse,
  SendMessageBody,
  type SendMessageRequest,
  SendMessageResponse,
  SendTypingBody,
  type SendTypingRequest
} from "../wire/Api.js"
import {
  describeParseError,
  ILinkApiError,
  type ILinkConfigError,
  ILinkDecodeError,
  ILinkHttpStatusError,
  AuthExpired,
  ILinkTimeoutError,
  ILinkTransportError,
  maskSecretValues,
  type ReachedServer,
  type TransportErrorKind
} from "../wire/ILinkError.js"
import { parseJson, parseLossless } from "../wire/LosslessJson.js"
import { endpointUrl, type ILinkConnection, normalizeBaseUrl } from "./ILinkConnection.js"
import { getHeaders, postHeaders, wechatUinHeader } from "./Headers.js"
import { ILinkSettings, ILinkTimeouts, routeTagHeader } from "./ILinkSettings.js"

/** Largest response body we read; iLink answers are a few KiB, so anything bigger is not an iLink answer. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

/** How much of a body an error carries for diagnosis. */
const SNIPPET_CHARS = 200

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

/** `bot_type` of the QR fetch; the only value the official client uses. */
const BOT_TYPE = "3"

/** What the server is asked to do: the request half of one call. */
interface CallTarget {
  readonly endpoint: Endpoint
  /** endpoint path plus query string */
  readonly path: string
  readonly baseUrl: string
  readonly accountId: string | undefined
  readonly timeout: Duration.Duration
}

export interface GetUpdatesOptions {
  /** opaque cursor from the previous response; "" when there is none */
  readonly get_updates_buf: string
  /** client timeout of this poll; the monitor passes the server's `longpolling_timeout_ms` (default 35 s) */
  readonly timeoutMs?: number | undefined
}

// ---------------------------------------------------------------------------------------------------------
// error helpers

/** The start of a body, for diagnosis, with token-like values masked. */
export const redactSnippet = (body: string): string => maskSecretValues(body.slice(0, SNIPPET_CHARS * 4)).slice(0, SNIPPET_CHARS)

const systemCodes = (cause: unknown): Array<{ readonly code: string; readonly error: unknown }> => {
  const found: Array<{ code: string; error: unknown }> = []
  const seen = new Set<unknown>()
  const visit = (value: unknown, depth: number): void => {
    if (depth > 5 || value === null || typeof value !== "object" || seen.has(value)) return
    seen.add(value)
    const record = value as { code?: unknown; cause?: unknown; errors?: unknown }
    if (typeof record.code === "string") found.push({ code: record.code, error: value })
    visit(record.cause, depth + 1)
    if (Array.isArray(record.errors)) for (const inner of record.errors) visit(inner, depth + 1)
  }
  visit(cause, 0)
  return found
}

const kindOfCode = (code: string, error: unknown): TransportErrorKind | undefined => {
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") return "dns"
  if (code === "ECONNREFUSED") return "refused"
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" || code === "UND_ERR_CLOSED") return "reset"
  if (code === "ENETUNREACH" || code === "EHOSTUNREACH" || code === "UND_ERR_CONNECT_TIMEOUT") return "unreachable"
  // a timed-out connect never carried the request; a timeout on an open socket may have
  if (code === "ETIMEDOUT") return (error as { syscall?: unknown }).syscall === "connect" ? "unreachable" : undefined
  if (/SSL|TLS|CERT|UNABLE_TO_VERIFY|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH/i.test(code)) return "tls"
  return undefined
}

/** undici's socket errors say how many bytes went out; zero proves the request was never written. */
const provablyUnsent = (error: unknown): boolean => {
  const socket = (error as { socket?: { bytesWritten?: unknown } }).socket
  return socket !== undefined && socket.bytesWritten === 0
}

const describeCause = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "unknown network failure"

/** Classifies a failed request from the undici/system error codes in its cause chain. */
export const classifyTransportFailure = (
  target: Pick<CallTarget, "endpoint" | "accountId">,
  cause: unknown
): ILinkTransportError => {
  const codes = systemCodes(cause)
  const classified = codes.map((entry) => ({ ...entry, kind: kindOfCode(entry.code, entry.error) }))
    .find((entry) => entry.kind !== undefined)
  const kind: TransportErrorKind = classified?.kind ?? "unknown"
  const reachedServer: ReachedServer = kind === "reset" || kind === "unknown"
    ? (classified !== undefined && provablyUnsent(classified.error) ? "no" : "maybe")
    : "no"
  const code = classified?.code ?? codes[0]?.code
  return new ILinkTransportError({
    endpoint: target.endpoint,
    ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
    reachedServer,
    kind,
    ...(code === undefined ? {} : { code }),
    detail: describeCause(cause)
  })
}

const fromRequestError = (target: CallTarget, error: HttpClientError): ILinkTransportError => {
  if (error._tag === "RequestError" && error.reason !== "Transport") {
    // the request could not even be built (bad URL, unencodable body): nothing left this process
    return new ILinkTransportError({
      endpoint: target.endpoint,
      ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
      reachedServer: "no",
      kind: "unknown",
      detail: error.message
    })
  }
  return classifyTransportFailure(target, error.cause ?? error)
}

const decodeError = (target: CallTarget, problem: string, body: string): ILinkDecodeError =>
  new ILinkDecodeError({
    endpoint: target.endpoint,
    ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
    reachedServer: "yes",
    problem,
    bodySnippet: redactSnippet(body)
  })

// ---------------------------------------------------------------------------------------------------------
// body reading

class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
}

/** Reads the body as UTF-8 text, refusing to buffer more than {@link MAX_RESPONSE_BYTES}. */
const readCappedText = (
  target: CallTarget,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<string, ILinkDecodeError | ILinkTransportError> =>
  response.stream.pipe(
    Stream.mapError((error): BodyTooLarge | HttpClientError => error),
    Stream.runFoldEffect(
      { chunks: [] as Array<Uint8Array>, total: 0 },
      (acc, chunk): Effect.Effect<{ chunks: Array<Uint8Array>; total: number }, BodyTooLarge> => {
        if (acc.total + chunk.length > MAX_RESPONSE_BYTES) return Effect.fail(new BodyTooLarge())
        acc.chunks.push(chunk)
        return Effect.succeed({ chunks: acc.chunks, total: acc.total + chunk.length })
      }
    ),
    Effect.map((acc) => Buffer.concat(acc.chunks).toString("utf8")),
    Effect.mapError((error): ILinkDecodeError | ILinkTransportError =>
      error instanceof BodyTooLarge
        ? decodeError(target, `the body is larger than ${MAX_RESPONSE_BYTES} bytes`, "")
        // the status line arrived, so the server has the request; only the body was cut off
        : new ILinkTransportError({
          endpoint: target.endpoint,
          ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
          reachedServer: "yes",
          kind: "reset",
          detail: `the response body was cut off: ${describeCause(error.cause ?? error)}`
        })
    )
  )

// ---------------------------------------------------------------------------------------------------------
// the service

export class ILinkApi extends Effect.Service<ILinkApi>()("openclaw-weixin/ILinkApi", {
  effect: Effect.gen(function*() {
    // no trace-propagation headers: the server gets exactly the header set of ILINK §1.3
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))

    const baseInfo: Effect.Effect<BaseInfo> = Effect.gen(function*() {
      const pkg = yield* PackageInfo
      const settings = yield* ILinkSettings
      return { channel_version: pkg.version ?? "unknown", bot_agent: sanitizeBotAgent(settings.botAgent) }
    })

    const headerInputs = Effect.gen(function*() {
      const pkg = yield* PackageInfo
      const settings = yield* ILinkSettings
      return {
        appId: pkg.ilinkAppId,
        clientVersion: clientVersionHeader(pkg.version),
        routeTag: routeTagHeader(settings.routeTag)
      }
    })

    const statusError = (target: CallTarget, status: number, body: string) =>
      new ILinkHttpStatusError({
        endpoint: target.endpoint,
        ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
        reachedServer: "yes",
        status,
        bodySnippet: redactSnippet(body)
      })

    /**
     * Sends one request and returns the 2xx body text. A non-2xx status fails with ILinkHttpStatusError
     * even when its body cannot be read; `bodyNeeded: false` drains the body without judging it.
     */
    const exchange = (
      target: CallTarget,
      request: HttpClientRequest.HttpClientRequest,
      bodyNeeded: boolean
    ): Effect.Effect<string, ILinkTransportError | ILinkDecodeError | ILinkHttpStatusError> =>
      // origin and path only: the query of get_qrcode_status is enough to collect a login, and headers carry the token
      Effect.logDebug(`iLink ${request.method} ${new URL(target.path, target.baseUrl).origin}/${target.endpoint}`).pipe(
        Effect.zipRight(client.execute(request)),
        Effect.mapError((error) => fromRequestError(target, error)),
        Effect.flatMap((response) => {
          const body = readCappedText(target, response)
          const ok = response.status >= 200 && response.status < 300
          const outcome: Effect.Effect<string, ILinkTransportError | ILinkDecodeError | ILinkHttpStatusError> = !ok
            ? Effect.flatMap(Effect.orElseSucceed(body, () => ""), (text) =>
              Effect.fail(statusError(target, response.status, text)))
            : bodyNeeded
            ? body
            : Effect.as(Effect.ignore(body), "")
          return Effect.zipRight(Effect.logDebug(`iLink ${target.endpoint} answered HTTP ${response.status}`), outcome)
        }),
        Effect.scoped
      )

    const decodeBody = <A, I>(
      target: CallTarget,
      schema: Schema.Schema<A, I>,
      body: string,
      lossless: boolean
    ): Effect.Effect<A, ILinkDecodeError> => {
      if (body.trim() === "") return Effect.fail(decodeError(target, "the body is empty", body))
      const parsed = lossless ? parseLossless(body) : parseJson(body)
      if (Either.isLeft(parsed)) {
        return Effect.fail(decodeError(target, `the body is not valid JSON (${parsed.left.message})`, body))
      }
      return Schema.decodeUnknown(schema)(parsed.right).pipe(
        Effect.mapError((error) =>
          decodeError(
            target,
            `the JSON does not have the expected shape: ${describeParseError(error)}`,
            body
          )
        )
      )
    }

    const timeoutError = (target: CallTarget) =>
      new ILinkTimeoutError({
        endpoint: target.endpoint,
        ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
        reachedServer: "maybe",
        timeoutMs: Duration.toMillis(target.timeout)
      })

    /** A POST to a bot endpoint with the §1.3 headers and the encoded JSON body. */
    const post = (
      target: CallTarget,
      token: Redacted.Redacted<string> | undefined,
      body: unknown,
      bodyNeeded: boolean
    ) =>
      Effect.gen(function*() {
        const inputs = yield* headerInputs
        const uin = wechatUinHeader(yield* Random.nextIntBetween(0, 0x1_0000_0000))
        const request = HttpClientRequest.post(endpointUrl(target.baseUrl, target.path)).pipe(
          HttpClientRequest.setHeaders(postHeaders(inputs, { uin, token })),
          HttpClientRequest.bodyText(JSON.stringify(body), "application/json")
        )
        return yield* exchange(target, request, bodyNeeded)
      })

    const connTarget = (
      conn: ILinkConnection,
      endpoint: Endpoint,
      timeout: Duration.Duration
    ): CallTarget => ({ endpoint, path: endpoint, baseUrl: conn.baseUrl, accountId: conn.accountId, timeout })

    const encodeBody = <A, I>(target: CallTarget, schema: Schema.Schema<A, I>, value: A) =>
      Schema.encode(schema)(value).pipe(
        // a caller handed us a value its own type forbids; nothing was sent
        Effect.mapError((error) =>
          new ILinkTransportError({
            endpoint: target.endpoint,
            ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
            reachedServer: "no",
            kind: "unknown",
            detail: `the request could not be encoded: ${describeParseError(error)}`
          })
        )
      )

    /** Fails with ILinkApiError when `ret` is present and non-zero. */
    const requireRetZero = (
      target: CallTarget,
      response: { readonly ret?: number; readonly errcode?: number; readonly errmsg?: string },
      retRequired: boolean
    ): Effect.Effect<void, ILinkApiError> =>
      (response.ret === undefined ? !retRequired : response.ret === 0) ? Effect.void : Effect.fail(
        new ILinkApiError({
          endpoint: target.endpoint,
          ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
          reachedServer: "yes",
          ...(response.ret === undefined ? {} : { ret: response.ret }),
          ...(response.errcode === undefined ? {} : { errcode: response.errcode }),
          ...(response.errmsg === undefined ? {} : { errmsg: response.errmsg })
        })
      )

    /** POST + status check + decode + timeout, the common shape of every token endpoint. */
    const postJson = <A, I, B, J>(
      target: CallTarget,
      token: Redacted.Redacted<string> | undefined,
      requestSchema: Schema.Schema<B, J>,
      request: B,
      responseSchema: Schema.Schema<A, I>,
      lossless: boolean
    ): Effect.Effect<A, ILinkTransportError | ILinkHttpStatusError | ILinkDecodeError | ILinkTimeoutError> =>
      Effect.gen(function*() {
        const body = yield* encodeBody(target, requestSchema, request)
        const text = yield* post(target, token, body, true)
        return yield* decodeBody(target, responseSchema, text, lossless)
      }).pipe(
        Effect.timeoutFail({ duration: target.timeout, onTimeout: () => timeoutError(target) })
      )

    const annotate = (conn: { readonly accountId?: string | undefined }, endpoint: Endpoint) =>
      Effect.annotateLogs(conn.accountId === undefined ? { endpoint } : { endpoint, accountId: conn.accountId })

    // -------------------------------------------------------------------------------------------------

    const getUpdates = Effect.fn("ILinkApi.getUpdates")(function*(conn: ILinkConnection, options: GetUpdatesOptions) {
      const timeouts = yield* ILinkTimeouts
      const timeout = options.timeoutMs !== undefined && options.timeoutMs > 0
        ? Duration.millis(options.timeoutMs)
        : timeouts.getUpdates
      const target = connTarget(conn, Endpoint.getUpdates, timeout)
      const polled = yield* postJson(
        target,
        conn.token,
        GetUpdatesBody,
        { get_updates_buf: options.get_updates_buf, base_info: yield* baseInfo },
        GetUpdatesResponse,
        true
      ).pipe(
        Effect.map(Option.some),
        // a long-poll that outlives the client timeout is just an empty poll (ILINK §1.7, App. C)
        Effect.catchTag("ILinkTimeoutError", () => Effect.succeed(Option.none()))
      )
      if (Option.isNone(polled)) {
        yield* Effect.logDebug("iLink getupdates timed out on the client: empty poll")
        const empty: GetUpdatesResponse = { ret: 0, msgs: [], get_updates_buf: options.get_updates_buf }
        return empty
      }
      const response = polled.value
      const failed = (response.ret !== undefined && response.ret !== 0) ||
        (response.errcode !== undefined && response.errcode !== 0)
      if (!failed) return response
      const details = {
        endpoint: target.endpoint,
        ...(target.accountId === undefined ? {} : { accountId: target.accountId }),
        reachedServer: "yes" as const,
        ...(response.ret === undefined ? {} : { ret: response.ret }),
        ...(response.errcode === undefined ? {} : { errcode: response.errcode }),
        ...(response.errmsg === undefined ? {} : { errmsg: response.errmsg })
      }
      return yield* (response.ret === -14 || response.errcode === -14
        ? Effect.fail(new AuthExpired(details))
        : Effect.fail(new ILinkApiError(details)))
    }, (effect, conn) => annotate(conn, Endpoint.getUpdates)(effect))

    const sendMessage = Effect.fn("ILinkApi.sendMessage")(function*(conn: ILinkConnection, request: SendMessageRequest) {
      const timeouts = yield* ILinkTimeouts
      const target = connTarget(conn, Endpoint.sendMessage, timeouts.send)
      const response = yield* postJson(
        target,
        conn.token,
        SendMessageBody,
        { ...request, base_info: yield* baseInfo },
        SendMessageResponse,
        true
      )
      // −14 here is an ordinary send failure: the official client only recognises it on getupdates (§1.6)
      yield* requireRetZero(target, response, false)
      return response
    }, (effect, conn) => annotate(conn, Endpoint.sendMessage)(effect))

    const sendTyping = Effect.fn("ILinkApi.sendTyping")(function*(conn: ILinkConnection, request: SendTypingRequest) {
      const timeouts = yield* ILinkTimeouts
      const target = connTarget(conn, Endpoint.sendTyping, timeouts.control)
      // only the HTTP status matters; the body is never parsed (§1.8.3)
      yield* Effect.gen(function*() {
        const body = yield* encodeBody(target, SendTypingBody, { ...request, base_info: yield* baseInfo })
        yield* post(target, conn.token, body, false)
      }).pipe(Effect.timeoutFail({ duration: target.timeout, onTimeout: () => timeoutError(target) }))
    }, (effect, conn) => annotate(conn, Endpoint.sendTyping)(effect))

    const getConfig = Effect.fn("ILinkApi.getConfig")(function*(conn: ILinkConnection, request: GetConfigRequest) {
      const timeouts = yield* ILinkTimeouts
      const target = connTarget(conn, Endpoint.getConfig, timeouts.control)
      const response = yield* postJson(
        target,
        conn.token,
        GetConfigBody,
        { ...request, base_info: yield* baseInfo },
        GetConfigResponse,
        false
      )
      // only ret === 0 counts as success (§1.6); e.g. ret −4 before the user's first message (App. C)
      yield* requireRetZero(target, response, true)
      return response
    }, (effect, conn) => annotate(conn, Endpoint.getConfig)(effect))

    const getUploadUrl = Effect.fn("ILinkApi.getUploadUrl")(
      function*(conn: ILinkConnection, request: GetUploadUrlRequest) {
        const timeouts = yield* ILinkTimeouts
        const target = connTarget(conn, Endpoint.getUploadUrl, timeouts.send)
        const response = yield* postJson(
          target,
          conn.token,
          GetUploadUrlBody,
          { ...request, base_info: yield* baseInfo },
          GetUploadUrlResponse,
          false
        )
        // the official client ignores ret here, but a refused upload (ret −1 / 2, App. C) carries no URL
        yield* requireRetZero(target, response, false)
        return response
      },
      (effect, conn) => annotate(conn, Endpoint.getUploadUrl)(effect)
    )

    const notify = (endpoint: typeof Endpoint.notifyStart | typeof Endpoint.notifyStop) => (conn: ILinkConnection) =>
      Effect.gen(function*() {
        const timeouts = yield* ILinkTimeouts
        const target = connTarget(conn, endpoint, timeouts.control)
        const response = yield* postJson(
          target,
          conn.token,
          NotifyBody,
          { base_info: yield* baseInfo },
          NotifyResponse,
          false
        )
        yield* requireRetZero(target, response, false)
        return response
      }).pipe(annotate(conn, endpoint))

    const notifyStart = Effect.fn("ILinkApi.notifyStart")(function*(conn: ILinkConnection) {
      return yield* notify(Endpoint.notifyStart)(conn)
    })

    /** Uses only its own timeout, so it can run while the account is being stopped. */
    const notifyStop = Effect.fn("ILinkApi.notifyStop")(function*(conn: ILinkConnection) {
      return yield* notify(Endpoint.notifyStop)(conn)
    })

    const getBotQrCode = Effect.fn("ILinkApi.getBotQrCode")(function*(baseUrl: string, request: QrCodeRequest) {
      const timeouts = yield* ILinkTimeouts
      const normalized = yield* normalizeBaseUrl(baseUrl, { endpoint: Endpoint.getBotQrCode })
      const target: CallTarget = {
        endpoint: Endpoint.getBotQrCode,
        path: `${Endpoint.getBotQrCode}?bot_type=${encodeURIComponent(BOT_TYPE)}`,
        baseUrl: normalized,
        accountId: undefined,
        timeout: timeouts.qrCode
      }
      // POST header set without Authorization (no token), and no base_info (§1.8.7)
      return yield* postJson(target, undefined, QrCodeRequest, request, QrCodeResponse, false)
    }, annotate({}, Endpoint.getBotQrCode))

    const getQrCodeStatus = Effect.fn("ILinkApi.getQrCodeStatus")(
      function*(baseUrl: string, request: QrStatusRequest) {
        const timeouts = yield* ILinkTimeouts
        const normalized = yield* normalizeBaseUrl(baseUrl, { endpoint: Endpoint.getQrCodeStatus })
        const query = `qrcode=${encodeURIComponent(request.qrcode)}` +
          (request.verify_code === undefined ? "" : `&verify_code=${encodeURIComponent(request.verify_code)}`)
        const target: CallTarget = {
          endpoint: Endpoint.getQrCodeStatus,
          path: `${Endpoint.getQrCodeStatus}?${query}`,
          baseUrl: normalized,
          accountId: undefined,
          timeout: timeouts.qrStatus
        }
        return yield* Effect.gen(function*() {
          const inputs = yield* headerInputs
          const httpRequest = HttpClientRequest.get(endpointUrl(target.baseUrl, target.path)).pipe(
            HttpClientRequest.setHeaders(getHeaders(inputs))
          )
          const body = yield* exchange(target, httpRequest, true)
          return yield* decodeBody(target, QrStatusResponse, body, false)
        }).pipe(
          // the login flow reads a timeout as `wait` (§1.8.8)
          Effect.timeoutFail({ duration: target.timeout, onTimeout: () => timeoutError(target) })
        )
      },
      annotate({}, Endpoint.getQrCodeStatus)
    )

    return {
      getUpdates,
      sendMessage,
      sendTyping,
      getConfig,
      getUploadUrl,
      notifyStart,
      notifyStop,
      getBotQrCode,
      getQrCodeStatus
    } as const
  }),
  dependencies: [NodeHttpClient.layerUndici]
}) {}

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
