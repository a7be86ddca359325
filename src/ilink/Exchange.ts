/**
 * One request to the iLink server and its answer: the headers (PROTOCOL §1.3) and `base_info`
 * (PROTOCOL §1.4) read from the settings at the moment of the call, the JSON body encoded with Schema,
 * the status check, the capped body read, the Schema decode of the answer (64-bit ids kept exact where
 * asked), the `ret` check, and the client-side timeout. `ILinkApi` composes these per endpoint.
 *
 * @example
 * ```ts
 * const exchange = makeExchange(client)
 * const target = connectionTarget(conn, Endpoint.getConfig, timeouts.control)
 * const answer = yield* exchange.postJson(target, conn.token, GetConfigBody, body, GetConfigResponse, false)
 * ```
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
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
import { readCappedText, requestFailure } from "./Transport.js"

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

/** Sends requests through `httpClient`; every method fails only with typed iLink errors. */
export const makeExchange = (httpClient: HttpClient.HttpClient) => {
  // no trace-propagation headers: the server gets exactly the header set of PROTOCOL §1.3; no client span
  // either (nothing collects spans, and a held long-poll would keep one, with every header as an attribute,
  // for 35 s); each request is aborted when its exchange ends, so a body left unread (refused by its
  // declared length) frees its socket
  const client = httpClient.pipe(
    HttpClient.withTracerPropagation(false),
    HttpClient.withTracerDisabledWhen(() => true),
    HttpClient.withScope
  )

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
      Effect.mapError((error) => requestFailure(target, error)),
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

  /** A POST to a bot endpoint with the PROTOCOL §1.3 headers and the encoded JSON body. */
  const post = <J>(target: CallTarget, token: Redacted.Redacted<string> | undefined, body: J, bodyNeeded: boolean) =>
    Effect.gen(function*() {
      const inputs = yield* headerInputs
      const uin = wechatUinHeader(yield* Random.nextIntBetween(0, 0x1_0000_0000))
      const request = HttpClientRequest.post(endpointUrl(target.baseUrl, target.path)).pipe(
        HttpClientRequest.setHeaders(postHeaders(inputs, { uin, token })),
        HttpClientRequest.bodyText(JSON.stringify(body), "application/json")
      )
      return yield* exchange(target, request, bodyNeeded)
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
      const request = HttpClientRequest.get(endpointUrl(target.baseUrl, target.path)).pipe(
        HttpClientRequest.setHeaders(getHeaders(inputs))
      )
      const body = yield* exchange(target, request, true)
      return yield* decodeBody(target, responseSchema, body, false)
    }).pipe(withTimeout(target))

  return { postJson, postForStatus, getJson } as const
}

export type Exchange = ReturnType<typeof makeExchange>
