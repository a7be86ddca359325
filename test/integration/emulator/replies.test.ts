import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { callBot, sendText } from "../../support/emulatorRawClient.js"

const setup = (options: { replyBudget?: number } = {}) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 100, ...options })
    const bot = yield* emulator.addBot()
    const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi" })
    // null sends no context_token at all
    const reply = (text: string, token: string | null | undefined = injected.contextToken, to = bot.ownerUserId) =>
      Effect.map(sendText(emulator.baseUrl, bot.token, to, text, token ?? undefined), (r) => JSON.parse(r.text.replace(/"message_id":(\d+)/, "\"message_id\":\"$1\"")))
    return { emulator, bot, injected, reply }
  })

describe("emulator sendmessage rules (context token, window, budget)", () => {
  it.scopedLive("refuses a reply without a context token with ret −2 and an empty errmsg", () =>
    Effect.gen(function*() {
      const { emulator, bot, reply } = yield* setup()
      expect(yield* reply("x", null)).toEqual({ ret: -2, errmsg: "" })
      expect(yield* emulator.sent(bot.botId)).toMatchObject([{ outcome: "no_context_token" }])
    }))

  it.scopedLive("refuses a context token the server never issued, or issued to another user", () =>
    Effect.gen(function*() {
      const { emulator, bot, reply } = yield* setup()
      const other = yield* emulator.addUser("o9other@im.wechat")
      const theirs = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "me too", fromUserId: other })
      expect(yield* reply("x", "ctx-made-up")).toEqual({ ret: -2, errmsg: "" })
      expect(yield* reply("x", theirs.contextToken)).toEqual({ ret: -2, errmsg: "" })
      expect((yield* emulator.sent(bot.botId)).map((s) => s.outcome)).toEqual(["unknown_context_token", "unknown_context_token"])
    }))

  it.scopedLive("refuses a stale token after the bot logs in again", () =>
    Effect.gen(function*() {
      const { emulator, bot, injected } = yield* setup()
      const relogged = yield* emulator.addBot({ botId: bot.botId })
      expect(relogged.token).not.toBe(bot.token)
      const response = yield* sendText(emulator.baseUrl, relogged.token, bot.ownerUserId, "x", injected.contextToken)
      expect(JSON.parse(response.text)).toEqual({ ret: -2, errmsg: "" })
      expect((yield* emulator.sent(bot.botId)).map((s) => s.outcome)).toEqual(["stale_context_token"])
    }))

  it.scopedLive("answers −3 invalid arguments for an unknown, prefixed or differently cased to_user_id", () =>
    Effect.gen(function*() {
      const { bot, reply } = yield* setup()
      for (const to of ["nobody@im.wechat", `user:${bot.ownerUserId}`, bot.ownerUserId.toUpperCase()]) {
        expect(yield* reply("x", null, to)).toEqual({ ret: -3, errmsg: "invalid arguments" })
      }
    }))

  it.scopedLive("answers prepare failed for text over 5000 characters", () =>
    Effect.gen(function*() {
      const { reply } = yield* setup()
      expect(yield* reply("x".repeat(5001))).toEqual({ ret: -2, errmsg: "prepare failed" })
      expect((yield* reply("x".repeat(5000))).ret).toBe(0)
    }))

  it.scopedLive("allows replyBudget replies per inbound message, and refills on the next one", () =>
    Effect.gen(function*() {
      const { emulator, bot, reply } = yield* setup({ replyBudget: 3 })
      for (let i = 0; i < 3; i++) expect((yield* reply(`r${i}`)).ret).toBe(0)
      expect(yield* reply("one too many")).toEqual({ ret: -2, errmsg: "" })
      const again = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "more" })
      expect((yield* reply("fresh", again.contextToken)).ret).toBe(0)
      expect((yield* emulator.sent(bot.botId)).map((s) => s.outcome)).toEqual([
        "delivered",
        "delivered",
        "delivered",
        "budget_spent",
        "delivered"
      ])
    }))

  it.scopedLive("closes the reply window 24 h after the user's last message (emulator clock)", () =>
    Effect.gen(function*() {
      const { emulator, reply } = yield* setup()
      yield* emulator.advanceClock(24 * 60 * 60 * 1000 - 60_000)
      expect((yield* reply("still in time")).ret).toBe(0)
      yield* emulator.advanceClock(120_000)
      expect(yield* reply("too late")).toEqual({ ret: -2, errmsg: "reply window closed" })
    }))

  it.scopedLive("returns a uint64 message_id above 2^53 as a bare number in the raw text", () =>
    Effect.gen(function*() {
      const { emulator, bot, injected } = yield* setup()
      const response = yield* sendText(emulator.baseUrl, bot.token, bot.ownerUserId, "x", injected.contextToken)
      const id = /"message_id":(\d+)/.exec(response.text)?.[1] ?? ""
      expect(BigInt(id) > 2n ** 53n).toBe(true)
      expect((yield* emulator.sent(bot.botId))[0]?.messageId).toBe(id)
    }))

  it.scopedLive("gives a typing ticket only after the user's first message and records typing start and cancel", () =>
    Effect.gen(function*() {
      const { emulator, bot } = yield* setup()
      const stranger = yield* emulator.addUser("o9stranger@im.wechat")
      const none = yield* callBot(emulator.baseUrl, "ilink/bot/getconfig", bot.token, { ilink_user_id: stranger })
      expect(JSON.parse(none.text).ret).toBe(-4)
      const config = JSON.parse((yield* callBot(emulator.baseUrl, "ilink/bot/getconfig", bot.token, { ilink_user_id: bot.ownerUserId })).text)
      expect(config.ret).toBe(0)
      expect(Buffer.from(config.typing_ticket, "base64").length).toBeGreaterThan(0)
      for (const status of [1, 2]) {
        const r = yield* callBot(emulator.baseUrl, "ilink/bot/sendtyping", bot.token, {
          ilink_user_id: bot.ownerUserId,
          typing_ticket: config.typing_ticket,
          status
        })
        expect(r.status).toBe(200)
      }
      expect((yield* emulator.typingEvents(bot.botId)).map((t) => [t.userId, t.status])).toEqual([
        [bot.ownerUserId, "typing"],
        [bot.ownerUserId, "cancel"]
      ])
      expect(yield* emulator.violations()).toEqual([])
      yield* callBot(emulator.baseUrl, "ilink/bot/sendtyping", bot.token, { ilink_user_id: bot.ownerUserId, typing_ticket: "bogus", status: 1 })
      expect((yield* emulator.violations()).map((v) => v.rule)).toEqual(["typing_ticket"])
    }))

  it.scopedLive("records a sendmessage that violates the message shape and still answers it", () =>
    Effect.gen(function*() {
      const { emulator, bot, injected } = yield* setup()
      const response = yield* callBot(emulator.baseUrl, "ilink/bot/sendmessage", bot.token, {
        msg: {
          from_user_id: bot.botId,
          to_user_id: bot.ownerUserId,
          message_type: 1,
          message_state: 0,
          context_token: injected.contextToken,
          item_list: [{ type: 1, text_item: { text: "a" } }, { type: 42 }]
        }
      })
      expect(JSON.parse(response.text.replace(/:(\d{16,})/, ":0")).ret).toBe(0)
      const rules = (yield* emulator.violations()).map((v) => v.rule).sort()
      expect(rules).toEqual(["item_list", "item_list", "msg.client_id", "msg.from_user_id", "msg.message_state", "msg.message_type"])
    }))
})
