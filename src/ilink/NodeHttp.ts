/**
 * Keep-alive agents over `node:http` / `node:https` with the environment's proxies, shared by the iLink
 * transport (ILinkTransport.ts) and the CDN client, and the CDN's `HttpClient` over them (CdnTransport.ts).
 * Our own because the client in `@effect/platform-node` shares its module with the undici client and so
 * drags the whole undici library into the bundle, and because the global `fetch` refuses some ports
 * outright (see `nodeTransport` in ILinkApi.ts). Node's own HTTP stack connects to any port, never follows
 * a redirect, and its agents take the `lookup` the address guard needs (CdnAddress.ts).
 *
 * A failure before the response is a `RequestError` ("Transport") whose cause is Node's own error, so the
 * one classifier (Transport.ts) reads the same system codes; a body cut off later fails the response's
 * stream.
 *
 * Proxies: the standard environment variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`,
 * lowercase too), read per request with `proxy-from-env`, as the host's own fetch reads them. An https URL
 * goes through a CONNECT tunnel (`https-proxy-agent`), an http URL to the proxy as an absolute URI
 * (`http-proxy-agent`). Through a proxy the proxy resolves names, so an agent's own `lookup` (the CDN's
 * address guard) does not apply; literal addresses are still checked before any request (CdnAddress.ts).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { RequestError } from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Effect, Stream } from "effect"
import * as Http from "node:http"
import * as Https from "node:https"
import { Readable } from "node:stream"
import { HttpProxyAgent } from "http-proxy-agent"
import { HttpsProxyAgent } from "https-proxy-agent"
import { getProxyForUrl } from "proxy-from-env"

export interface NodeAgents {
  readonly http: Http.Agent
  readonly https: Https.Agent
  /** agents through a proxy, made on first use, by scheme and proxy URL */
  readonly proxied: Map<string, Http.Agent>
}

/** Direct keep-alive agents with `options` (e.g. a guarded `lookup`), and proxy agents; destroyed with the scope. */
export const makeAgents = (options: Http.AgentOptions) =>
  Effect.acquireRelease(
    Effect.sync((): NodeAgents => ({
      http: new Http.Agent({ keepAlive: true, ...options }),
      https: new Https.Agent({ keepAlive: true, ...options }),
      proxied: new Map()
    })),
    (agents) => Effect.sync(() => {
      agents.http.destroy()
      agents.https.destroy()
      for (const agent of agents.proxied.values()) agent.destroy()
      agents.proxied.clear()
    })
  )

/** A proxy variable that is not a usable URL: named in the error, its value never (it may hold a password). */
export class ProxySettingError extends Error {
  constructor(readonly target: string, detail: string) {
    super(`the proxy set for ${target} in the environment (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY) is not usable: ${detail}`)
    this.name = "ProxySettingError"
  }
}

/** The agent for `url`: through the environment's proxy for it, else direct. Throws {@link ProxySettingError}. */
export const agentFor = (agents: NodeAgents, url: URL): Http.Agent => {
  const https = url.protocol === "https:"
  const proxy = getProxyForUrl(url.href)
  if (proxy === "") return https ? agents.https : agents.http
  const key = `${url.protocol} ${proxy}`
  const known = agents.proxied.get(key)
  if (known !== undefined) return known
  let proxyUrl: URL
  try {
    proxyUrl = new URL(proxy)
  } catch {
    throw new ProxySettingError(url.host, "not a URL")
  }
  if (proxyUrl.protocol !== "http:" && proxyUrl.protocol !== "https:") {
    throw new ProxySettingError(url.host, `${proxyUrl.protocol} proxies are not supported, only http: and https:`)
  }
  const agent = https ? new HttpsProxyAgent(proxyUrl, { keepAlive: true }) : new HttpProxyAgent(proxyUrl, { keepAlive: true })
  agents.proxied.set(key, agent)
  return agent
}

/** Statuses whose response has no body by definition (a web `Response` refuses one for them); the iLink transport reads none either. */
export const NULL_BODY: ReadonlySet<number> = new Set([101, 204, 205, 304])

const toWebResponse = (message: Http.IncomingMessage): Response => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(message.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item)
    else if (value !== undefined) headers.set(name, value)
  }
  const status = message.statusCode ?? 0
  if (NULL_BODY.has(status)) message.resume()
  const body = NULL_BODY.has(status) ? null : (Readable.toWeb(message) as ReadableStream<Uint8Array>)
  return new Response(body, { status, headers })
}

/** Writes one chunk, resuming once the request can take more ('drain'); fails if the request closes first. */
const writeChunk = (nodeRequest: Http.ClientRequest, chunk: Uint8Array): Effect.Effect<void, unknown> =>
  Effect.async<void, unknown>((resume) => {
    if (nodeRequest.destroyed) return resume(Effect.fail(new Error("the request was closed while its body was being sent")))
    if (nodeRequest.write(chunk)) return resume(Effect.void)
    const drained = () => {
      nodeRequest.off("close", closed)
      resume(Effect.void)
    }
    const closed = () => {
      nodeRequest.off("drain", drained)
      resume(Effect.fail(new Error("the request was closed while its body was being sent")))
    }
    nodeRequest.once("drain", drained)
    nodeRequest.once("close", closed)
    return Effect.sync(() => {
      nodeRequest.off("drain", drained)
      nodeRequest.off("close", closed)
    })
  })

const sendBody = (
  nodeRequest: Http.ClientRequest,
  request: HttpClientRequest.HttpClientRequest,
  failed: (cause: unknown) => RequestError
): Effect.Effect<void, RequestError> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.sync(() => nodeRequest.end())
    case "Uint8Array":
    case "Raw":
      return Effect.sync(() => nodeRequest.end(body.body as Uint8Array | string))
    case "Stream":
      // written chunk by chunk, waiting for 'drain' when the socket's buffer is full (no web-stream
      // adapters in between); a body that fails destroys the request, so the server never sees it end
      return Stream.runForEach(body.stream, (chunk: Uint8Array) => writeChunk(nodeRequest, chunk)).pipe(
        Effect.mapError((error) => (error instanceof RequestError ? error : failed(error))),
        Effect.zipRight(Effect.async<void>((resume) => void nodeRequest.end(() => resume(Effect.void)))),
        Effect.tapError((error) => Effect.sync(() => nodeRequest.destroy(error.cause instanceof Error ? error.cause : undefined)))
      )
    case "FormData":
      return Effect.fail(failed(new Error("form bodies are not supported by this client")))
  }
}

const webResponses = new WeakMap<HttpClientResponse.HttpClientResponse, Response>()

/**
 * `HttpClientResponse.fromWeb`, remembering the web response, so a reader of a large body (CdnDownload.ts)
 * can take the body's own reader instead of Effect's stream adapter. Every CDN client makes its responses
 * here: this one and the test doubles.
 */
export const responseFromWeb = (request: HttpClientRequest.HttpClientRequest, web: Response): HttpClientResponse.HttpClientResponse => {
  const response = HttpClientResponse.fromWeb(request, web)
  webResponses.set(response, web)
  return response
}

/** The web body of a response made by {@link responseFromWeb} (`null` when it has none), `undefined` for any other. */
export const webBodyOf = (response: HttpClientResponse.HttpClientResponse): ReadableStream<Uint8Array> | null | undefined => {
  const web = webResponses.get(response)
  return web === undefined ? undefined : web.body
}

/** A failure of `request` before its response, with Node's error as the cause. */
const requestFailed = (request: HttpClientRequest.HttpClientRequest) => (cause: unknown) =>
  new RequestError({ request, reason: "Transport", cause })

/** The client: one `node:http(s)` request per call, on `agents`. */
export const nodeHttpClient = (agents: NodeAgents): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) =>
    Effect.suspend(() => {
      const failed = requestFailed(request)
      let agent: Http.Agent
      try {
        agent = agentFor(agents, url)
      } catch (error) {
        return Effect.fail(failed(error))
      }
      const options = { method: request.method, headers: request.headers, signal, agent }
      const nodeRequest = url.protocol === "https:" ? Https.request(url, options) : Http.request(url, options)
      // the listener stays: an error after the response (the body cut off) must not be an unhandled event
      const response = Effect.async<Http.IncomingMessage, RequestError>((resume) => {
        nodeRequest.on("error", (cause) => resume(Effect.fail(failed(cause))))
        nodeRequest.once("response", (message) => resume(Effect.succeed(message)))
      })
      // A streamed body is written while the answer is awaited (a server may answer, or fail, before it
      // ends). Any other body is written in one synchronous step, before any event of the request can
      // fire, so no fiber is forked: a held long-poll is one waiting fiber, not three.
      const sent = request.body._tag === "Stream"
        ? Effect.zipRight(sendBody(nodeRequest, request, failed), response, { concurrent: true })
        : Effect.zipRight(sendBody(nodeRequest, request, failed), response)
      return Effect.map(sent, (message) => responseFromWeb(request, toWebResponse(message)))
    })
  )
