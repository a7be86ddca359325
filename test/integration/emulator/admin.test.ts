import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { callBot, parseLossless, request, sendText } from "../../support/emulatorRawClient.js"

const admin = (url: string, method: "GET" | "POST" = "GET", body?: unknown) =>
  Effect.map(
    request(url, method === "POST" ? { method, body: JSON.stringify(body ?? {}) } : {}),
    (r) => ({ status: r.status, body: parseLossless(r.text) })
  )

describe("emulator admin HTTP API", () => {
  it.scopedLive("drives a whole exchange over HTTP: bot, inject, poll, reply, sent, requests, violations", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const a = emulator.adminUrl
      const bot = (yield* admin(`${a}/bots`, "POST", { ownerUserId: "o9admin@im.wechat" })).body
      expect(bot.botId).toMatch(/@im\.bot$/)
      const injected = (yield* admin(`${a}/inject`, "POST", { botId: bot.botId, kind: "text", text: "via admin" })).body
      expect(injected.json).toContain("via admin")
      const polled = parseLossless((yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })).text)
      expect(polled.msgs[0].message_id).toBe(injected.messageId)
      yield* sendText(emulator.baseUrl, bot.token, bot.ownerUserId, "answer", injected.contextToken)
      const sent = (yield* admin(`${a}/sent?botId=${encodeURIComponent(bot.botId)}`)).body.sent
      expect(sent).toHaveLength(1)
      expect(sent[0]).toMatchObject({ outcome: "delivered", contextToken: injected.contextToken })
      expect(sent[0].msg.item_list[0].text_item.text).toBe("answer")
      const requests = (yield* admin(`${a}/requests?endpoint=sendmessage`)).body.requests
      expect(requests).toHaveLength(1)
      expect((yield* admin(`${a}/violations`)).body.violations).toEqual([])
    }))

  it.scopedLive("sets and clears faults, injects media, advances the clock, drives QR and expiry", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100, qrStatusHoldMs: 50 })
      const a = emulator.adminUrl
      const bot = yield* emulator.addBot()
      expect((yield* admin(`${a}/faults`, "POST", { endpoint: "notifystart", fault: { kind: "http", status: 502 }, times: 1 })).status).toBe(200)
      expect((yield* admin(`${a}/faults`)).body.faults).toHaveLength(1)
      expect((yield* callBot(emulator.baseUrl, "ilink/bot/msg/notifystart", bot.token, {})).status).toBe(502)
      yield* admin(`${a}/faults`, "POST", { endpoint: "notifystart", fault: { kind: "http", status: 502 } })
      yield* admin(`${a}/faults/clear`, "POST", {})
      expect((yield* callBot(emulator.baseUrl, "ilink/bot/msg/notifystart", bot.token, {})).status).toBe(200)

      const media = (yield* admin(`${a}/inject`, "POST", {
        botId: bot.botId,
        kind: "file",
        fileName: "n.txt",
        media: { base64: Buffer.from("note").toString("base64") }
      })).body.media
      expect(media.plaintextSize).toBe(4)

      const before = (yield* admin(`${a}/clock`)).body.now
      yield* admin(`${a}/clock/advance`, "POST", { ms: 86_400_000 })
      expect((yield* admin(`${a}/clock`)).body.now - before).toBeGreaterThanOrEqual(86_400_000)

      yield* admin(`${a}/expire-session`, "POST", { botId: bot.botId, via: "errcode" })
      const expired = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect(JSON.parse(expired.text)).toMatchObject({ errcode: -14 })

      yield* request(`${emulator.baseUrl}ilink/bot/get_bot_qrcode?bot_type=3`, { method: "POST", body: "{\"local_token_list\":[]}" })
      yield* admin(`${a}/qr/scan`, "POST", {})
      expect((yield* admin(`${a}/qr`)).body.status).toBe("scaned")
      const confirmed = (yield* admin(`${a}/qr/confirm`, "POST", { botId: bot.botId })).body
      expect(confirmed.botId).toBe(bot.botId)
      expect((yield* admin(`${a}/qr`)).body.status).toBe("confirmed")
    }))

  it.scopedLive("answers a clear 400 for an unknown bot or a non-JSON body, and 404 for an unknown route", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const a = emulator.adminUrl
      const unknownBot = yield* admin(`${a}/inject`, "POST", { botId: "ghost@im.bot", kind: "text", text: "x" })
      expect(unknownBot.status).toBe(400)
      expect(unknownBot.body).toMatchObject({ error: "EmulatorControlError" })
      expect(unknownBot.body.message).toContain("ghost@im.bot")
      const notJson = yield* request(`${a}/inject`, { method: "POST", body: "{" })
      expect(notJson.status).toBe(400)
      expect((yield* admin(`${a}/nothing-here`)).status).toBe(404)
    }))

  it.scopedLive("refuses fault plans and inbound specs it cannot honour, saying what is wrong", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const a = emulator.adminUrl
      const bot = yield* emulator.addBot()
      const badEndpoint = yield* admin(`${a}/faults`, "POST", { endpoint: "getupdate", fault: { kind: "hang" } })
      const badKind = yield* admin(`${a}/faults`, "POST", { endpoint: "getupdates", fault: { kind: "explode" } })
      const badTimes = yield* admin(`${a}/faults`, "POST", { endpoint: "getupdates", fault: { kind: "hang" }, times: -1 })
      for (const refused of [badEndpoint, badKind, badTimes]) {
        expect(refused.status).toBe(400)
        expect(refused.body.message).toContain("not a fault plan")
      }
      expect((yield* admin(`${a}/faults`)).body.faults).toEqual([])
      const noMedia = yield* admin(`${a}/inject`, "POST", { botId: bot.botId, kind: "image" })
      expect([noMedia.status, noMedia.body.message]).toEqual([400, "kind image needs media {data} or {base64}"])
      const unknownKind = yield* admin(`${a}/inject`, "POST", { botId: bot.botId, kind: "sticker" })
      expect(unknownKind.body.message).toContain("kind must be one of")
      const numericId = yield* admin(`${a}/inject`, "POST", { botId: bot.botId, kind: "text", text: "x", messageId: 12 })
      expect(numericId.body.message).toBe("messageId must be a decimal string (uint64)")
      // nothing was half-injected
      const polled = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect(parseLossless(polled.text).msgs).toEqual([])
    }))
})
