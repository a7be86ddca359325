import { describe, expect, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { ILinkBaseUrl } from "../../../src/config/BaseUrlField.js"

const decode = Schema.decodeUnknownEither(ILinkBaseUrl)
const messageOf = (value: unknown) =>
  Either.match(decode(value), { onLeft: ParseResult.TreeFormatter.formatErrorSync, onRight: () => "accepted" })

describe("ILinkBaseUrl (a base URL checked at configuration time)", () => {
  it("accepts absolute http(s) URLs, trimmed, with or without a path prefix", () => {
    expect(decode(" https://ilinkai.weixin.qq.com ")).toEqual(Either.right("https://ilinkai.weixin.qq.com"))
    expect(decode("http://127.0.0.1:8080/prefix")).toEqual(Either.right("http://127.0.0.1:8080/prefix"))
  })

  it.each([
    ["", "is empty"],
    ["ilinkai.weixin.qq.com", "is not an absolute URL"],
    ["ftp://h.example", "only http: and https: are supported"],
    ["https://h.example/?q=1", "query string"]
  ])("rejects %j with a message naming the value and the problem", (value, problem) => {
    const message = messageOf(value)
    expect(message).toContain(`baseUrl ${JSON.stringify(value)}`)
    expect(message).toContain(problem)
  })

  it("rejects a number where the URL belongs", () => {
    expect(Either.isLeft(decode(443))).toBe(true)
  })

  it("agrees with ILinkConnection.make on every value", () => {
    for (const value of ["", "  ", "x", "/p", "ftp://a", "https://a/#f", "https://a", "http://a:1/p/"]) {
      expect([value, Either.isRight(decode(value))]).toEqual([value, Either.isRight(ILinkConnection.make({ baseUrl: value }))])
    }
  })
})
