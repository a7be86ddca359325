/**
 * The login QR's pictures as the plugin draws them (src/host/HostQrRenderer.ts): through the host's
 * renderer where the host's module loads, through the `qrcode` package where it does not (Node 20, where
 * these tests usually run; run them on Node 24 to take the host's path). Either way the terminal picture
 * must be the QR symbol of the URL, module for module, and the data URL a PNG.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import QRCode from "qrcode"
import { HostQrRenderer, loadQrDrawers, makeHostQrRenderer, type QrDrawers } from "../../../src/host/HostQrRenderer.js"
import { QrRenderer } from "../../../src/login/QrRender.js"

const loginUrl = "https://liteapp.weixin.qq.com/q/7GiQu1?qrcode=9f0c3a5be1d24e7a8b6c5d4e3f2a1b0c&bot_type=3"

/**
 * Reads a half-block terminal picture back into rows of modules (true = dark). A glyph is dark only in
 * black (ANSI 30); the qrcode package draws the light edge of its margin as white glyphs (ANSI 37).
 */
const readTerminal = (text: string): Array<Array<boolean>> => {
  const rows: Array<Array<boolean>> = []
  for (const line of text.split("\n").filter((l) => l.replace(/\x1b\[[0-9;]*m/g, "").length > 0)) {
    const top: Array<boolean> = []
    const bottom: Array<boolean> = []
    let blackInk = false
    for (const token of line.match(/\x1b\[[0-9;]*m|./gu) ?? []) {
      if (token.startsWith("\x1b[")) {
        const code = token.slice(2, -1)
        if (code === "30") blackInk = true
        else if (code === "37" || code === "0" || code === "") blackInk = false
        continue
      }
      top.push(blackInk && (token === "█" || token === "▀"))
      bottom.push(blackInk && (token === "█" || token === "▄"))
    }
    rows.push(top, bottom)
  }
  return rows
}

/** The symbol the qrcode package makes of `text` at level M (what both renderers encode). */
const symbolOf = (text: string) => QRCode.create(text, { errorCorrectionLevel: "M" }).modules

const renderWith = (url: string) =>
  Effect.flatMap(QrRenderer, (renderer) => renderer.render(url)).pipe(Effect.provide(HostQrRenderer.layer))

describe("HostQrRenderer", () => {
  it.effect("draws the QR symbol of the URL in the terminal, module for module, with a light margin", () =>
    Effect.gen(function*() {
      const { terminal } = yield* renderWith(loginUrl)
      expect(terminal).toBeDefined()
      const grid = readTerminal(terminal!)
      const symbol = symbolOf(loginUrl)
      const offset = (grid[0]!.length - symbol.size) / 2
      expect(offset).toBeGreaterThanOrEqual(1)
      for (let row = 0; row < grid.length; row++) {
        for (let col = 0; col < grid[row]!.length; col++) {
          const r = row - offset
          const c = col - offset
          const inside = r >= 0 && r < symbol.size && c >= 0 && c < symbol.size
          expect(grid[row]![col], `module ${r},${c}`).toBe(inside ? symbol.get(r, c) === 1 : false)
        }
      }
      expect(grid.length).toBeGreaterThanOrEqual(symbol.size + 2)
    }))

  it.effect("draws a PNG data URL of 4 px modules with a 2-module margin", () =>
    Effect.gen(function*() {
      const { dataUrl } = yield* renderWith(loginUrl)
      expect(dataUrl?.startsWith("data:image/png;base64,")).toBe(true)
      const png = Buffer.from(dataUrl!.slice("data:image/png;base64,".length), "base64")
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      // IHDR: width and height in pixels
      const side = (symbolOf(loginUrl).size + 2 * 2) * 4
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([side, side])
    }))

  it.effect("a text too long for any QR symbol leaves both pictures out, without failing the login", () =>
    Effect.gen(function*() {
      expect(yield* renderWith("x".repeat(8_000))).toEqual({ terminal: undefined, dataUrl: undefined })
    }))

  it.effect("loads the host's renderer where its module loads (Set.prototype.union), else the qrcode package", () =>
    Effect.gen(function*() {
      const hostLoads = typeof (new Set() as unknown as { union?: unknown }).union === "function"
      const drawers = yield* loadQrDrawers
      expect(Option.map(drawers, (d) => d.source)).toEqual(Option.some(hostLoads ? "host" : "qrcode package"))
    }))

  it.effect("loads its drawers once; a picture that fails is left out and the other still drawn", () =>
    Effect.gen(function*() {
      let loads = 0
      const drawers: QrDrawers = {
        source: "host",
        terminal: (url) => Promise.resolve(`[${url}]`),
        dataUrl: () => Promise.reject(new Error("no PNG today"))
      }
      const renderer = yield* makeHostQrRenderer(Effect.sync(() => {
        loads += 1
        return Option.some(drawers)
      }))
      expect(yield* renderer.render("a")).toEqual({ terminal: "[a]", dataUrl: undefined })
      expect(yield* renderer.render("b")).toEqual({ terminal: "[b]", dataUrl: undefined })
      expect(loads).toBe(1)
      const none = yield* makeHostQrRenderer(Effect.succeed(Option.none()))
      expect(yield* none.render("a")).toEqual({ terminal: undefined, dataUrl: undefined })
    }))
})
