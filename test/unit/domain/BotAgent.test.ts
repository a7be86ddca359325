import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { DEFAULT_BOT_AGENT, MAX_BOT_AGENT_BYTES, sanitizeBotAgent } from "../../../src/domain/BotAgent.js"

describe("sanitizeBotAgent (PROTOCOL §1.4)", () => {
  it.each([
    ["MyBot/1.2.0 (region=cn;env=prod)", "MyBot/1.2.0 (region=cn;env=prod)"],
    ["My Bot ValidApp/1.0", "ValidApp/1.0"],
    ["A/1 (x) (y) B/2", "A/1 (x) B/2"],
    ["A/1 (foo", "A/1"],
    ["MyBot/1.0 (中文)", "MyBot/1.0"]
  ])("reference example %j → %j", (input, expected) => {
    expect(sanitizeBotAgent(input)).toBe(expected)
  })

  it("falls back to OpenClaw for missing, non-string, blank or wholly invalid values", () => {
    for (const input of [undefined, null, 42, {}, "", "   \t", "no products here", "(only a comment)", "中文/1.0"]) {
      expect(sanitizeBotAgent(input)).toBe(DEFAULT_BOT_AGENT)
    }
  })

  it("merges a comment split by spaces and collapses whitespace runs", () => {
    expect(sanitizeBotAgent("  Bot/2   (a   b  c)   Other/3+build  ")).toBe("Bot/2 (a b c) Other/3+build")
  })

  it("drops a comment with parentheses inside, an empty one, or one longer than 64 chars", () => {
    expect(sanitizeBotAgent("A/1 (x(y)")).toBe("A/1")
    expect(sanitizeBotAgent("A/1 ()")).toBe("A/1")
    expect(sanitizeBotAgent(`A/1 (${"c".repeat(65)})`)).toBe("A/1")
    expect(sanitizeBotAgent(`A/1 (${"c".repeat(64)})`)).toBe(`A/1 (${"c".repeat(64)})`)
  })

  it("enforces the 1–32 character limits of name and version", () => {
    expect(sanitizeBotAgent(`${"n".repeat(33)}/1 B/2`)).toBe("B/2")
    expect(sanitizeBotAgent(`A/${"v".repeat(33)} B/2`)).toBe("B/2")
    expect(sanitizeBotAgent(`${"n".repeat(32)}/${"v".repeat(32)}`)).toBe(`${"n".repeat(32)}/${"v".repeat(32)}`)
  })

  it("keeps the longest prefix of whole items within 256 UTF-8 bytes", () => {
    const item = `P${"x".repeat(30)}/1.0.0` // 37 bytes
    const input = Array.from({ length: 10 }, () => item).join(" ")
    const result = sanitizeBotAgent(input)
    expect(result).toBe(Array.from({ length: 6 }, () => item).join(" ")) // 6×37 + 5 spaces = 227; 7 items = 265
    expect(Buffer.byteLength(result)).toBeLessThanOrEqual(MAX_BOT_AGENT_BYTES)
  })

  it("always returns a non-empty string of at most 256 bytes", () => {
    FastCheck.assert(FastCheck.property(FastCheck.string({ unit: "grapheme", maxLength: 600 }), (input) => {
      const result = sanitizeBotAgent(input)
      return result.length > 0 && Buffer.byteLength(result) <= MAX_BOT_AGENT_BYTES
    }))
  })
})
