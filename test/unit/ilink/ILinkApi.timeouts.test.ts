import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Exit, Fiber, Option, TestClock } from "effect"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { ILinkTimeoutError } from "../../../src/wire/ILinkError.js"
import { neverAnswering, uploadRequest } from "../../support/ILinkApiTestkit.js"

const conn = Either.getOrThrow(ILinkConnection.make({ baseUrl: "https://ilink.example.test", accountId: "acc-1" }))

/** Forks `effect`, advances virtual time in steps and reports when (if ever) it finished. */
const finishesAfter = <A, E>(effect: Effect.Effect<A, E>, justBefore: Duration.DurationInput) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(justBefore)
    const early = yield* Fiber.poll(fiber)
    yield* TestClock.adjust("1 millis")
    const late = yield* Fiber.poll(fiber)
    return { early, late }
  })

describe("ILinkApi client-side timeouts (virtual time)", () => {
  it.effect("getupdates: after 35 s without an answer returns an empty poll with the cursor it sent", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const { early, late } = yield* finishesAfter(api.getUpdates(conn, { get_updates_buf: "cursor-7" }), "34999 millis")
      expect(Option.isNone(early)).toBe(true)
      expect(late).toEqual(Option.some(Exit.succeed({ ret: 0, msgs: [], get_updates_buf: "cursor-7" })))
      expect(http.started()).toBe(1)
    }).pipe(Effect.provide(http.layer))
  })

  it.effect("getupdates honours the caller's timeoutMs (the server's longpolling_timeout_ms)", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const { early, late } = yield* finishesAfter(
        api.getUpdates(conn, { get_updates_buf: "", timeoutMs: 50_000 }),
        "49999 millis"
      )
      expect(Option.isNone(early)).toBe(true)
      expect(late).toEqual(Option.some(Exit.succeed({ ret: 0, msgs: [], get_updates_buf: "" })))
    }).pipe(Effect.provide(http.layer))
  })

  it.effect("getupdates ignores a non-positive timeoutMs and uses the 35 s default", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const { early, late } = yield* finishesAfter(api.getUpdates(conn, { get_updates_buf: "", timeoutMs: 0 }), "34999 millis")
      expect(Option.isNone(early)).toBe(true)
      expect(Option.isSome(late)).toBe(true)
    }).pipe(Effect.provide(http.layer))
  })

  const expectTimeout = (exit: Option.Option<Exit.Exit<unknown, unknown>>, endpoint: string, timeoutMs: number) => {
    expect(exit).toEqual(Option.some(Exit.fail(
      new ILinkTimeoutError({ endpoint, accountId: "acc-1", reachedServer: "maybe", timeoutMs })
    )))
  }

  it.effect("sendmessage fails with ILinkTimeoutError after 15 s", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const { early, late } = yield* finishesAfter(api.sendMessage(conn, { msg: { to_user_id: "u@im.wechat" } }), "14999 millis")
      expect(Option.isNone(early)).toBe(true)
      expectTimeout(late, "ilink/bot/sendmessage", 15_000)
    }).pipe(Effect.provide(http.layer))
  })

  it.effect("getuploadurl fails with ILinkTimeoutError after 15 s", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const { early, late } = yield* finishesAfter(
        api.getUploadUrl(conn, uploadRequest),
        "14999 millis"
      )
      expect(Option.isNone(early)).toBe(true)
      expectTimeout(late, "ilink/bot/getuploadurl", 15_000)
    }).pipe(Effect.provide(http.layer))
  })

  it.effect("getconfig, sendtyping, notifystart and notifystop fail with ILinkTimeoutError after 10 s", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const calls: Array<[string, Effect.Effect<unknown, unknown>]> = [
        ["ilink/bot/getconfig", api.getConfig(conn, { ilink_user_id: "u" })],
        ["ilink/bot/sendtyping", api.sendTyping(conn, { ilink_user_id: "u", typing_ticket: "t", status: 2 })],
        ["ilink/bot/msg/notifystart", api.notifyStart(conn)],
        ["ilink/bot/msg/notifystop", api.notifyStop(conn)]
      ]
      for (const [endpoint, call] of calls) {
        const { early, late } = yield* finishesAfter(call, "9999 millis")
        expect(Option.isNone(early)).toBe(true)
        expectTimeout(late, endpoint, 10_000)
      }
    }).pipe(Effect.provide(http.layer))
  })

  it.effect("get_qrcode_status fails with ILinkTimeoutError after 35 s (the login flow reads it as wait)", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const { early, late } = yield* finishesAfter(
        api.getQrCodeStatus("https://ilink.example.test", { qrcode: "q" }),
        "34999 millis"
      )
      expect(Option.isNone(early)).toBe(true)
      expect(late).toEqual(Option.some(Exit.fail(
        new ILinkTimeoutError({ endpoint: "ilink/bot/get_qrcode_status", reachedServer: "maybe", timeoutMs: 35_000 })
      )))
    }).pipe(Effect.provide(http.layer))
  })

  it.effect("get_bot_qrcode gives up after 60 s instead of waiting forever", () => {
    const http = neverAnswering()
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const { early, late } = yield* finishesAfter(
        api.getBotQrCode("https://ilink.example.test", { local_token_list: [] }),
        "59999 millis"
      )
      expect(Option.isNone(early)).toBe(true)
      expect(late).toEqual(Option.some(Exit.fail(
        new ILinkTimeoutError({ endpoint: "ilink/bot/get_bot_qrcode", reachedServer: "maybe", timeoutMs: 60_000 })
      )))
    }).pipe(Effect.provide(http.layer))
  })
})
