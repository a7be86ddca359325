/**
 * outbound.sendMedia over the production path against the emulator on 127.0.0.1: the CLI process (no
 * actor: stored login, stored tokens, a short-lived Outbox) and the gateway (the running account's
 * actor). The file is loaded (local files under the temp dir: the host's loader needs Node 24; e2e runs
 * that one), uploaded to the emulator's CDN, which decrypts and records it, and sent as one media item
 * after the caption. Every failure is typed and sends nothing; the emulator records zero violations.
 */
import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { MediaUploadFailed } from "../../../src/account/OutboundMedia.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { UploadSource } from "../../../src/ilink/CdnUploadSource.js"
import { MediaLoadFailed } from "../../../src/host/MediaLoader.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import type { OutboundContext } from "../../../src/plugin/SdkTypes.js"
import { makeTempDir } from "../../support/actorHarness.js"
import { hostCall, pluginWithBot, scopedDeps, startAccountInFiber } from "../../support/pluginEmulator.js"
import { hostConfig, storeContextTokens, storeLogin } from "../../support/plugin.js"

type MediaCtx = OutboundContext & { readonly mediaUrl?: string; readonly forceDocument?: boolean }

const PNG = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), randomBytes(2000)])

/** One bot, a user who wrote to it, and a plugin in a CLI process (no running account). */
const cliWorld = (options: { readonly mediaMaxMb?: number } = {}) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 300 })
    const dir = yield* makeTempDir("ocw-media-out-")
    const files = yield* makeTempDir("ocw-media-files-")
    const bot = yield* emulator.addBot()
    const user = bot.ownerUserId
    const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "send me things", fromUserId: user })
    yield* storeLogin(dir, { id: bot.botId, token: bot.token, baseUrl: emulator.baseUrl })
    yield* storeContextTokens(dir, normalizeAccountId(bot.botId), { [user]: injected.contextToken! })
    const plugin = makeWeixinChannelPlugin(yield* scopedDeps(dir))
    const cfg = hostConfig({ cdnBaseUrl: emulator.cdnBaseUrl, ...(options.mediaMaxMb === undefined ? {} : { mediaMaxMb: options.mediaMaxMb }) })
    const file = (name: string, data: Uint8Array) => {
      const at = path.join(files, name)
      fs.writeFileSync(at, data)
      return at
    }
    const sendMedia = (mediaUrl: string, text = "", extra: Partial<MediaCtx> = {}) =>
      hostCall(() => plugin.outbound!.sendMedia!({ cfg, to: user, text, mediaUrl, ...extra } as MediaCtx))
    const nothingSent = Effect.gen(function*() {
      expect(yield* emulator.sent(bot.botId)).toEqual([])
    })
    return { emulator, bot, user, files, file, sendMedia, nothingSent }
  })

const noViolations = (emulator: { readonly violations: () => Effect.Effect<ReadonlyArray<unknown>> }) =>
  Effect.gen(function*() {
    expect(yield* emulator.violations()).toEqual([])
  })

describe("outbound.sendMedia (CLI process, no running account)", () => {
  it.live("a picture: the caption first, then an IMAGE whose decrypted bytes are the file; a receipt for each", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld()
      const result = yield* w.sendMedia(w.file("chart.png", PNG), "here is the chart")
      const sent = yield* w.emulator.sent(w.bot.botId)
      expect(sent.map((s) => s.text)).toEqual(["here is the chart", undefined])
      expect(result.messageId).toBe(sent[1]?.clientId)
      expect((result.meta?.["serverMessageIds"] as Array<string>).length).toBe(2)
      const [media] = yield* w.emulator.cdn.sentMedia(w.bot.botId)
      expect(media?.kind).toBe("image")
      expect(Buffer.from(media?.plaintext ?? []).equals(PNG)).toBe(true)
      yield* noViolations(w.emulator)
    }).pipe(Effect.scoped))

  it.live("a PDF goes as a FILE with its base name; a video as a VIDEO; a media-only send has no text", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld()
      const pdf = Buffer.from(`%PDF-1.4\n${randomBytes(5000).toString("base64")}`)
      yield* w.sendMedia(w.file("report.pdf", pdf))
      yield* w.sendMedia(w.file("clip.mp4", randomBytes(70_000)))
      const media = yield* w.emulator.cdn.sentMedia(w.bot.botId)
      expect(media.map((m) => [m.kind, m.fileName])).toEqual([["file", "report.pdf"], ["video", undefined]])
      expect(Buffer.from(media[0]?.plaintext ?? []).equals(pdf)).toBe(true)
      expect((yield* w.emulator.sent(w.bot.botId)).every((s) => s.text === undefined)).toBe(true)
      yield* noViolations(w.emulator)
    }).pipe(Effect.scoped))

  it.live("forceDocument sends a picture as a FILE; an unknown extension is a FILE; a control character leaves the name", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld()
      yield* w.sendMedia(w.file("photo.png", PNG), "", { forceDocument: true })
      yield* w.sendMedia(w.file("data.xyz123", randomBytes(40)))
      yield* w.sendMedia(w.file("bad\u0007name.txt", Buffer.from("hello")))
      const media = yield* w.emulator.cdn.sentMedia(w.bot.botId)
      expect(media.map((m) => [m.kind, m.fileName])).toEqual([["file", "photo.png"], ["file", "data.xyz123"], ["file", "badname.txt"]])
      const announced = (yield* w.emulator.requests("getuploadurl")).map((r) => JSON.parse(r.body).media_type)
      expect(announced).toEqual([3, 3, 3])
      yield* noViolations(w.emulator)
    }).pipe(Effect.scoped))

  it.live("a long caption is chunked before the file, all in order", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld()
      const caption = "字".repeat(4500)
      yield* w.sendMedia(w.file("a.png", PNG), caption)
      const sent = yield* w.emulator.sent(w.bot.botId)
      expect(sent.length).toBe(4)
      expect(sent.slice(0, 3).map((s) => s.text).join("")).toBe(caption)
      expect(sent[3]?.text).toBeUndefined()
      yield* noViolations(w.emulator)
    }).pipe(Effect.scoped))

  it.live("bad files end in a typed MediaLoadFailed before any upload: missing, a directory, empty, over the cap, outside the roots", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld({ mediaMaxMb: 1 })
      const big = w.file("big.bin", Buffer.alloc(1024 * 1024 + 1))
      const empty = w.file("empty.pdf", new Uint8Array(0))
      const link = path.join(w.files, "escape.txt")
      fs.symlinkSync("/etc/hostname", link)
      const cases = [
        [path.join(w.files, "missing.png"), "not-found"],
        [w.files, "not-file"],
        [empty, "empty"],
        [big, "too-large"],
        [link, "path-not-allowed"],
        ["/etc/hostname", "path-not-allowed"],
        ["ftp://example.com/a.png", "unsupported-url"]
      ] as const
      for (const [ref, code] of cases) {
        const error = yield* Effect.flip(w.sendMedia(ref, "caption"))
        expect(error).toBeInstanceOf(MediaLoadFailed)
        expect([ref, (error as MediaLoadFailed).code]).toEqual([ref, code])
      }
      yield* w.nothingSent
      expect(yield* w.emulator.requests("getuploadurl")).toEqual([])
      yield* noViolations(w.emulator)
    }).pipe(Effect.scoped))

  it.live("CDN faults: 403 fails at once with nothing sent; 500 then 200 and a missing x-encrypted-param are retried and delivered", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld()
      yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "http", status: 403, errorMessageHeader: "forbidden" }, times: 1 })
      const refused = yield* Effect.flip(w.sendMedia(w.file("a.png", PNG), "caption"))
      expect(refused).toBeInstanceOf(MediaUploadFailed)
      expect([(refused as MediaUploadFailed).cause, (refused as Error).message]).toEqual([
        "CdnHttpError",
        expect.stringContaining("HTTP 403: forbidden")
      ])
      expect((yield* w.emulator.requests("cdn_upload")).length).toBe(1)
      yield* w.nothingSent

      yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "http", status: 500 }, times: 1 })
      yield* w.sendMedia(w.file("b.png", PNG), "after a 500")
      yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "missing_encrypted_param" }, times: 1 })
      yield* w.sendMedia(w.file("c.png", PNG), "after a missing header")
      expect((yield* w.emulator.requests("cdn_upload")).length).toBe(5)
      expect((yield* w.emulator.sent(w.bot.botId)).map((s) => s.text)).toEqual([
        "after a 500",
        undefined,
        "after a missing header",
        undefined
      ])
      yield* noViolations(w.emulator)
    }).pipe(Effect.scoped), { timeout: 20_000 })

  it.live("getuploadurl answering ret≠0, or no URL, fails typed with nothing sent to the CDN or the user", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld()
      yield* w.emulator.setFault({ endpoint: "getuploadurl", fault: { kind: "ret", ret: -1, errmsg: "refused" }, times: 1 })
      const refused = yield* Effect.flip(w.sendMedia(w.file("a.png", PNG), "x"))
      expect((refused as MediaUploadFailed).cause).toBe("ILinkApiError")
      yield* w.emulator.setFault({ endpoint: "getuploadurl", fault: { kind: "ret", ret: 0 }, times: 1 })
      const noUrl = yield* Effect.flip(w.sendMedia(w.file("a.png", PNG), "x"))
      expect((noUrl as MediaUploadFailed).cause).toBe("CdnNoLocation")
      expect(yield* w.emulator.requests("cdn_upload")).toEqual([])
      yield* w.nothingSent
    }).pipe(Effect.scoped))

  it.live("refuses a recipient without a context token before uploading anything", () =>
    Effect.gen(function*() {
      const w = yield* cliWorld()
      const error = yield* Effect.flip(w.sendMedia(w.file("a.png", PNG), "x", { to: "stranger@im.wechat" }))
      expect((error as { _tag: string })._tag).toBe("NoContextToken")
      expect(yield* w.emulator.requests("getuploadurl")).toEqual([])
      yield* w.nothingSent
    }).pipe(Effect.scoped))
})

describe("media through a running account (gateway)", () => {
  it.live("sendMedia goes through the account's actor; a reply with media sends caption and file in order; a failed upload leaves the actor answering", () =>
    Effect.gen(function*() {
      const files = yield* makeTempDir("ocw-media-actor-")
      const picture = path.join(files, "pic.png")
      fs.writeFileSync(picture, PNG)
      const t = yield* pluginWithBot({ dirPrefix: "ocw-media-actor-state-" })
      const cfg = hostConfig({ cdnBaseUrl: t.emulator.cdnBaseUrl })
      yield* t.bridge.host.script({ peer: t.bot.ownerUserId }, {
        replies: (turn) => [`pong: ${(turn.claimed.message.item_list?.[0] as { text_item?: { text?: string } }).text_item?.text}`],
        media: () => [{
          caption: "a picture",
          media: [{ source: UploadSource.bytes(PNG), contentType: "image/png", fileName: "pic.png" }]
        }]
      })
      const { fake } = yield* startAccountInFiber(t.plugin, t.accountId, cfg)
      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "one", fromUserId: t.bot.ownerUserId })
      yield* waitUntil("the reply with media", Effect.map(t.emulator.cdn.sentMedia(t.bot.botId), (m) => m.length === 1))
      const texts = (yield* t.emulator.sent(t.bot.botId)).map((s) => s.text)
      expect(texts).toEqual(["pong: one", "a picture", undefined])

      yield* hostCall(() => t.plugin.outbound!.sendMedia!({ cfg, to: t.bot.ownerUserId, text: "", mediaUrl: picture } as MediaCtx))
      expect((yield* t.emulator.cdn.sentMedia(t.bot.botId)).length).toBe(2)

      // a CDN that refuses: the reply's media fails typed, the turn's text still went, the next turn runs
      yield* t.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "http", status: 403 } })
      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "two", fromUserId: t.bot.ownerUserId })
      yield* waitUntil("the second turn", Effect.map(t.bridge.host.turns, (turns) => turns.length === 2 && turns[1]?.endedAt !== undefined))
      const second = (yield* t.bridge.host.turns)[1]!
      expect(second.replies.map((r) => [r.text, r.result._tag])).toEqual([["pong: two", "Right"], ["a picture", "Left"]])
      yield* t.emulator.clearFaults()
      yield* t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "three", fromUserId: t.bot.ownerUserId })
      yield* waitUntil("the third turn's media", Effect.map(t.emulator.cdn.sentMedia(t.bot.botId), (m) => m.length === 3))
      expect(yield* t.emulator.violations()).toEqual([])
      fake.abort.abort()
    }).pipe(Effect.scoped), { timeout: 30_000 })
})
