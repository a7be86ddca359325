/**
 * The iLink and CDN clients through the environment's proxy (NodeHttp.ts): a forward proxy on 127.0.0.1
 * that records what passes, forwards plain-http requests (absolute URIs) and refuses CONNECT tunnels
 * with 403 after recording them. Each test sets the variables it needs and restores them.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { run } from "../../support/ILinkApiWorld.js"

const VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"]
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]))
afterEach(() => {
  for (const name of VARIABLES) {
    const value = saved[name]
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})
const setProxyEnv = (values: Record<string, string>) => {
  for (const name of VARIABLES) delete process.env[name]
  Object.assign(process.env, values)
}

interface Seen {
  readonly method: string
  readonly target: string
}

const forwardProxy = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly seen: Array<Seen>; readonly server: Http.Server }>((resume) => {
    const seen: Array<Seen> = []
    const server = Http.createServer((request, response) => {
      seen.push({ method: request.method ?? "", target: request.url ?? "" })
      const upstream = Http.request(request.url ?? "", { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      })
      upstream.on("error", () => response.destroy())
      request.pipe(upstream)
    })
    server.on("connect", (request, socket) => {
      seen.push({ method: "CONNECT", target: request.url ?? "" })
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })))
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

describe("the HTTP clients honour the environment's proxy", () => {
  it.live("HTTP_PROXY: iLink requests to an http server go through the proxy, unchanged", () =>
    run((w) =>
      Effect.gen(function*() {
        const proxy = yield* forwardProxy
        setProxyEnv({ HTTP_PROXY: proxy.url })
        yield* w.api.notifyStart(w.conn)
        yield* w.emulator.injectInbound({ botId: w.botId, fromUserId: w.userId, kind: "text", text: "via the proxy" })
        const batch = yield* w.api.getUpdates(w.conn, { get_updates_buf: "" })
        expect(JSON.stringify(batch.msgs?.[0]?.item_list)).toContain("via the proxy")
        const host = new URL(w.emulator.baseUrl).host
        expect(proxy.seen.map((s) => s.method)).toEqual(["POST", "POST"])
        for (const s of proxy.seen) expect(new URL(s.target).host).toBe(host)
      }).pipe(Effect.scoped)
    ))

  it.live("NO_PROXY: a host it names is reached directly", () =>
    run((w) =>
      Effect.gen(function*() {
        const proxy = yield* forwardProxy
        setProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" })
        yield* w.api.notifyStart(w.conn)
        expect(proxy.seen).toEqual([])
      }).pipe(Effect.scoped)
    ))

  it.live("HTTPS_PROXY: an https server is reached through a CONNECT tunnel, and a refused tunnel is a failure, not a hang", () =>
    run((w) =>
      Effect.gen(function*() {
        const proxy = yield* forwardProxy
        setProxyEnv({ HTTPS_PROXY: proxy.url })
        const result = yield* Effect.either(
          w.api.getBotQrCode("https://ilinkai.example.test", { local_token_list: [Redacted.make("t")] })
        )
        expect(result._tag).toBe("Left")
        expect(proxy.seen).toEqual([{ method: "CONNECT", target: "ilinkai.example.test:443" }])
      }).pipe(Effect.scoped)
    ))

  it.live("a proxy variable that is not a URL fails the request with a message that names the variables, not the value", () =>
    run((w) =>
      Effect.gen(function*() {
        setProxyEnv({ HTTP_PROXY: "user:secret@@not a url" })
        const result = yield* Effect.either(w.api.notifyStart(w.conn))
        if (result._tag === "Right") throw new Error("expected a failure")
        const text = `${result.left.message} ${JSON.stringify(result.left)}`
        expect(text).toContain("HTTP_PROXY")
        expect(text).not.toContain("secret")
      }).pipe(Effect.scoped)
    ))
})
