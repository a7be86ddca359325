import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { type Emulator, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { botHeaders, callBot, eventually, parseLossless, request } from "../../support/emulatorRawClient.js"

const poll = (emulator: Emulator, token: string, cursor: string) =>
  Effect.map(callBot(emulator.baseUrl, "ilink/bot/getupdates", token, { get_updates_buf: cursor }), (r) => parseLossless(r.text))

describe("emulator delivery: redelivery, cursor, session expiry", () => {
  it.scopedLive("redelivers an already-delivered message with the same message_id", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "once" })
      const first = yield* poll(emulator, bot.token, "")
      yield* emulator.redeliver(bot.botId, injected.messageId ?? "")
      const second = yield* poll(emulator, bot.token, first.get_updates_buf)
      expect(second.msgs.map((m: any) => m.message_id)).toEqual([injected.messageId])
      expect(second.get_updates_buf).not.toBe(first.get_updates_buf)
    }))

  it.scopedLive("redelivers later: a held poll receives the message when the delay passes", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 5_000 })
      const bot = yield* emulator.addBot()
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "once" })
      const first = yield* poll(emulator, bot.token, "")
      yield* emulator.redeliver(bot.botId, injected.messageId ?? "", { delayMs: 200 })
      const second = yield* poll(emulator, bot.token, first.get_updates_buf)
      expect(second.msgs.map((m: any) => m.message_id)).toEqual([injected.messageId])
    }))

  it.scopedLive("ignores the cursor for one poll when asked (at-least-once)", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "a" })
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "b" })
      const first = yield* poll(emulator, bot.token, "")
      yield* emulator.ignoreCursorOnce(bot.botId)
      const replayed = yield* poll(emulator, bot.token, first.get_updates_buf)
      const after = yield* poll(emulator, bot.token, replayed.get_updates_buf)
      expect(replayed.msgs.map((m: any) => m.message_id)).toEqual(first.msgs.map((m: any) => m.message_id))
      expect(after.msgs).toEqual([])
    }))

  it.scopedLive("fails redelivery of an unknown message with a typed control error", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const error = yield* Effect.flip(emulator.redeliver(bot.botId, "1"))
      expect(error).toMatchObject({ _tag: "EmulatorControlError", verb: "redeliver" })
      const unknownBot = yield* Effect.flip(emulator.injectInbound({ botId: "nope@im.bot", kind: "text", text: "x" }))
      expect(unknownBot._tag).toBe("EmulatorControlError")
    }))

  it.scopedLive("expires a session: −14 via ret or errcode, released from a held poll, until a new QR login", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 5_000, qrStatusHoldMs: 50 })
      const bot = yield* emulator.addBot()
      const held = yield* Effect.fork(poll(emulator, bot.token, ""))
      yield* eventually(Effect.map(emulator.requests("getupdates"), (r) => (r.length === 1 ? true : undefined)))
      yield* emulator.expireSession(bot.botId)
      expect(yield* Fiber.join(held)).toEqual({ ret: -14, errmsg: "session timeout" })
      yield* emulator.expireSession(bot.botId, "errcode")
      expect(yield* poll(emulator, bot.token, "")).toEqual({ errcode: -14, errmsg: "session timeout" })
      // a new login by QR issues a new token; the old one stays dead
      const qr = yield* callBot(emulator.baseUrl, "ilink/bot/get_bot_qrcode?bot_type=3", undefined, {})
      expect(qr.status).toBe(200)
      const { qrcode } = JSON.parse(qr.text)
      const relogged = yield* emulator.qr.confirm(qrcode, { botId: bot.botId, userId: bot.ownerUserId })
      expect(relogged.token).not.toBe(bot.token)
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "back" })
      expect((yield* poll(emulator, relogged.token, "")).msgs).toHaveLength(1)
      expect((yield* poll(emulator, bot.token, "")).ret).toBe(-14)
    }))

  it.scopedLive("answers −14 and records a violation for a getupdates without the iLink-App headers", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "x" })
      const response = yield* request(`${emulator.baseUrl}ilink/bot/getupdates`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          AuthorizationType: "ilink_bot_token",
          "X-WECHAT-UIN": "MTIzNDU=",
          Authorization: `Bearer ${bot.token}`
        },
        body: JSON.stringify({ get_updates_buf: "", base_info: { channel_version: "2.4.9", bot_agent: "OpenClaw" } })
      })
      expect(JSON.parse(response.text).ret).toBe(-14)
      expect((yield* emulator.violations()).map((v) => v.rule).sort()).toEqual(["ilink-app-clientversion", "ilink-app-id"])
    }))

  it.scopedLive("answers −14 on a bot endpoint called with a token it never issued, and records a violation", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const response = yield* callBot(emulator.baseUrl, "ilink/bot/getconfig", "not-a-token", { ilink_user_id: "x@im.wechat" })
      expect(JSON.parse(response.text)).toEqual({ ret: -14, errmsg: "session timeout" })
      expect((yield* emulator.violations()).map((v) => `${v.endpoint}:${v.rule}`)).toEqual(["getconfig:authorization"])
      const failure = yield* Effect.flip(emulator.expectNoViolations)
      expect(failure.message).toContain("never issued")
    }))

  it.scopedLive("records a violation when X-WECHAT-UIN is not renewed between requests", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const call = () =>
        request(`${emulator.baseUrl}ilink/bot/msg/notifystart`, {
          method: "POST",
          headers: { ...botHeaders(bot.token), "X-WECHAT-UIN": "MTIzNDU=" },
          body: JSON.stringify({ base_info: { channel_version: "2.4.9", bot_agent: "OpenClaw" } })
        })
      yield* call()
      yield* emulator.expectNoViolations
      yield* call()
      expect((yield* emulator.violations()).map((v) => v.rule)).toEqual(["x-wechat-uin"])
    }))
})
