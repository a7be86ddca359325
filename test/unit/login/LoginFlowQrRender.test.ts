import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { renderTerminal, toDataUrl } from "../../../src/login/QrRender.js"

describe("QrRender", () => {
  it.effect("renders a QR for the terminal as rows of block characters", () =>
    Effect.gen(function*() {
      const text = yield* renderTerminal("https://liteapp.weixin.qq.com/q/abc?qrcode=123")
      const rows = text.split("\n").filter((row) => row.trim() !== "")
      expect(rows.length).toBeGreaterThan(10)
      expect(text).toMatch(/[▀▄█]/)
    }))

  it.effect("renders a QR as a PNG data URL", () =>
    Effect.gen(function*() {
      const url = yield* toDataUrl("https://liteapp.weixin.qq.com/q/abc?qrcode=123")
      expect(url.startsWith("data:image/png;base64,")).toBe(true)
      const png = Buffer.from(url.slice("data:image/png;base64,".length), "base64")
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    }))

  it.effect("a text too long for any QR symbol is a typed error, not a throw", () =>
    Effect.gen(function*() {
      const tooLong = "x".repeat(8_000)
      const terminal = yield* Effect.either(renderTerminal(tooLong))
      const dataUrl = yield* Effect.either(toDataUrl(tooLong))
      expect(Either.isLeft(terminal) && terminal.left._tag).toBe("QrRenderError")
      expect(Either.isLeft(dataUrl) && dataUrl.left.target).toBe("dataUrl")
    }))
})
