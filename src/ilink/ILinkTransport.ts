/**
 * How one iLink request travels and how its answer is read: the request as it goes on the wire (method,
 * URL, header set, body text), and the answer as a status and the body text read under
 * {@link MAX_RESPONSE_BYTES}. `Exchange` builds the requests and judges the answers; this module only
 * carries them.
 *
 * Production sends each request with `node:http(s)` on keep-alive agents (the agents and proxy rules of
 * NodeHttp.ts) and reads the answer from Node's own events, in one asynchronous step. It does not go
 * through Effect's `HttpClient` as the CDN does: an iLink answer is a few hundred bytes, and that path (a
 * web `Response` over a web stream, an `AbortController` and a scope per request) cost about as much CPU
 * as the request itself, on the critical path of every reply (bench/inbound-burst.ts).
 *
 * Failures keep the one classifier (Transport.ts): a failure before the status line is classified from
 * Node's error; a body cut off after it reached the server (`reset`, `reachedServer: "yes"`); a body
 * larger than the cap is refused, at the headers when its declared length already says so.
 *
 * @example
 * ```ts
 * const transport = yield* ILinkTransport
 * const answer = yield* transport.send(target, { method: "POST", url, headers, body })
 * ```
 */
import { Context, Effect, Either, Layer } from "effect"
import * as Http from "node:http"
import * as Https from "node:https"
import type { ILinkDecodeError, ILinkErrorScope, ILinkTransportError } from "../wire/ILinkError.js"
import { agentFor, makeAgents, type NodeAgents, NULL_BODY } from "./NodeHttp.js"
import { classifyTransportFailure, cutOff, declaredLength, MAX_RESPONSE_BYTES, tooLarge } from "./Transport.js"

/** One request as it goes on the wire: header names lowercase, `content-type` and `content-length` included. */
export interface ILinkRequest {
  readonly method: "GET" | "POST"
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
}

/** The status line arrived; the body is its text, or why it could not be read. */
export interface ILinkAnswer {
  readonly status: number
  readonly body: Either.Either<string, ILinkDecodeError | ILinkTransportError>
}

export interface ILinkTransportShape {
  /** Fails only when no status line arrived; interrupting it destroys the request and frees its socket. */
  readonly send: (scope: ILinkErrorScope, request: ILinkRequest) => Effect.Effect<ILinkAnswer, ILinkTransportError>
}

/** The transport over `agents`: one `node:http(s)` request per call. */
export const nodeTransport = (agents: NodeAgents): ILinkTransportShape => ({
  send: (scope, request) =>
    Effect.async<ILinkAnswer, ILinkTransportError>((resume) => {
      let agent: Http.Agent
      try {
        agent = agentFor(agents, request.url)
      } catch (error) {
        resume(Effect.fail(classifyTransportFailure(scope, error)))
        return
      }
      const options = { method: request.method, headers: request.headers, agent }
      const nodeRequest = request.url.protocol === "https:" ? Https.request(request.url, options) : Http.request(request.url, options)
      let settled = false
      let status: number | undefined
      const settle = (outcome: Effect.Effect<ILinkAnswer, ILinkTransportError>) => {
        if (settled) return
        settled = true
        resume(outcome)
      }
      const answer = (body: ILinkAnswer["body"]) => settle(Effect.succeed({ status: status!, body }))
      // an error before the status line is the request's; after it, the body was cut off (the listener
      // stays for the whole request, so a late error is never an unhandled event)
      nodeRequest.on("error", (cause) =>
        status === undefined ? settle(Effect.fail(classifyTransportFailure(scope, cause))) : answer(Either.left(cutOff(scope, cause))))
      nodeRequest.once("response", (message) => {
        status = message.statusCode ?? 0
        if (NULL_BODY.has(status)) {
          message.resume()
          return answer(Either.right(""))
        }
        const declared = declaredLength(message.headers["content-length"])
        if (declared !== undefined && declared > MAX_RESPONSE_BYTES) {
          // refused before a byte of it is read, so the verdict never depends on how fast it arrives
          nodeRequest.destroy()
          return answer(Either.left(tooLarge(scope)))
        }
        const chunks: Array<Buffer> = []
        let total = 0
        message.on("data", (chunk: Buffer) => {
          total += chunk.length
          if (total <= MAX_RESPONSE_BYTES) return void chunks.push(chunk)
          nodeRequest.destroy()
          answer(Either.left(tooLarge(scope)))
        })
        message.once("end", () => answer(Either.right(Buffer.concat(chunks, total).toString("utf8"))))
        message.on("error", (cause) => answer(Either.left(cutOff(scope, cause))))
        message.once("close", () => {
          if (!message.complete) answer(Either.left(cutOff(scope, new Error("the connection closed before the body ended"))))
        })
      })
      nodeRequest.end(request.body)
      // interrupted (the call's timeout, a stop): let go of the request and its socket
      return Effect.sync(() => {
        if (settled) return
        settled = true
        nodeRequest.destroy()
      })
    })
})

export class ILinkTransport extends Context.Tag("openclaw-weixin/ILinkTransport")<ILinkTransport, ILinkTransportShape>() {
  /** `node:http(s)` on keep-alive agents of its own, destroyed with the layer's scope. */
  static readonly node: Layer.Layer<ILinkTransport> = Layer.scoped(ILinkTransport, Effect.map(makeAgents({}), nodeTransport))
}
