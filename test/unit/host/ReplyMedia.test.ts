/**
 * The media of an agent's reply (src/host/ReplyMedia.ts): loaded files go after the caption in one send;
 * a file that cannot be loaded is left out, a batch that cannot be uploaded falls back to the caption,
 * and the user gets one notice per peer per minute (virtual time), whatever else fails.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import type { InboundTurn, ReplyChannel } from "../../../src/account/AgentTurns.js"
import { MediaUploadFailed, type OutboundMedia } from "../../../src/account/OutboundMedia.js"
import { ChunkDelivered, Receipt } from "../../../src/account/Receipt.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { UploadSource } from "../../../src/ilink/CdnUploadSource.js"
import { MediaLoadFailed, type MediaLoaderService, type MediaLoadRequest } from "../../../src/host/MediaLoader.js"
import { deliverReplyMedia, MEDIA_FAILURE_NOTICE, makeNoticeGate, replyMediaRefs } from "../../../src/host/ReplyMedia.js"

const peer = Either.getOrThrow(normalizePeerId("User1@im.wechat"))
const turn = { peer, accountId: "bot", runId: "r" } as unknown as InboundTurn

const world = (options: { readonly uploadFails?: boolean } = {}) => {
  const log: Array<string> = []
  const loads: Array<MediaLoadRequest> = []
  let n = 0
  const receipt = () => Receipt.fromChunks("peer", [new ChunkDelivered({ clientId: `c${++n}`, messageId: `m${n}` })])
  const loader: MediaLoaderService = {
    load: (request) =>
      Effect.suspend(() => {
        loads.push(request)
        return request.ref.includes("missing")
          ? Effect.fail(new MediaLoadFailed({ ref: request.ref, code: "not-found", reason: "no such file" }))
          : Effect.succeed<OutboundMedia>({ source: UploadSource.bytes(Buffer.from("x")), contentType: "image/png", fileName: request.ref })
      })
  }
  const reply: ReplyChannel = {
    sendText: (text) => Effect.sync(() => (log.push(`text:${text}`), receipt())),
    sendProgress: () => Effect.dieMessage("no progress here"),
    sendMedia: ({ caption, media }) =>
      options.uploadFails === true
        ? Effect.fail(new MediaUploadFailed({ peer: peer.id, fileName: media[0]!.fileName, cause: "CdnHttpError", reason: "HTTP 403" }))
        : Effect.sync(() => (log.push(`media:${caption}|${media.map((m) => m.fileName).join(",")}`), receipt())),
    withTyping: (effect) => effect
  }
  const params = { turn, reply, loader, notice: makeNoticeGate(), cfg: {}, agentId: "main", maxBytes: 1000 }
  return { log, loads, params }
}

describe("reply media", () => {
  it("takes mediaUrl and mediaUrls once each, in order, skipping blanks", () => {
    expect(replyMediaRefs({ mediaUrl: "a.png", mediaUrls: ["b.png", "a.png", " "] })).toEqual(["a.png", "b.png"])
    expect(replyMediaRefs({})).toEqual([])
  })

  it.effect("sends the caption and every file in one send, loaded with the routed agent's roots and the account's cap", () =>
    Effect.gen(function*() {
      const w = world()
      yield* deliverReplyMedia(w.params, "look", ["a.png", "b.png"])
      expect(w.log).toEqual(["media:look|a.png,b.png"])
      expect(w.loads.map((l) => [l.access, l.maxBytes])).toEqual([
        [{ _tag: "Agent", cfg: {}, agentId: "main" }, 1000],
        [{ _tag: "Agent", cfg: {}, agentId: "main" }, 1000]
      ])
    }))

  it.effect("leaves out a file that cannot be loaded and tells the user once", () =>
    Effect.gen(function*() {
      const w = world()
      yield* deliverReplyMedia(w.params, "two files", ["missing.png", "b.png"])
      expect(w.log).toEqual(["media:two files|b.png", `text:${MEDIA_FAILURE_NOTICE}`])
    }))

  it.effect("with nothing loadable, sends the caption alone and the notice; a media-only reply sends only the notice", () =>
    Effect.gen(function*() {
      const w = world()
      yield* deliverReplyMedia(w.params, "caption", ["missing.png"])
      yield* TestClock.adjust("61 seconds")
      yield* deliverReplyMedia(w.params, "", ["missing-too.png"])
      expect(w.log).toEqual(["text:caption", `text:${MEDIA_FAILURE_NOTICE}`, `text:${MEDIA_FAILURE_NOTICE}`])
    }))

  it.effect("an upload failure falls back to the caption and the notice", () =>
    Effect.gen(function*() {
      const w = world({ uploadFails: true })
      const receipt = yield* deliverReplyMedia(w.params, "caption", ["a.png"])
      expect(receipt?.status).toBe("delivered")
      expect(w.log).toEqual(["text:caption", `text:${MEDIA_FAILURE_NOTICE}`])
    }))

  it.effect("notices are rate-limited per peer: one a minute, whatever fails in between", () =>
    Effect.gen(function*() {
      const w = world()
      for (let i = 0; i < 5; i++) yield* deliverReplyMedia(w.params, "", ["missing.png"])
      yield* TestClock.adjust("59 seconds")
      yield* deliverReplyMedia(w.params, "", ["missing.png"])
      expect(w.log.filter((l) => l === `text:${MEDIA_FAILURE_NOTICE}`).length).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* deliverReplyMedia(w.params, "", ["missing.png"])
      expect(w.log.filter((l) => l === `text:${MEDIA_FAILURE_NOTICE}`).length).toBe(2)
      // another peer has its own allowance
      const gate = w.params.notice
      const other = Either.getOrThrow(normalizePeerId("other@im.wechat"))
      expect(yield* gate(other.key)).toBe(true)
      expect(yield* gate(other.key)).toBe(false)
    }))
})
