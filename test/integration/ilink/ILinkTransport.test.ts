/**
 * The node transport of the iLink client against a real HTTP server on 127.0.0.1: the bytes it sends,
 * and every way an answer's body can go (read whole, over the cap, declared over the cap, cut off, no
 * body), with the verdict each one gets. The fault matrix (ILinkApi.faultMatrix.test.ts) covers the same
 * transport through the emulator's faults; this file covers the edges only a hand-made server can reach.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Scope } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { ILinkTransport, type ILinkRequest } from "../../../src/ilink/ILinkTransport.js"
import { MAX_RESPONSE_BYTES } from "../../../src/ilink/Transport.js"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** A server on 127.0.0.1 that records each request and answers with `handle`, for the length of the scope. */
const server = (handle: (request: Http.IncomingMessage, response: Http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly base: string; readonly seen: Array<Seen>; readonly sockets: () => number; readonly http: Http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const http = Http.createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
          handle(request, response)
        })
      })
      let open = 0
      http.on("connection", (socket) => {
        open++
        socket.on("close", () => open--)
      })
      http.listen(0, "127.0.0.1", () => {
        const { port } = http.address() as AddressInfo
        resume(Effect.succeed({ base: `http://127.0.0.1:${port}/`, seen, sockets: () => open, http }))
      })
    }),
    ({ http }) =>
      Effect.async<void>((resume) => {
        http.closeAllConnections()
        http.close(() => resume(Effect.void))
      })
  )

const scope = { endpoint: "ilink/bot/getupdates", accountId: "acc-1" }
const post = (base: string, body: string): ILinkRequest => ({
  method: "POST",
  url: new URL("ilink/bot/getupdates", base),
  headers: { "authorizationtype": "ilink_bot_token", "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
  body
})
const send = (request: ILinkRequest) => Effect.flatMap(ILinkTransport, (transport) => transport.send(scope, request))
const live = <A, E>(effect: Effect.Effect<A, E, ILinkTransport | Scope.Scope>) =>
  effect.pipe(Effect.scoped, Effect.provide(ILinkTransport.node))

describe("ILinkTransport.node", () => {
  it.live("sends the method, path, headers and body given, and reads the whole answer", () =>
    live(Effect.gen(function*() {
      const { base, seen } = yield* server((_, response) => response.writeHead(200, { "content-type": "application/json" }).end(`{"ret":0}`))
      const answer = yield* send(post(base, `{"get_updates_buf":""}`))
      expect(answer).toEqual({ status: 200, body: Either.right(`{"ret":0}`) })
      expect(seen).toHaveLength(1)
      expect(seen[0]).toMatchObject({ method: "POST", url: "/ilink/bot/getupdates", body: `{"get_updates_buf":""}` })
      expect(seen[0]?.headers).toMatchObject({ authorizationtype: "ilink_bot_token", "content-type": "application/json", "content-length": "22" })
    })))

  it.live("keeps its connection open between calls", () =>
    live(Effect.gen(function*() {
      const { base, sockets } = yield* server((_, response) => response.end(`{}`))
      for (let i = 0; i < 3; i++) yield* send(post(base, `{}`))
      expect(sockets()).toBe(1)
    })))

  it.live("reads a body of exactly the cap, declared or not", () =>
    live(Effect.gen(function*() {
      const full = Buffer.alloc(MAX_RESPONSE_BYTES, 0x61)
      const { base } = yield* server((request, response) => {
        if (request.url?.includes("declared")) response.writeHead(200, { "content-length": String(full.length) })
        response.end(full)
      })
      for (const path of ["undeclared", "declared"]) {
        const answer = yield* send({ ...post(base, `{}`), url: new URL(path, base) })
        expect(Either.getOrThrow(answer.body).length).toBe(MAX_RESPONSE_BYTES)
      }
    })))

  it.live("a body one byte over the cap, of undeclared length, is refused once the cap is passed", () =>
    live(Effect.gen(function*() {
      const { base } = yield* server((_, response) => {
        response.write(Buffer.alloc(MAX_RESPONSE_BYTES, 0x61))
        response.end(Buffer.alloc(1, 0x61))
      })
      const answer = yield* send(post(base, `{}`))
      expect(answer.status).toBe(200)
      expect(Either.flip(answer.body)).toEqual(Either.right(expect.objectContaining({
        _tag: "ILinkDecodeError",
        reachedServer: "yes",
        problem: `the body is larger than ${MAX_RESPONSE_BYTES} bytes`
      })))
    })))

  it.live("a body declared larger than the cap is refused at the headers, without waiting for a byte of it", () =>
    live(Effect.gen(function*() {
      // the server declares the length and then sends nothing: only a verdict at the headers can end the call
      const { base } = yield* server((_, response) => {
        response.writeHead(200, { "content-length": String(MAX_RESPONSE_BYTES + 1) })
        response.flushHeaders()
      })
      const answer = yield* send(post(base, `{}`))
      expect(Either.flip(answer.body)).toEqual(Either.right(expect.objectContaining({
        _tag: "ILinkDecodeError",
        problem: `the body is larger than ${MAX_RESPONSE_BYTES} bytes`
      })))
    })))

  it.live("a body cut off after the status line reached the server: a reset, reachedServer yes", () =>
    live(Effect.gen(function*() {
      const { base } = yield* server((_, response) => {
        response.writeHead(200, { "content-length": "100" })
        // the first bytes are on the socket before it is destroyed
        response.write(`{"ret":0,`, () => response.socket?.destroy())
      })
      const answer = yield* send(post(base, `{}`))
      const error = Either.getOrThrow(Either.flip(answer.body))
      expect(error).toMatchObject({ _tag: "ILinkTransportError", kind: "reset", reachedServer: "yes", accountId: "acc-1" })
      expect(error.message).toContain("the response body was cut off")
    })))

  it.live("a status without a body (204) answers an empty text", () =>
    live(Effect.gen(function*() {
      const { base } = yield* server((_, response) => response.writeHead(204).end())
      expect(yield* send(post(base, `{}`))).toEqual({ status: 204, body: Either.right("") })
    })))

  it.live("a refused connection fails before any status line: refused, reachedServer no", () =>
    live(Effect.gen(function*() {
      // a port that was just listening and is closed now
      const closed = yield* Scope.make()
      const { base } = yield* server((_, response) => response.end()).pipe(Scope.extend(closed))
      yield* Scope.close(closed, Exit.void)
      const error = yield* Effect.flip(send(post(base, `{}`)))
      expect(error).toMatchObject({ _tag: "ILinkTransportError", kind: "refused", reachedServer: "no", code: "ECONNREFUSED" })
    })))

  it.live("an interrupted call lets go of its socket", () =>
    live(Effect.gen(function*() {
      const { base, seen, sockets } = yield* server(() => undefined)
      const call = yield* Effect.fork(send(post(base, `{}`)))
      while (seen.length === 0) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(sockets()).toBe(1)
      yield* Fiber.interrupt(call)
      while (sockets() > 0) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(sockets()).toBe(0)
    })))
})
