import { describe, expect, it } from "@effect/vitest"
import { clientVersionHeader } from "../../../src/domain/ClientVersion.js"

describe("clientVersionHeader (PROTOCOL §1.3)", () => {
  it.each([
    ["2.4.9", "132105"],
    ["1.0.11", "65547"],
    ["2.4.9-beta", "132105"],
    ["2.4.9-beta.3", "132105"],
    ["1.2", "66048"],
    ["3", "196608"],
    ["x.y.z", "0"],
    ["256.0.1", "1"]
  ])("%j → %j", (version, expected) => {
    expect(clientVersionHeader(version)).toBe(expected)
  })

  it("is 0 when no version is known", () => {
    expect(clientVersionHeader(undefined)).toBe("0")
  })
})
