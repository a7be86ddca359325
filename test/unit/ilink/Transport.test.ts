import { HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  classifyTransportCause,
  classifyTransportFailure,
  MAX_RESPONSE_BYTES,
  readCappedText,
  requestFailure
} from "../../../src/ilink/Transport.js"
import { responseFromWeb } from "../../../src/ilink/NodeHttp.js"

describe("classifyTransportFailure", () => {
  const target = { endpoint: "ilink/bot/sendmessage" as const, accountId: "acc-1" }
  const withCode = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(code), { code }, extra)

  it("classifies undici and system codes, and says whether the request reached the server", () => {
    const cases: Array<[unknown, string, string]> = [
      [withCode("ENOTFOUND"), "dns", "no"],
      [withCode("EAI_AGAIN"), "dns", "no"],
      [withCode("ECONNREFUSED"), "refused", "no"],
      [Object.assign(new AggregateError([withCode("ECONNREFUSED")]), { code: "ECONNREFUSED" }), "refused", "no"],
      [withCode("ECONNRESET"), "reset", "maybe"],
      [withCode("UND_ERR_SOCKET", { socket: { bytesWritten: 812 } }), "reset", "maybe"],
      [withCode("UND_ERR_SOCKET", { socket: { bytesWritten: 0 } }), "reset", "no"],
      [withCode("ERR_TLS_CERT_ALTNAME_INVALID"), "tls", "no"],
      [withCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), "tls", "no"],
      [withCode("ENETUNREACH"), "unreachable", "no"],
      [withCode("EHOSTUNREACH"), "unreachable", "no"],
      [withCode("UND_ERR_CONNECT_TIMEOUT"), "unreachable", "no"],
      [withCode("ETIMEDOUT", { syscall: "connect" }), "unreachable", "no"],
      [withCode("ETIMEDOUT", { syscall: "read" }), "unknown", "maybe"],
      [new TypeError("fetch failed", { cause: withCode("ECONNREFUSED") }), "refused", "no"],
      [new Error("something odd"), "unknown", "maybe"]
    ]
    for (const [cause, kind, reached] of cases) {
      const error = classifyTransportFailure(target, cause)
      expect([error.kind, error.reachedServer]).toEqual([kind, reached])
      expect(error.endpoint).toBe("ilink/bot/sendmessage")
    }
  })
})

describe("classifyTransportCause", () => {
  it("gives the same verdict without naming an endpoint, for clients with their own error type (the CDN)", () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "UND_ERR_SOCKET", socket: { bytesWritten: 0 } })
    expect(classifyTransportCause(new TypeError("fetch failed", { cause: reset }))).toEqual({
      kind: "reset",
      reachedServer: "no",
      code: "UND_ERR_SOCKET",
      detail: "fetch failed"
    })
    expect(classifyTransportCause("boom")).toEqual({ kind: "unknown", reachedServer: "maybe", detail: "boom" })
  })

  it("names the first code found when none of them decides the kind", () => {
    const odd = Object.assign(new Error("odd"), { code: "ESOMETHING" })
    expect(classifyTransportCause(odd)).toMatchObject({ kind: "unknown", reachedServer: "maybe", code: "ESOMETHING" })
  })
})

describe("requestFailure", () => {
  const scope = { endpoint: "ilink/bot/getconfig", accountId: undefined }
  const request = HttpClientRequest.post("https://ilink.example.test/ilink/bot/getconfig")

  it("a request that could not be built never left this process", () => {
    const error = requestFailure(scope, new HttpClientError.RequestError({ request, reason: "Encode", description: "bad body" }))
    expect(error).toMatchObject({ _tag: "ILinkTransportError", endpoint: "ilink/bot/getconfig", reachedServer: "no", kind: "unknown" })
    expect(error.accountId).toBeUndefined()
  })

  it("a transport failure is classified from its cause", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" })
    const error = requestFailure(scope, new HttpClientError.RequestError({ request, reason: "Transport", cause }))
    expect(error).toMatchObject({ kind: "refused", reachedServer: "no", code: "ECONNREFUSED" })
  })
})

// Our client's responses (`responseFromWeb`) are read with the web body's reader; any other response
// through its Stream. Both must give the same verdicts.
describe.each([
  { made: "by our client (the body's reader)", make: responseFromWeb },
  { made: "by any other client (its Stream)", make: HttpClientResponse.fromWeb }
])("readCappedText, a response made $made", ({ make }) => {
  const scope = { endpoint: "ilink/bot/getupdates", accountId: "acc-1" }
  const request = HttpClientRequest.post("https://ilink.example.test/ilink/bot/getupdates")
  const responseOf = (body: ReadableStream<Uint8Array> | Uint8Array | string, headers: Record<string, string> = {}) =>
    make(request, new Response(body, { status: 200, headers }))
  /** a body whose every read fails: reading it at all turns the outcome into a "cut off" reset */
  const unreadable = () =>
    new ReadableStream<Uint8Array>({
      pull() {
        throw Object.assign(new Error("the body was read"), { code: "UND_ERR_SOCKET" })
      }
    })

  it.effect("reads a body of exactly the cap", () =>
    Effect.gen(function*() {
      const text = yield* readCappedText(scope, responseOf(new Uint8Array(MAX_RESPONSE_BYTES).fill(0x61)))
      expect(text.length).toBe(MAX_RESPONSE_BYTES)
    }))

  it.effect("a body one byte over the cap, of undeclared length, is refused once the cap is passed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(readCappedText(scope, responseOf(new Uint8Array(MAX_RESPONSE_BYTES + 1))))
      expect(error).toMatchObject({ _tag: "ILinkDecodeError", reachedServer: "yes", problem: `the body is larger than ${MAX_RESPONSE_BYTES} bytes` })
    }))

  it.effect("a body declared larger than the cap is refused at the headers, without reading a byte of it", () =>
    Effect.gen(function*() {
      const declared = { "content-length": String(MAX_RESPONSE_BYTES + 1) }
      const error = yield* Effect.flip(readCappedText(scope, responseOf(unreadable(), declared)))
      expect(error).toMatchObject({ _tag: "ILinkDecodeError", reachedServer: "yes", problem: `the body is larger than ${MAX_RESPONSE_BYTES} bytes` })
      // a declared length within the cap is read as usual (here: the read fails, so the body was read)
      const read = yield* Effect.flip(readCappedText(scope, responseOf(unreadable(), { "content-length": "12" })))
      expect(read).toMatchObject({ _tag: "ILinkTransportError", kind: "reset", reachedServer: "yes" })
    }))

  it.effect("a body cut off after the status line reached the server: a reset, reachedServer yes", () =>
    Effect.gen(function*() {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`{"ret":0,`))
          controller.error(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }))
        }
      })
      const error = yield* Effect.flip(readCappedText(scope, responseOf(body)))
      expect(error).toMatchObject({ _tag: "ILinkTransportError", kind: "reset", reachedServer: "yes", accountId: "acc-1" })
      expect(error.message).toContain("the response body was cut off")
    }))
})
