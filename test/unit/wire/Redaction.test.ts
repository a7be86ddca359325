import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { describeParseError, maskSecretValues, redactSnippet, SNIPPET_CHARS } from "../../../src/wire/Redaction.js"

describe("redactSnippet", () => {
  it("masks token-like values, even when the body is cut off inside one", () => {
    expect(redactSnippet(`{"context_token":"abc\\"def","typing_ticket":"t","text":"hello"}`)).toBe(
      `{"context_token":"<redacted>","typing_ticket":"<redacted>","text":"hello"}`
    )
    expect(redactSnippet(`{"bot_token":"abcdef`)).toBe(`{"bot_token":"<redacted>"`)
  })

  it("masks before cutting, so a secret that straddles the cut leaks no half", () => {
    const body = `{"pad":"${"x".repeat(SNIPPET_CHARS - 30)}","aes_key":"${"S".repeat(100)}"}`
    const snippet = redactSnippet(body)
    expect(snippet.length).toBeLessThanOrEqual(SNIPPET_CHARS)
    expect(snippet).not.toContain("S")
  })
})

describe("maskSecretValues", () => {
  it("masks every key that names a token, ticket or AES key, and nothing else", () => {
    expect(maskSecretValues(`{"bot_token":"a","aeskey":"b","aes_key":"c","typing_ticket":"d","to_user_id":"u"}`)).toBe(
      `{"bot_token":"<redacted>","aeskey":"<redacted>","aes_key":"<redacted>","typing_ticket":"<redacted>","to_user_id":"u"}`
    )
  })
})

describe("describeParseError", () => {
  const problemOf = <A, I>(schema: Schema.Schema<A, I>, value: unknown): string => {
    const decoded = Schema.decodeUnknownEither(schema)(value)
    if (Either.isRight(decoded)) throw new Error("expected a decode failure")
    return describeParseError(decoded.left)
  }

  it("names the path and the problem of each issue", () => {
    const text = problemOf(Schema.Struct({ msg: Schema.Struct({ seq: Schema.Number }) }), { msg: { seq: "x" } })
    expect(text).toBe(`msg.seq: Expected number, actual "x"`)
  })

  it("masks token-like values inside a quoted object", () => {
    const text = problemOf(Schema.Struct({ a: Schema.Number }), { a: { context_token: "SECRET-CTX", x: 1 } })
    expect(text).toContain("a: Expected number")
    expect(text).not.toContain("SECRET")
  })

  it("masks a value of the wrong type that sits under a secret key", () => {
    const Shape = Schema.Struct({ item: Schema.Struct({ aes_key: Schema.String, bot_token: Schema.Number }) })
    expect(problemOf(Shape, { item: { aes_key: 12345678, bot_token: 1 } })).toBe("item.aes_key: Expected string, actual <redacted>")
    expect(problemOf(Shape, { item: { aes_key: "k", bot_token: "SECRET-BOT" } })).toBe(
      "item.bot_token: Expected number, actual <redacted>"
    )
  })

  it("keeps a missing secret field readable", () => {
    expect(problemOf(Schema.Struct({ bot_token: Schema.String }), {})).toBe("bot_token: is missing")
  })
})
