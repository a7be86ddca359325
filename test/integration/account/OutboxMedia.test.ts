/**
 * The Outbox's media sends over real HTTP against the emulator, where the CDN's timeouts can be made
 * short: a CDN that hangs ends the send in a typed error after the idle bound with nothing sent, the
 * next send of the same peer goes out, and refusals come before any upload.
 */
import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { Clock, Duration, Effect, Either, Layer, Redacted } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { ContextTokens } from "../../../src/account/ContextTokens.js"
import { MediaUploadFailed } from "../../../src/account/OutboundMedia.js"
import { Outbox } from "../../../src/account/Outbox.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { CdnTimeouts } from "../../../src/ilink/CdnTimeouts.js"
import { CdnUpload } from "../../../src/ilink/CdnUpload.js"
import { UploadSource } from "../../../src/ilink/CdnUploadSource.js"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"

const user = "o9cQ8Abc@im.wechat"
const peer = Either.getOrThrow(normalizePeerId(user))
const picture = () => ({ source: UploadSource.bytes(randomBytes(1000)), contentType: "image/png", fileName: "p.png" })

const setup = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 300 })
  const bot = yield* emulator.addBot()
  yield* emulator.addUser(user)
  const connection = yield* ILinkConnection.make({ baseUrl: emulator.baseUrl, token: Redacted.make(bot.token), accountId: "media-it" })
  const tokens = yield* ContextTokens.make({ accountId: "media-it" }).pipe(Effect.provide(ContextTokenStore.layerMemory))
  const outbox = yield* Outbox.make({
    accountId: "media-it",
    connection,
    contextTokens: tokens,
    replyBudget: 3,
    media: { cdn: yield* CdnUpload, cdnBaseUrl: emulator.cdnBaseUrl }
  })
  const injected = yield* emulator.injectInbound({ botId: bot.botId, fromUserId: user, kind: "text", text: "hi" })
  yield* tokens.remember(peer, injected.contextToken!, yield* Clock.currentTimeMillis)
  return { emulator, bot, outbox }
})

const layer = Layer.provideMerge(CdnUpload.Default, ILinkApi.Default)

describe("Outbox media sends × emulator", () => {
  it.live("a CDN that hangs fails the send after the idle bound, sends nothing, and the peer's next send goes out", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "hang" }, times: 1 })
      const error = yield* Effect.flip(t.outbox.send({ to: peer, text: "caption", media: [picture()] }))
      expect(error).toBeInstanceOf(MediaUploadFailed)
      expect((error as MediaUploadFailed).cause).toBe("CdnTimeout")
      expect(yield* t.emulator.sent(t.bot.botId)).toEqual([])
      const receipt = yield* t.outbox.send({ to: peer, text: "caption", media: [picture()] })
      expect(receipt.chunks.length).toBe(2)
      expect((yield* t.emulator.cdn.sentMedia(t.bot.botId)).map((m) => m.kind)).toEqual(["image"])
      expect(yield* t.emulator.violations()).toEqual([])
    }).pipe(
      Effect.scoped,
      Effect.provide(layer),
      Effect.provideService(CdnTimeouts, { response: Duration.millis(400), idle: Duration.millis(400) })
    ), 20_000)

  it.live("a send the reply budget cannot take is refused before anything is uploaded", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const error = yield* Effect.flip(t.outbox.send({ to: peer, text: "caption", media: [picture(), picture(), picture()] }))
      expect(error._tag).toBe("ReplyBudgetSpent")
      expect(yield* t.emulator.requests("getuploadurl")).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.live("several files go out in order, one item each, after the caption", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const files = [
        { source: UploadSource.bytes(Buffer.from("first file")), contentType: "text/plain", fileName: "1.txt" },
        { source: UploadSource.bytes(randomBytes(3000)), contentType: "video/mp4", fileName: "2.mp4" }
      ]
      const receipt = yield* t.outbox.send({ to: peer, text: "two", media: files })
      expect(receipt.chunks.map((c) => c._tag)).toEqual(["Delivered", "Delivered", "Delivered"])
      const media = yield* t.emulator.cdn.sentMedia(t.bot.botId)
      expect(media.map((m) => [m.kind, m.fileName])).toEqual([["file", "1.txt"], ["video", undefined]])
      expect(Buffer.from(media[0]?.plaintext ?? []).toString()).toBe("first file")
      expect(yield* t.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(layer)))
})
