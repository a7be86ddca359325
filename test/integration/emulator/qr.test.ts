import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { type Emulator, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { botHeaders, callBot, eventually, parseLossless, request } from "../../support/emulatorRawClient.js"

const getQr = (emulator: Emulator, localTokens: ReadonlyArray<string> = []) =>
  Effect.map(
    request(`${emulator.baseUrl}ilink/bot/get_bot_qrcode?bot_type=3`, {
      method: "POST",
      headers: botHeaders(),
      body: JSON.stringify({ local_token_list: localTokens })
    }),
    (r) => JSON.parse(r.text) as { qrcode: string; qrcode_img_content: string }
  )

const status = (emulator: Emulator, qrcode: string, verifyCode?: string) =>
  Effect.map(
    request(
      `${emulator.baseUrl}ilink/bot/get_qrcode_status?qrcode=${encodeURIComponent(qrcode)}${
        verifyCode !== undefined ? `&verify_code=${encodeURIComponent(verifyCode)}` : ""
      }`,
      { headers: { "iLink-App-Id": "bot", "iLink-App-ClientVersion": "132105" } }
    ),
    (r) => JSON.parse(r.text)
  )

const setup = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 100, qrStatusHoldMs: 100 })
  const qr = yield* getQr(emulator)
  return { emulator, qr }
})

describe("emulator QR login", () => {
  it.scopedLive("walks wait → scaned → confirmed, and the confirmed bot can poll right away", () =>
    Effect.gen(function*() {
      const { emulator, qr } = yield* setup
      expect(qr.qrcode_img_content).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//)
      expect(yield* status(emulator, qr.qrcode)).toEqual({ status: "wait" })
      yield* emulator.qr.scan(qr.qrcode, { userId: "o9scanner@im.wechat" })
      expect(yield* status(emulator, qr.qrcode)).toEqual({ status: "scaned" })
      const bot = yield* emulator.qr.confirm(qr.qrcode)
      expect(bot.ownerUserId).toBe("o9scanner@im.wechat")
      const confirmed = yield* status(emulator, qr.qrcode)
      expect(confirmed).toEqual({
        status: "confirmed",
        bot_token: bot.token,
        ilink_bot_id: bot.botId,
        baseurl: emulator.baseUrl,
        ilink_user_id: "o9scanner@im.wechat"
      })
      expect(confirmed.ilink_bot_id).toMatch(/^[0-9a-f]{12}@im\.bot$/)
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "first" })
      const polled = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", confirmed.bot_token, { get_updates_buf: "" })
      expect(parseLossless(polled.text).msgs[0].from_user_id).toBe("o9scanner@im.wechat")
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scopedLive("holds a status poll until the phone side changes something", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100, qrStatusHoldMs: 10_000 })
      const qr = yield* getQr(emulator)
      const pending = yield* Effect.fork(status(emulator, qr.qrcode))
      yield* eventually(Effect.map(emulator.requests("get_qrcode_status"), (r) => (r.length === 1 ? true : undefined)))
      yield* emulator.qr.scan(qr.qrcode)
      expect(yield* Fiber.join(pending)).toEqual({ status: "scaned" })
    }))

  it.scopedLive("asks for a verify code, accepts the right one, blocks after too many wrong ones", () =>
    Effect.gen(function*() {
      const { emulator, qr } = yield* setup
      yield* emulator.qr.scan(qr.qrcode)
      yield* emulator.qr.requireVerifyCode(qr.qrcode, "4711", 2)
      expect(yield* status(emulator, qr.qrcode)).toEqual({ status: "need_verifycode" })
      expect(yield* status(emulator, qr.qrcode, "1111")).toEqual({ status: "need_verifycode" })
      expect(yield* status(emulator, qr.qrcode, "4711")).toEqual({ status: "scaned" })
      yield* emulator.qr.requireVerifyCode(qr.qrcode, "4711", 2)
      expect(yield* status(emulator, qr.qrcode, "0000")).toEqual({ status: "need_verifycode" })
      expect(yield* status(emulator, qr.qrcode, "0001")).toEqual({ status: "verify_code_blocked" })
    }))

  it.scopedLive("expires, redirects once, and reports an already-bound bot", () =>
    Effect.gen(function*() {
      const { emulator, qr } = yield* setup
      yield* emulator.qr.redirect(qr.qrcode, "idc2.example.test")
      expect(yield* status(emulator, qr.qrcode)).toEqual({ status: "scaned_but_redirect", redirect_host: "idc2.example.test" })
      expect(yield* status(emulator, qr.qrcode)).toEqual({ status: "scaned" })
      yield* emulator.qr.expire(qr.qrcode)
      expect(yield* status(emulator, qr.qrcode)).toEqual({ status: "expired" })
      // binded_redirect: the local token list holds a bot already bound to the scanning user
      const bot = yield* emulator.addBot({ ownerUserId: "o9owner@im.wechat" })
      const second = yield* getQr(emulator, [bot.token])
      yield* emulator.qr.scan(second.qrcode, { userId: "o9owner@im.wechat" })
      expect(yield* status(emulator, second.qrcode)).toEqual({ status: "binded_redirect" })
      const third = yield* getQr(emulator, [bot.token])
      yield* emulator.qr.scan(third.qrcode, { userId: "o9someone-else@im.wechat" })
      expect(yield* status(emulator, third.qrcode)).toEqual({ status: "scaned" })
      expect((yield* emulator.qr.info(second.qrcode)).localTokens).toEqual([bot.token])
    }))

  it.scopedLive("can confirm without ilink_bot_id or bot_token", () =>
    Effect.gen(function*() {
      const { emulator, qr } = yield* setup
      yield* emulator.qr.confirm(qr.qrcode, { omit: "ilink_bot_id" })
      const answer = yield* status(emulator, qr.qrcode)
      expect(answer.status).toBe("confirmed")
      expect(answer.ilink_bot_id).toBeUndefined()
      expect(typeof answer.bot_token).toBe("string")
      const other = yield* getQr(emulator)
      yield* emulator.qr.confirm(other.qrcode, { omit: "bot_token" })
      expect((yield* status(emulator, other.qrcode)).bot_token).toBeUndefined()
    }))

  it.scopedLive("confirms by itself in auto mode: first poll scans, the next confirms", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100, qrStatusHoldMs: 100, autoConfirmQr: true })
      const qr = yield* getQr(emulator)
      expect((yield* status(emulator, qr.qrcode)).status).toBe("scaned")
      const confirmed = yield* status(emulator, qr.qrcode)
      expect(confirmed.status).toBe("confirmed")
      const notify = yield* callBot(emulator.baseUrl, "ilink/bot/msg/notifystart", confirmed.bot_token, {})
      expect(JSON.parse(notify.text)).toEqual({ ret: 0 })
    }))

  it.scopedLive("records violations for QR calls with an Authorization header or extra GET headers", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100, qrStatusHoldMs: 50 })
      yield* request(`${emulator.baseUrl}ilink/bot/get_bot_qrcode?bot_type=3`, {
        method: "POST",
        headers: botHeaders("some-token"),
        body: JSON.stringify({ local_token_list: [], base_info: {} })
      })
      yield* request(`${emulator.baseUrl}ilink/bot/get_qrcode_status?qrcode=x`, { headers: botHeaders() })
      const rules = (yield* emulator.violations()).map((v) => `${v.endpoint}:${v.rule}`).sort()
      expect(rules).toEqual([
        "get_bot_qrcode:authorization",
        "get_bot_qrcode:unexpected-field",
        "get_qrcode_status:get-status-headers",
        "get_qrcode_status:get-status-headers",
        "get_qrcode_status:get-status-headers"
      ])
    }))
})
