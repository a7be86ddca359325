import { describe, expect, it } from "@effect/vitest"
import { classifyTransportCause, classifyTransportFailure } from "../../../src/ilink/Transport.js"

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
