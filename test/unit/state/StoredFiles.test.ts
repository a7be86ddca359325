import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck, Redacted, Schema } from "effect"
import { AccountsIndexFile, ContextTokensFile, LegacyCredentialsFile, StoredAccountFile, SyncFile } from "../../../src/state/StoredFiles.js"

describe("stored file schemas", () => {
  const files = { StoredAccountFile, LegacyCredentialsFile, SyncFile, AccountsIndexFile, ContextTokensFile }
  for (const [name, schema] of Object.entries(files)) {
    it(`decoding arbitrary JSON as ${name} never throws`, () => {
      const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
      const fieldNames = ["token", "savedAt", "baseUrl", "userId", "get_updates_buf", "__proto__", "constructor"]
      FastCheck.assert(FastCheck.property(
        FastCheck.oneof(FastCheck.jsonValue(), FastCheck.dictionary(FastCheck.constantFrom(...fieldNames), FastCheck.jsonValue())),
        (value) => {
          const result = decode(value)
          return Either.isRight(result) || result.left._tag === "ParseError"
        }
      ))
    })
  }

  it("reads the official account file with the token as a Redacted that does not print", () => {
    const account = Schema.decodeUnknownSync(StoredAccountFile)({ token: "secret-t", savedAt: "x", extra: 1 })
    expect(account.token && Redacted.value(account.token)).toBe("secret-t")
    expect(JSON.stringify(account)).not.toContain("secret-t")
  })
})
