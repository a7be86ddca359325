import { describe, expect, it } from "@effect/vitest"
import { Either, Redacted } from "effect"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"

describe("ILinkConnection.make", () => {
  it("adds the trailing slash and keeps a path prefix", () => {
    const conn = Either.getOrThrow(ILinkConnection.make({ baseUrl: "https://h.example/prefix", token: Redacted.make("t"), accountId: "a" }))
    expect(conn.baseUrl).toBe("https://h.example/prefix/")
    expect(conn.accountId).toBe("a")
    expect(Either.getOrThrow(ILinkConnection.make({ baseUrl: "http://127.0.0.1:8080/" })).baseUrl).toBe("http://127.0.0.1:8080/")
  })

  it.each(["", "   ", "ilinkai.weixin.qq.com", "/relative/path", "ftp://h.example", "file:///etc/passwd", "https://h.example/?q=1", "http://"])(
    "rejects %j with an ILinkConfigError that names the value",
    (baseUrl) => {
      const result = ILinkConnection.make({ baseUrl, accountId: "acc-9" })
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("ILinkConfigError")
        expect(result.left.value).toBe(baseUrl)
        expect(result.left.accountId).toBe("acc-9")
        expect(result.left.message).toContain(JSON.stringify(baseUrl))
      }
    }
  )
})
