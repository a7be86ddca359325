/**
 * One request to the iLink server and its answer: the headers (PROTOCOL §1.3) and `base_info`
 * (PROTOCOL §1.4) read from the settings at the moment of the call, the JSON body encoded with Schema,
 * the status check of the answer the transport read under its cap (ILinkTransport.ts), the Schema decode
 * of the answer (64-bit ids kept exact where asked), the `ret` check, and the client-side timeout.
 * `ILinkApi` composes these per endpoint.
 *
 * @example
 * ```ts
 * const exchange = makeExchange(transport)
 * const target = connectionTarget(conn, Endpoint.getConfig, timeouts.control)
 * const answer = yield* exchange.postJson(target, conn.token, GetConfigBody, body, GetConfigResponse, false)
 * ```
 */
import { Duration, Effect, Either, Random, type Redacted, Schema } from "effect"
import { sanitizeBotAgent } from "../domain/BotAgent.js"
import { clientVersionHeader } from "../domain/ClientVersion.js"
import { DEFAULT_PROTOCOL_VERSION } from "../config/Defaults.js"
import { PackageInfo } from "../domain/PackageInfo.js"
import type { BaseInfo } from "../wire/Api.js"
import {
  ILinkApiError,
  ILinkDecodeError,
  type ILinkErrorScope,
  ILinkHttpStatusError,
  ILinkTimeoutError,
  ILinkTransportError,
  scopeFields
} from "../wire/ILinkError.js"
import { parseJson, parseLossless } from "../wire/LosslessJson.js"
import { describeParseError, redactSnippet } from "../wire/Redaction.js"
import { type Endpoint, endpointUrl } from "./Endpoint.js"
import { getHeaders, type ILinkHeaderInputs, postHeaders, wechatUinHeader } from "./Headers.js"
import type { ILinkConnection } from "./ILinkConnection.js"
import { ILinkSettings, routeTagHeader } from "./ILinkSettings.js"
import type { ILinkRequest, ILinkTransportShape } from "./ILinkTransport.js"

/** What the server is asked to do: the request half of one call. */
export interface CallTarget extends ILinkErrorScope {
  readonly endpoint: Endpoint
  /** endpoint path plus query string */
  readonly path: string
  /** normalised: absolute http(s), ending in "/" */
  readonly baseUrl: string
  readonly accountId: string | undefined
  readonly timeout: Duration.Duration
}

/** The target of a call on an account's connection: the path is the endpoint, no query. */
export const connectionTarget = (conn: ILinkConnection, endpoint: Endpoint, timeout: Duration.Duration): CallTarget => ({
  endpoint,
  path: endpoint,
  baseUrl: conn.baseUrl,
  accountId: conn.accountId,
  timeout
})

/** `base_info` of every token endpoint: the protocol level and the configured bot agent (PROTOCOL §1.4). */
export const baseInfo: Effect.Effect<BaseInfo> = Effect.gen(function*() {
  const settings = yield* ILinkSettings
  return {
    channel_version: settings.protocolVersion ?? DEFAULT_PROTOCOL_VERSION,
    bot_agent: sanitizeBotAgent(settings.botAgent)
  }
})

const headerInputs: Effect.Effect<ILinkHeaderInputs> = Effect.gen(function*() {
  const pkg = yield* PackageInfo
  const settings = yield* ILinkSettings
  return {
    appId: pkg.ilinkAppId,
    clientVersion: clientVersionHeader(settings.protocolVersion ?? DEFAULT_PROTOCOL_VERSION),
    routeTag: routeTagHeader(settings.routeTag)
  }
})

const decodeError = (target: CallTarget, problem: string, body: string): ILinkDecodeError =>
  new ILinkDecodeError({ ...scopeFields(target), reachedServer: "yes", problem, bodySnippet: redactSnippet(body) })

const statusError = (target: CallTarget, status: number, body: string): ILinkHttpStatusError =>
  new ILinkHttpStatusError({ ...scopeFields(target), reachedServer: "yes", status, bodySnippet: redactSnippet(body) })

const timeoutError = (target: CallTarget): ILinkTimeoutError =>
  new ILinkTimeoutError({ ...scopeFields(target), reachedServer: "maybe", timeoutMs: Duration.toMillis(target.timeout) })

/** Fails with ILinkTimeoutError when `effect` outlives the target's timeout. */
const withTimeout = <A, E, R>(target: CallTarget) => (effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, {
    duration: target.timeout,
    // a method, not an arrow property: the build's keepNames makes every named arrow a dictionary
    // object, and this one lives as long as a held long-poll
    onTimeout() {
      return timeoutError(target)
    }
  })

/** Encodes a request body; a value its own type forbids fails before anything is sent. */
const encodeBody = <A, I>(target: CallTarget, schema: Schema.Schema<A, I>, value: A) =>
  Schema.encode(schema)(value).pipe(
    Effect.mapError((error) =>
      new ILinkTransportError({
        ...scopeFields(target),
        reachedServer: "no",
        kind: "unknown",
        detail: `the request could not be encoded: ${describeParseError(error)}`
      })
    )
  )

/** Decodes a 2xx body; `lossless` keeps 64-bit ids exact (getupdates, sendmessage). */
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
      decodeError(target, `the JSON does not have the expected shape: ${describeParseError(error)}`, body)
    )
  )
}

/** Fails with ILinkApiError when `ret` is non-zero, or absent while `retRequired` (PROTOCOL §1.6). */
export const requireRetZero = (
  target: CallTarget,
  response: { readonly ret?: number; readonly errcode?: number; readonly errmsg?: string },
  retRequired: boolean
): Effect.Effect<void, ILinkApiError> =>
  (response.ret === undefined ? !retRequired : response.ret === 0) ? Effect.void : Effect.fail(
    new ILinkApiError({
      ...scopeFields(target),
      reachedServer: "yes",
      ...(response.ret === undefined ? {} : { ret: response.ret }),
      ...(response.errcode === undefined ? {} : { errcode: response.errcode }),
      ...(response.errmsg === undefined ? {} : { errmsg: response.errmsg })
    })
  )

/** Header names as they go on the wire: lowercase, as HTTP/1.1 stacks send them. */
const wireHeaders = (headers: Record<string, string>): Record<string, string> => {
  const lower: Record<string, string> = {}
  for (const name in headers) lower[name.toLowerCase()] = headers[name]!
  return lower
}

/** Sends requests through `transport`; every method fails only with typed iLink errors. */
export const makeExchange = (transport: ILinkTransportShape) => {
  /**
   * Sends one request and returns the 2xx body text. A non-2xx status fails with ILinkHttpStatusError
   * even when its body cannot be read; `bodyNeeded: false` takes the body without judging it.
   */
  const exchange = (
    target: CallTarget,
    method: ILinkRequest["method"],
    headers: Record<string, string>,
    body: string | undefined,
    bodyNeeded: boolean
  ): Effect.Effect<string, ILinkTransportError | ILinkDecodeError | ILinkHttpStatusError> =>
    Effect.suspend(() => {
      let url: URL
      try {
        url = endpointUrl(target.baseUrl, target.path)
      } catch (error) {
        // the request could not even be built: nothing left this process
        return Effect.fail(
          new ILinkTransportError({
            ...scopeFields(target),
            reachedServer: "no",
            kind: "unknown",
            detail: `the request URL could not be built: ${error instanceof Error ? error.message : String(error)}`
          })
        )
      }
      const request: ILinkRequest = body === undefined ? { method, url, headers } : { method, url, headers, body }
      // origin and path only: the query of get_qrcode_status is enough to collect a login, and headers carry the token
      return Effect.logDebug(`iLink ${method} ${url.origin}/${target.endpoint}`).pipe(
        Effect.zipRight(transport.send(target, request)),
        Effect.flatMap((answer) => {
          const ok = answer.status >= 200 && answer.status < 300
          const outcome: Effect.Effect<string, ILinkTransportError | ILinkDecodeError | ILinkHttpStatusError> = !ok
            ? Effect.fail(statusError(target, answer.status, Either.getOrElse(answer.body, () => "")))
            : bodyNeeded
            ? answer.body
            : Effect.succeed("")
          return Effect.zipRight(Effect.logDebug(`iLink ${target.endpoint} answered HTTP ${answer.status}`), outcome)
        })
      )
    })

  /** A POST to a bot endpoint with the PROTOCOL §1.3 headers and the encoded JSON body. */
  const post = <J>(target: CallTarget, token: Redacted.Redacted<string> | undefined, body: J, bodyNeeded: boolean) =>
    Effect.gen(function*() {
      const inputs = yield* headerInputs
      const uin = wechatUinHeader(yield* Random.nextIntBetween(0, 0x1_0000_0000))
      const text = JSON.stringify(body)
      const headers = wireHeaders(postHeaders(inputs, { uin, token }))
      headers["content-type"] = "application/json"
      headers["content-length"] = String(Buffer.byteLength(text))
      return yield* exchange(target, "POST", headers, text, bodyNeeded)
    })

  /** POST + status check + decode, under the target's timeout: the common shape of the POST endpoints. */
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
    }).pipe(withTimeout(target))

  /** POST whose answer counts only by its HTTP status; the body is drained, never parsed. */
  const postForStatus = <B, J>(
    target: CallTarget,
    token: Redacted.Redacted<string> | undefined,
    requestSchema: Schema.Schema<B, J>,
    request: B
  ): Effect.Effect<void, ILinkTransportError | ILinkHttpStatusError | ILinkDecodeError | ILinkTimeoutError> =>
    Effect.gen(function*() {
      const body = yield* encodeBody(target, requestSchema, request)
      yield* post(target, token, body, false)
    }).pipe(withTimeout(target))

  /** GET with the reduced header set (no token, no uin) + status check + decode, under the target's timeout. */
  const getJson = <A, I>(
    target: CallTarget,
    responseSchema: Schema.Schema<A, I>
  ): Effect.Effect<A, ILinkTransportError | ILinkHttpStatusError | ILinkDecodeError | ILinkTimeoutError> =>
    Effect.gen(function*() {
      const inputs = yield* headerInputs
      const body = yield* exchange(target, "GET", wireHeaders(getHeaders(inputs)), undefined, true)
      return yield* decodeBody(target, responseSchema, body, false)
    }).pipe(withTimeout(target))

  return { postJson, postForStatus, getJson } as const
}

export type Exchange = ReturnType<typeof makeExchange>
