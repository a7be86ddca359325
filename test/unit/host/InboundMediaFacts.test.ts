import { describe, expect, it } from "@effect/vitest"
import type { MissingMedia, ReceivedMedia, TurnMedia } from "../../../src/account/InboundMedia.js"
import { fallbackInboundMediaHelpers, mediaContext, unavailableNotice } from "../../../src/host/InboundMediaFacts.js"

const MB = 1024 * 1024
const received = (overrides: Partial<ReceivedMedia> = {}): ReceivedMedia => ({
  kind: "image",
  path: "/m/a.png",
  size: 10,
  transcribed: false,
  quoted: false,
  ...overrides
})
const missing = (overrides: Partial<MissingMedia> = {}): MissingMedia => ({
  kind: "file",
  quoted: false,
  reason: "failed",
  cause: "CdnHttpError",
  detail: "CDN download: HTTP 500",
  ...overrides
})
const turnMedia = (overrides: Partial<TurnMedia> = {}): TurnMedia => ({ received: [], missing: [], skipped: 0, maxBytes: 100 * MB, ...overrides })

describe("the notice for media the agent does not get", () => {
  it("says nothing when nothing is missing", () => {
    expect(unavailableNotice(turnMedia({ received: [received()] }))).toBeUndefined()
  })

  it("names one missing item, its file name, whether it was quoted, and the cap when it was too large", () => {
    expect(unavailableNotice(turnMedia({ missing: [missing({ fileName: "a.pdf" })] }))).toBe("[media unavailable: file a.pdf could not be downloaded]")
    expect(unavailableNotice(turnMedia({ missing: [missing({ kind: "video", reason: "oversize" })], maxBytes: 20 * MB }))).toBe(
      "[media unavailable: video exceeds the 20MB limit]"
    )
    expect(unavailableNotice(turnMedia({ missing: [missing({ kind: "image", quoted: true })] }))).toBe(
      "[media unavailable: quoted image could not be downloaded]"
    )
  })

  it("counts several missing items and the items past the cap", () => {
    expect(unavailableNotice(turnMedia({ received: [received()], missing: [missing(), missing({ kind: "voice" })], skipped: 3 }))).toBe(
      "[media unavailable: 2 of 3 attachments could not be downloaded; 3 more attachment(s) not fetched (at most 3 per message)]"
    )
  })
})

describe("media facts for the host's context", () => {
  it("maps kinds to the host's (a file's is the host's to decide), marks transcripts, and gives the own media the message id", () => {
    const made = mediaContext(
      turnMedia({
        received: [
          received({ kind: "voice", path: "/m/v.wav", contentType: "audio/wav", durationMs: 1200, transcribed: true }),
          received({ kind: "file", path: "/m/r.pdf", fileName: "r.pdf", contentType: "application/pdf" }),
          received({ kind: "image", path: "/m/q.png", quoted: true })
        ]
      }),
      "你好",
      "42",
      fallbackInboundMediaHelpers
    )
    expect(made.body).toBe("你好")
    expect(made.media).toEqual([
      { path: "/m/v.wav", contentType: "audio/wav", kind: "audio", durationMs: 1200, transcribed: true, messageId: "42" },
      { path: "/m/r.pdf", contentType: "application/pdf", fileName: "r.pdf", transcribed: false, messageId: "42" },
      { path: "/m/q.png", kind: "image", transcribed: false }
    ])
  })

  it("appends the notice to the body, or is the notice alone when there is no body", () => {
    const media = turnMedia({ missing: [missing({ kind: "image" })] })
    expect(mediaContext(media, "[图片]", undefined, fallbackInboundMediaHelpers).body).toBe(
      "[图片]\n\n[media unavailable: image could not be downloaded]"
    )
    expect(mediaContext(media, "  ", undefined, fallbackInboundMediaHelpers).body).toBe("[media unavailable: image could not be downloaded]")
  })
})
