import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { callBot, eventually, parseLossless, request, sendText } from "../../support/emulatorRawClient.js"

describe("emulator core: bots, inbound, getupdates, sendmessage", () => {
  it.scopedLive("delivers an injected text message through getupdates with a bare 64-bit id and opaque cursor", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 300 })
      const bot = yield* emulator.addBot()
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi", messageId: "7311234567890123456" })
      const response = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect(response.status).toBe(200)
      expect(response.text).toContain("\"message_id\":7311234567890123456")
      const body = parseLossless(response.text)
      expect(body.ret).toBe(0)
      expect(body.msgs).toHaveLength(1)
      expect(body.msgs[0].message_id).toBe("7311234567890123456")
      expect(body.msgs[0].from_user_id).toBe(bot.ownerUserId)
      expect(body.msgs[0].to_user_id).toBe(bot.botId)
      expect(body.msgs[0].context_token).toBe(injected.contextToken)
      expect(body.msgs[0].item_list[0].text_item.text).toBe("hi")
      expect(typeof body.get_updates_buf).toBe("string")
      expect(body.get_updates_buf).not.toBe("")
      // the next poll with the new cursor holds, then answers empty with the same position
      const next = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: body.get_updates_buf })
      const nextBody = parseLossless(next.text)
      expect(nextBody.msgs).toEqual([])
      expect(nextBody.get_updates_buf).toBe(body.get_updates_buf)
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scopedLive("holds an idle getupdates until a message is injected", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 10_000 })
      const bot = yield* emulator.addBot()
      const poll = yield* Effect.fork(callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" }))
      yield* eventually(Effect.map(emulator.requests("getupdates"), (r) => (r.length === 1 ? true : undefined)))
      expect(poll.unsafePoll()).toBeNull()
      yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "wake up" })
      const response = yield* Fiber.join(poll)
      expect(parseLossless(response.text).msgs[0].item_list[0].text_item.text).toBe("wake up")
    }))

  it.scopedLive("answers an idle getupdates empty after longPollMs, with longpolling_timeout_ms when configured", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 200, longPollingTimeoutMs: 1234 })
      const bot = yield* emulator.addBot()
      const started = yield* Clock.currentTimeMillis
      const response = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect((yield* Clock.currentTimeMillis) - started).toBeGreaterThanOrEqual(150)
      expect(JSON.parse(response.text)).toMatchObject({ ret: 0, msgs: [], longpolling_timeout_ms: 1234 })
    }))

  it.scopedLive("keeps bots apart: a cursor or message of one bot never reaches another", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const a = yield* emulator.addBot()
      const b = yield* emulator.addBot()
      yield* emulator.injectInbound({ botId: a.botId, kind: "text", text: "for a" })
      const fromA = parseLossless((yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", a.token, { get_updates_buf: "" })).text)
      const fromB = parseLossless(
        (yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", b.token, { get_updates_buf: fromA.get_updates_buf })).text
      )
      expect(fromA.msgs).toHaveLength(1)
      expect(fromB.msgs).toEqual([])
      const violations = yield* emulator.violations()
      expect(violations.map((v) => v.rule)).toEqual(["get_updates_buf"])
    }))

  it.scopedLive("accepts a reply with the issued context token and records what was sent", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hello" })
      const response = yield* sendText(emulator.baseUrl, bot.token, bot.ownerUserId, "hi back", injected.contextToken, "openclaw-weixin:1-0000abcd")
      expect(response.text).toMatch(/^\{"ret":0,"message_id":\d{19}\}$/)
      const sent = yield* emulator.sent(bot.botId)
      expect(sent).toHaveLength(1)
      expect(sent[0]).toMatchObject({
        outcome: "delivered",
        toUserId: bot.ownerUserId,
        clientId: "openclaw-weixin:1-0000abcd",
        contextToken: injected.contextToken,
        ret: 0
      })
      expect(response.text).toContain(`"message_id":${sent[0]?.messageId}`)
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scopedLive("logs every request with method, path, headers and raw body", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 50 })
      const bot = yield* emulator.addBot()
      yield* callBot(emulator.baseUrl, "ilink/bot/msg/notifystart", bot.token, {})
      const [logged] = yield* emulator.requests()
      expect(logged).toMatchObject({ method: "POST", path: "/ilink/bot/msg/notifystart", endpoint: "notifystart" })
      expect(logged?.headers["authorization"]).toBe(`Bearer ${bot.token}`)
      expect(JSON.parse(logged?.body ?? "")).toEqual({ base_info: { channel_version: "2.4.9", bot_agent: "OpenClaw" } })
      expect(yield* emulator.notifications(bot.botId)).toMatchObject([{ kind: "start", botId: bot.botId }])
    }))

  it.scopedLive("records violations for a request with bad headers and body, and answers it anyway", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 50 })
      const bot = yield* emulator.addBot()
      const response = yield* request(`${emulator.baseUrl}ilink/bot/getupdates`, {
        method: "POST",
        headers: { "Content-Type": "text/plain", Authorization: `Bearer ${bot.token}`, "X-WECHAT-UIN": "12345" },
        body: JSON.stringify({ get_updates_buf: 5 })
      })
      expect(JSON.parse(response.text)).toEqual({ ret: -14, errmsg: "session timeout" })
      const rules = (yield* emulator.violations()).map((v) => v.rule).sort()
      expect(rules).toEqual(
        ["authorizationtype", "base_info", "content-type", "get_updates_buf", "ilink-app-clientversion", "ilink-app-id", "x-wechat-uin"].sort()
      )
      yield* emulator.clearViolations
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scoped("keeps serving on real time when the test runs under TestClock", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      // the idle poll ends by the server's own (live) timer although nobody adjusts the TestClock
      const response = yield* callBot(emulator.baseUrl, "ilink/bot/getupdates", bot.token, { get_updates_buf: "" })
      expect(JSON.parse(response.text)).toMatchObject({ ret: 0, msgs: [] })
      yield* emulator.expectNoViolations
    }))
})
