import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { type Emulator, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { attempt, botHeaders, baseInfo, callBot, eventually, parseLossless, sendText } from "../../support/emulatorRawClient.js"

const notify = (emulator: Emulator, token: string) => callBot(emulator.baseUrl, "ilink/bot/msg/notifystart", token, {})

const setup = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 100 })
  const bot = yield* emulator.addBot()
  return { emulator, bot }
})

describe("emulator fault plans", () => {
  it.scopedLive("answers an HTTP status with the given body, for the planned number of requests only", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "notifystart", fault: { kind: "http", status: 503, body: "busy" }, times: 2 })
      const first = yield* notify(emulator, bot.token)
      const second = yield* notify(emulator, bot.token)
      const third = yield* notify(emulator, bot.token)
      expect([first.status, first.text]).toEqual([503, "busy"])
      expect(second.status).toBe(503)
      expect([third.status, JSON.parse(third.text)]).toEqual([200, { ret: 0 }])
    }))

  it.scopedLive("can carry an x-error-message header on an HTTP status fault (CDN style)", () =>
    Effect.gen(function*() {
      const { emulator } = yield* setup
      yield* emulator.setFault({ endpoint: "cdn_download", fault: { kind: "http", status: 413, errorMessageHeader: "too large" }, times: 1 })
      const response = yield* attempt(`${emulator.cdnBaseUrl}/download?encrypted_query_param=x`)
      expect("status" in response && [response.status, response.headers.get("x-error-message")]).toEqual([413, "too large"])
    }))

  it.scopedLive("applies a plan with botId only to that bot's requests", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      const other = yield* emulator.addBot()
      yield* emulator.setFault({ endpoint: "notifystart", fault: { kind: "http", status: 500 }, times: 1, botId: bot.botId })
      expect((yield* notify(emulator, other.token)).status).toBe(200)
      expect((yield* notify(emulator, bot.token)).status).toBe(500)
      expect((yield* notify(emulator, bot.token)).status).toBe(200)
    }))

  it.scopedLive("keeps a plan without times until it is cleared", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "notifystart", fault: { kind: "ret", ret: -1, errmsg: "system error" } })
      for (let i = 0; i < 3; i++) expect(JSON.parse((yield* notify(emulator, bot.token)).text)).toEqual({ ret: -1, errmsg: "system error" })
      yield* emulator.clearFaults("notifystart")
      expect(JSON.parse((yield* notify(emulator, bot.token)).text)).toEqual({ ret: 0 })
    }))

  it.scopedLive("answers errcode values on getupdates", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "ret", errcode: -1, errmsg: "busy" }, times: 1 })
      const response = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect(JSON.parse(response.text)).toEqual({ errcode: -1, errmsg: "busy" })
    }))

  it.scopedLive("delays the answer by the planned time, then answers normally", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "notifystart", fault: { kind: "delay", ms: 250 }, times: 1 })
      const started = yield* Clock.currentTimeMillis
      const response = yield* notify(emulator, bot.token)
      expect((yield* Clock.currentTimeMillis) - started).toBeGreaterThanOrEqual(240)
      expect(JSON.parse(response.text)).toEqual({ ret: 0 })
    }))

  it.scopedLive("hangs until the client gives up", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "getconfig", fault: { kind: "hang" }, times: 1 })
      const controller = new AbortController()
      const pending = yield* Effect.fork(
        attempt(`${emulator.baseUrl}ilink/bot/getconfig`, {
          method: "POST",
          headers: botHeaders(bot.token),
          body: JSON.stringify({ ilink_user_id: bot.ownerUserId, base_info: baseInfo }),
          signal: controller.signal
        })
      )
      yield* eventually(Effect.map(emulator.requests("getconfig"), (r) => (r.length === 1 ? true : undefined)))
      // a later request is answered while the hanging one still has no answer
      expect(JSON.parse((yield* notify(emulator, bot.token)).text)).toEqual({ ret: 0 })
      expect(pending.unsafePoll()).toBeNull()
      controller.abort()
      const outcome = yield* Fiber.join(pending)
      expect("failed" in outcome).toBe(true)
    }))

  it.scopedLive("resets the connection after reading the request", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "notifystop", fault: { kind: "reset" }, times: 1 })
      const outcome = yield* attempt(`${emulator.baseUrl}ilink/bot/msg/notifystop`, {
        method: "POST",
        headers: botHeaders(bot.token),
        body: JSON.stringify({ base_info: baseInfo })
      })
      expect(outcome).toHaveProperty("failed")
      expect((yield* emulator.requests("notifystop")).length).toBe(1)
    }))

  it.scopedLive("serves malformed JSON, truncated JSON, an HTML page and a huge body with status 200", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "x" })
      const poll = () => callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "malformed_json" }, times: 1 })
      const malformed = yield* poll()
      expect(malformed.status).toBe(200)
      expect(() => JSON.parse(malformed.text)).toThrow()
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "truncated_json" }, times: 1 })
      const truncated = yield* poll()
      expect(truncated.text.startsWith("{\"ret\":0,\"msgs\":[")).toBe(true)
      expect(() => JSON.parse(truncated.text)).toThrow()
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "html_error" }, times: 1 })
      const html = yield* poll()
      expect([html.status, html.headers.get("content-type")]).toEqual([200, "text/html"])
      expect(html.text).toContain("<html>")
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "huge_body", bytes: 3_000_000 }, times: 1 })
      const huge = yield* poll()
      expect(huge.bytes.length).toBeGreaterThanOrEqual(2_999_000)
      // after the faults the message is still there
      expect(parseLossless((yield* poll()).text).msgs).toHaveLength(1)
    }))

  it.scopedLive("answers with wrong field types on a wrong_shape fault", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "wrong_shape" }, times: 1 })
      const body = JSON.parse((yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })).text)
      expect(typeof body.ret).toBe("string")
      expect(typeof body.msgs).toBe("string")
      expect(typeof body.get_updates_buf).toBe("number")
    }))

  it.scopedLive("answers −14 in ret or errcode on a session_expired fault", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "session_expired" }, times: 1 })
      yield* emulator.setFault({ endpoint: "getupdates", fault: { kind: "session_expired", via: "errcode" }, times: 1 })
      const poll = () => callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect(JSON.parse((yield* poll()).text)).toMatchObject({ ret: -14 })
      expect(JSON.parse((yield* poll()).text)).toMatchObject({ errcode: -14 })
      expect(JSON.parse((yield* poll()).text)).toMatchObject({ ret: 0 })
    }))

  it.scopedLive("accepts a sendmessage without message_id, and rate-limits on request", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi" })
      yield* emulator.setFault({ endpoint: "sendmessage", fault: { kind: "no_message_id" }, times: 1 })
      yield* emulator.setFault({ endpoint: "sendmessage", fault: { kind: "rate_limited" }, times: 1 })
      const first = yield* sendText(emulator.baseUrl, bot.token, bot.ownerUserId, "a", injected.contextToken)
      const second = yield* sendText(emulator.baseUrl, bot.token, bot.ownerUserId, "b", injected.contextToken)
      expect(JSON.parse(first.text)).toEqual({ ret: 0 })
      expect(JSON.parse(second.text)).toEqual({ ret: -2, errmsg: "rate limited" })
      expect((yield* emulator.sent(bot.botId)).map((s) => s.outcome)).toEqual(["accepted_without_message_id", "rate_limited"])
    }))

  it.scopedLive("records a sendmessage that hit a replacing fault with outcome fault", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi" })
      yield* emulator.setFault({ endpoint: "sendmessage", fault: { kind: "http", status: 500 }, times: 1 })
      const response = yield* sendText(emulator.baseUrl, bot.token, bot.ownerUserId, "a", injected.contextToken)
      expect(response.status).toBe(500)
      expect(yield* emulator.sent(bot.botId)).toMatchObject([{ outcome: "fault", toUserId: bot.ownerUserId }])
    }))

  it.scopedLive("refuses a fault plan with a non-positive times", () =>
    Effect.gen(function*() {
      const { emulator } = yield* setup
      const error = yield* Effect.flip(emulator.setFault({ endpoint: "getupdates", fault: { kind: "hang" }, times: 0 }))
      expect(error._tag).toBe("EmulatorControlError")
    }))
})
