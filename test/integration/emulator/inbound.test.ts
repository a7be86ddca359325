import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decryptAesEcb, type Emulator, makeEmulator, md5Hex } from "../../../sandbox/emulator/Emulator.js"
import { callBot, parseLossless, request } from "../../support/emulatorRawClient.js"

const pollOne = (emulator: Emulator, token: string) =>
  Effect.map(callBot(emulator.baseUrl, "ilink/bot/getupdates", token, { get_updates_buf: "" }), (r) => ({
    raw: r.text,
    body: parseLossless(r.text)
  }))

/** Downloads and decrypts inbound media the way a client does (PROTOCOL §6.1, §6.3). */
const fetchMedia = (emulator: Emulator, media: any) =>
  Effect.gen(function*() {
    const url = media.full_url ?? `${emulator.cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(media.encrypt_query_param)}`
    const response = yield* request(url)
    const keyBytes = Buffer.from(media.aes_key, "base64")
    const key = keyBytes.length === 16 ? keyBytes : Buffer.from(keyBytes.toString("ascii"), "hex")
    return decryptAesEcb(response.bytes, key)
  })

describe("emulator inbound messages of every kind", () => {
  it.scopedLive("writes item and quote ids above 2^53 as bare integers", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* emulator.injectInbound({
        botId: bot.botId,
        kind: "quote",
        text: "replying",
        svrId: "7311234567890123999",
        quotedText: "the original",
        title: "orig",
        partialText: { start: "the", end: "original", startindex: 0, endindex: 12, quotemd5: md5Hex(Buffer.from("the original")) }
      })
      const { raw, body } = yield* pollOne(emulator, bot.token)
      expect(raw).toContain("\"svr_id\":7311234567890123999")
      expect(raw).toMatch(/"msg_id":\d{19}/)
      const item = body.msgs[0].item_list[0]
      expect(item.ref_msg).toMatchObject({ svr_id: "7311234567890123999", title: "orig", message_item: { type: 1, text_item: { text: "the original" } } })
      expect(item.ref_msg.partial_text.startindex).toBe(0)
    }))

  it.scopedLive("delivers image, voice, file and video media that decrypt to the injected bytes", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const bytes = Buffer.from("pretend this is a picture, with more than sixteen bytes")
      yield* emulator.injectInbound({ botId: bot.botId, kind: "image", media: { data: bytes, keyEncoding: "raw", location: "full_url" }, aeskeyField: true })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "voice", media: { data: "silk", location: "param" }, transcript: "hello there" })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "voice", media: { data: "silk2" } })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "file", media: { data: "report body" }, fileName: "report.txt" })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "video", media: { base64: Buffer.from("mp4!").toString("base64") } })
      const { body } = yield* pollOne(emulator, bot.token)
      const [image, voice, silentVoice, file, video] = body.msgs.map((m: any) => m.item_list[0])
      expect(image.type).toBe(2)
      expect(image.image_item.media.encrypt_query_param).toBeUndefined()
      expect(Buffer.from(image.image_item.media.aes_key, "base64").length).toBe(16)
      expect(image.image_item.aeskey).toMatch(/^[0-9a-f]{32}$/)
      expect(yield* fetchMedia(emulator, image.image_item.media)).toEqual(bytes)
      expect(voice.voice_item.text).toBe("hello there")
      expect(voice.voice_item.media.full_url).toBeUndefined()
      expect(Buffer.from(voice.voice_item.media.aes_key, "base64").toString("ascii")).toMatch(/^[0-9a-f]{32}$/)
      expect((yield* fetchMedia(emulator, voice.voice_item.media))?.toString()).toBe("silk")
      expect(silentVoice.voice_item.text).toBeUndefined()
      expect(file.file_item).toMatchObject({ file_name: "report.txt", len: "11", md5: md5Hex(Buffer.from("report body")) })
      expect((yield* fetchMedia(emulator, file.file_item.media))?.toString()).toBe("report body")
      expect((yield* fetchMedia(emulator, video.video_item.media))?.toString()).toBe("mp4!")
    }))

  it.scopedLive("can advertise a key that does not decrypt the file (server-side dedupe quirk)", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* emulator.injectInbound({ botId: bot.botId, kind: "file", media: { data: "secret", wrongKey: true }, fileName: "a.bin" })
      const { body } = yield* pollOne(emulator, bot.token)
      const plaintext = yield* fetchMedia(emulator, body.msgs[0].item_list[0].file_item.media)
      expect(plaintext?.toString()).not.toBe("secret")
    }))

  it.scopedLive("delivers tool-call items, an unknown item type, an empty item list and a message without ids", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* emulator.injectInbound({ botId: bot.botId, kind: "tool_call", toolName: "search", toolCallId: "c1" })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "unknown_item", itemType: 77 })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "empty" })
      const noIds = yield* emulator.injectInbound({ botId: bot.botId, kind: "no_ids" })
      expect(noIds.messageId).toBeUndefined()
      const { body } = yield* pollOne(emulator, bot.token)
      const [tool, unknown, empty, bare] = body.msgs
      expect(tool.item_list.map((i: any) => i.type)).toEqual([11, 12])
      expect(tool.item_list[1].tool_call_result_item).toEqual({ tool_name: "search", tool_call_id: "c1", status: "completed" })
      expect(unknown.item_list[0].type).toBe(77)
      expect(empty.item_list).toEqual([])
      expect(bare.message_id).toBeUndefined()
      expect(bare.seq).toBeUndefined()
      expect(bare.item_list[0].msg_id).toBeUndefined()
      expect(typeof bare.context_token).toBe("string")
    }))

  it.scopedLive("splices raw objects and raw JSON text into msgs verbatim", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* emulator.injectInbound({ botId: bot.botId, kind: "raw", message: { message_id: "abc", item_list: "nope" } })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "raw_text", text: "{\"message_id\":1e400,\"broken\":" })
      const response = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect(response.text).toContain("{\"message_id\":\"abc\",\"item_list\":\"nope\"},{\"message_id\":1e400,\"broken\":]")
    }))

  it.scopedLive("gives every inbound message a fresh context token for that bot and user", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const a = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "1" })
      const b = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "2" })
      expect(a.contextToken).not.toBe(b.contextToken)
      const conversation = yield* emulator.conversation(bot.botId, bot.ownerUserId)
      expect(conversation.liveContextTokens).toEqual([a.contextToken, b.contextToken])
    }))
})
