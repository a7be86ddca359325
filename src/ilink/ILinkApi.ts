/**
 * The iLink bot HTTP API (PROTOCOL §1): one method per endpoint, each with its own client-side timeout,
 * the exact headers and `base_info` of the official client, and every failure as a typed `ILinkError`.
 *
 * What each endpoint means lives here: which timeout it takes, which `ret` counts as failure, that a
 * getupdates outliving its timeout is an empty poll with the same cursor, that −14 on getupdates is
 * `AuthExpired`. How a request is sent and its answer read is `Exchange`; how a failed request is
 * classified is `Transport`. The base URL is part of each call's connection, so the sandbox and
 * per-account base URLs need no extra wiring.
 *
 * Layers: `ILinkApi.Default` runs on Node's own `node:http(s)` (`ILinkTransport.node`); `ILinkApi.DefaultWithoutDependencies`
 * takes the `ILinkTransport` from context (tests hand it a recording or failing one); `ILinkApi.layerTest` answers from handlers.
 *
 * @example
 * ```ts
 * const api = yield* ILinkApi
 * const conn = yield* ILinkConnection.make({ baseUrl, token, accountId })
 * const batch = yield* api.getUpdates(conn, { get_updates_buf: cursor })
 * ```
 */
import { Duration, Effect, Layer, Option } from "effect"
import {
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
import { AuthExpired, ILinkApiError, scopeFields } from "../wire/ILinkError.js"
import { Endpoint, qrCodePath, qrStatusPath } from "./Endpoint.js"
import { baseInfo, type CallTarget, connectionTarget, makeExchange, requireRetZero } from "./Exchange.js"
import { type ILinkConnection, normalizeBaseUrl } from "./ILinkConnection.js"
import { ILinkTimeouts } from "./ILinkSettings.js"
import { ILinkTransport } from "./ILinkTransport.js"

export interface GetUpdatesOptions {
  /** opaque cursor from the previous response; "" when there is none */
  readonly get_updates_buf: string
  /** client timeout of this poll; the monitor passes the server's `longpolling_timeout_ms` (default 35 s) */
  readonly timeoutMs?: number | undefined
}

const annotate = (conn: { readonly accountId?: string | undefined }, endpoint: Endpoint) =>
  Effect.annotateLogs(conn.accountId === undefined ? { endpoint } : { endpoint, accountId: conn.accountId })

/** The client over the `ILinkTransport` in context. */
export const make = Effect.gen(function*() {
  const exchange = makeExchange(yield* ILinkTransport)

  const getUpdates = Effect.fn("ILinkApi.getUpdates")(function*(conn: ILinkConnection, options: GetUpdatesOptions) {
    const timeouts = yield* ILinkTimeouts
    const timeout = options.timeoutMs !== undefined && options.timeoutMs > 0
      ? Duration.millis(options.timeoutMs)
      : timeouts.getUpdates
    const target = connectionTarget(conn, Endpoint.getUpdates, timeout)
    const polled = yield* exchange.postJson(
      target,
      conn.token,
      GetUpdatesBody,
      { get_updates_buf: options.get_updates_buf, base_info: yield* baseInfo },
      GetUpdatesResponse,
      true
    ).pipe(
      Effect.map(Option.some),
      // a long-poll that outlives the client timeout is just an empty poll (PROTOCOL §1.7, App. C)
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
      ...scopeFields(target),
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
    const target = connectionTarget(conn, Endpoint.sendMessage, timeouts.send)
    const response = yield* exchange.postJson(
      target,
      conn.token,
      SendMessageBody,
      { ...request, base_info: yield* baseInfo },
      SendMessageResponse,
      true
    )
    // −14 here is an ordinary send failure: the official client only recognises it on getupdates (PROTOCOL §1.6)
    yield* requireRetZero(target, response, false)
    return response
  }, (effect, conn) => annotate(conn, Endpoint.sendMessage)(effect))

  const sendTyping = Effect.fn("ILinkApi.sendTyping")(function*(conn: ILinkConnection, request: SendTypingRequest) {
    const timeouts = yield* ILinkTimeouts
    const target = connectionTarget(conn, Endpoint.sendTyping, timeouts.control)
    // only the HTTP status matters; the body is never parsed (PROTOCOL §1.8.3)
    yield* exchange.postForStatus(target, conn.token, SendTypingBody, { ...request, base_info: yield* baseInfo })
  }, (effect, conn) => annotate(conn, Endpoint.sendTyping)(effect))

  const getConfig = Effect.fn("ILinkApi.getConfig")(function*(conn: ILinkConnection, request: GetConfigRequest) {
    const timeouts = yield* ILinkTimeouts
    const target = connectionTarget(conn, Endpoint.getConfig, timeouts.control)
    const response = yield* exchange.postJson(
      target,
      conn.token,
      GetConfigBody,
      { ...request, base_info: yield* baseInfo },
      GetConfigResponse,
      false
    )
    // only ret === 0 counts as success (PROTOCOL §1.6); e.g. ret −4 before the user's first message (App. C)
    yield* requireRetZero(target, response, true)
    return response
  }, (effect, conn) => annotate(conn, Endpoint.getConfig)(effect))

  const getUploadUrl = Effect.fn("ILinkApi.getUploadUrl")(
    function*(conn: ILinkConnection, request: GetUploadUrlRequest) {
      const timeouts = yield* ILinkTimeouts
      const target = connectionTarget(conn, Endpoint.getUploadUrl, timeouts.send)
      const response = yield* exchange.postJson(
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
      const target = connectionTarget(conn, endpoint, timeouts.control)
      const response = yield* exchange.postJson(
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
      path: qrCodePath(),
      baseUrl: normalized,
      accountId: undefined,
      timeout: timeouts.qrCode
    }
    // POST header set without Authorization (no token), and no base_info (PROTOCOL §1.8.7)
    return yield* exchange.postJson(target, undefined, QrCodeRequest, request, QrCodeResponse, false)
  }, annotate({}, Endpoint.getBotQrCode))

  const getQrCodeStatus = Effect.fn("ILinkApi.getQrCodeStatus")(
    function*(baseUrl: string, request: QrStatusRequest) {
      const timeouts = yield* ILinkTimeouts
      const normalized = yield* normalizeBaseUrl(baseUrl, { endpoint: Endpoint.getQrCodeStatus })
      const target: CallTarget = {
        endpoint: Endpoint.getQrCodeStatus,
        path: qrStatusPath(request),
        baseUrl: normalized,
        accountId: undefined,
        timeout: timeouts.qrStatus
      }
      // the login flow reads a timeout as `wait` (PROTOCOL §1.8.8)
      return yield* exchange.getJson(target, QrStatusResponse)
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
})

/** The methods of the client, one per endpoint. */
export type ILinkApiShape = Effect.Effect.Success<typeof make>

/**
 * The transport of `ILinkApi.Default`: `node:http(s)` on keep-alive agents of its own (ILinkTransport.ts),
 * so no HTTP stack is bundled. Not the global `fetch`: fetch refuses the "bad ports" of the WHATWG fetch
 * standard (1, 6000, 10080, …) without connecting, with no system code to classify, so a base URL on such a
 * port could never be reached; and its errors all read "fetch failed". Redirects are not followed
 * (`node:http` never follows one): a 3xx stays an HTTP status error.
 */
export const nodeTransport: Layer.Layer<ILinkTransport> = ILinkTransport.node

const unhandled = (method: keyof ILinkApiShape) => () =>
  Effect.dieMessage(`ILinkApi.layerTest: no handler for ${method}; the test did not expect this call`)

export class ILinkApi extends Effect.Service<ILinkApi>()("openclaw-weixin/ILinkApi", {
  effect: make,
  dependencies: [nodeTransport]
}) {
  /**
   * A client whose endpoints are `handlers`, for tests of the code that calls iLink. An endpoint without
   * a handler dies naming itself, so a test sees at once which call it did not expect.
   */
  static readonly layerTest = (handlers: Partial<ILinkApiShape>): Layer.Layer<ILinkApi> =>
    Layer.succeed(
      ILinkApi,
      ILinkApi.make({
        getUpdates: unhandled("getUpdates"),
        sendMessage: unhandled("sendMessage"),
        sendTyping: unhandled("sendTyping"),
        getConfig: unhandled("getConfig"),
        getUploadUrl: unhandled("getUploadUrl"),
        notifyStart: unhandled("notifyStart"),
        notifyStop: unhandled("notifyStop"),
        getBotQrCode: unhandled("getBotQrCode"),
        getQrCodeStatus: unhandled("getQrCodeStatus"),
        ...handlers
      })
    )
}

export type { ILinkCallError, ILinkQrCallError } from "../wire/ILinkError.js"
