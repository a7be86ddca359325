/**
 * Shared set-up for the ILinkApi-against-emulator tests: one emulator with a bot and a user, the real
 * node:http client with short timeouts, a call of each endpoint that the emulator accepts, and a runner
 * that fails the test when the emulator recorded any protocol violation.
 */
import { expect } from "@effect/vitest"
import { Duration, Effect, Either, Redacted } from "effect"
import { type Emulator, type Fault, makeEmulator } from "../../sandbox/emulator/Emulator.js"
import { type EndpointName as EmulatorEndpoint, endpointNames } from "../../sandbox/emulator/Records.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../src/ilink/ILinkConnection.js"
import { ILinkTimeouts } from "../../src/ilink/ILinkSettings.js"
import type { ILinkError } from "../../src/wire/ILinkError.js"

/** The iLink endpoints the client calls (the emulator also serves the CDN, which ILinkApi does not). */
export type EndpointName = Exclude<EmulatorEndpoint, "cdn_upload" | "cdn_download">

// well above the emulator's 300 ms long-poll hold and its 200 ms delay faults, short enough for hang tests
export const shortTimeouts = {
  getUpdates: Duration.millis(800),
  send: Duration.millis(800),
  control: Duration.millis(800),
  qrStatus: Duration.millis(800),
  qrCode: Duration.millis(800)
}

export interface World {
  readonly emulator: Emulator
  readonly api: ILinkApi
  readonly conn: ILinkConnection
  readonly botId: string
  readonly userId: string
}

/** An emulator with one bot and one user, the real API client and a connection holding the bot token. */
export const world = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 300 })
  const bot = yield* emulator.addBot()
  const userId = yield* emulator.addUser()
  const api = yield* ILinkApi
  const conn = yield* ILinkConnection.make({
    baseUrl: emulator.baseUrl,
    token: Redacted.make(bot.token),
    accountId: bot.botId
  })
  return { emulator, api, conn, botId: bot.botId, userId } satisfies World
})

export const run = <A, E>(body: (w: World) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const w = yield* world
    const result = yield* body(w)
    expect(yield* w.emulator.violations()).toEqual([])
    return result
  }).pipe(Effect.scoped, Effect.provideService(ILinkTimeouts, shortTimeouts), Effect.provide(ILinkApi.Default))

/** A fresh context token from the user, as a reply would carry (the emulator refuses replies without one). */
const freshContextToken = (w: World) =>
  Effect.map(
    w.emulator.injectInbound({ botId: w.botId, fromUserId: w.userId, kind: "text", text: "hi" }),
    (injected) => injected.contextToken === undefined ? {} : { context_token: injected.contextToken }
  ).pipe(Effect.orDie)

/** A call of each endpoint that the emulator accepts when no fault is planned. */
export const callOf = (w: World, endpoint: EndpointName): Effect.Effect<unknown, ILinkError> => {
  switch (endpoint) {
    case "getupdates":
      return w.api.getUpdates(w.conn, { get_updates_buf: "" })
    case "sendmessage":
      return Effect.flatMap(freshContextToken(w), (context) =>
        w.api.sendMessage(w.conn, {
          msg: {
            from_user_id: "",
            to_user_id: w.userId,
            client_id: "openclaw-weixin:1-00000000",
            message_type: 2,
            message_state: 2,
            item_list: [{ type: 1, text_item: { text: "hello" } }],
            ...context
          }
        }))
    case "sendtyping":
      // a ticket the emulator issued for this user; getconfig itself carries no fault here
      return Effect.flatMap(freshContextToken(w), (context) =>
        Effect.flatMap(w.api.getConfig(w.conn, { ilink_user_id: w.userId, ...context }), (config) =>
          w.api.sendTyping(w.conn, { ilink_user_id: w.userId, typing_ticket: config.typing_ticket ?? "", status: 1 })))
    case "getconfig":
      return Effect.flatMap(freshContextToken(w), (context) => w.api.getConfig(w.conn, { ilink_user_id: w.userId, ...context }))
    case "getuploadurl":
      return w.api.getUploadUrl(w.conn, {
        filekey: "00112233445566778899aabbccddeeff",
        media_type: 1,
        to_user_id: w.userId,
        rawsize: 5,
        rawfilemd5: "5d41402abc4b2a76b9719d911017c592",
        filesize: 16,
        no_need_thumb: true,
        aeskey: "000102030405060708090a0b0c0d0e0f"
      })
    case "notifystart":
      return w.api.notifyStart(w.conn)
    case "notifystop":
      return w.api.notifyStop(w.conn)
    case "get_bot_qrcode":
      return w.api.getBotQrCode(w.emulator.baseUrl, { local_token_list: [] })
    case "get_qrcode_status":
      return Effect.flatMap(
        w.api.getBotQrCode(w.emulator.baseUrl, { local_token_list: [] }),
        (qr) => w.api.getQrCodeStatus(w.emulator.baseUrl, { qrcode: qr.qrcode })
      )
  }
}

export const allEndpoints: ReadonlyArray<EndpointName> = endpointNames.filter(
  (e): e is EndpointName => e !== "cdn_upload" && e !== "cdn_download"
)

export const failureWith = (w: World, endpoint: EndpointName, fault: Fault) =>
  Effect.gen(function*() {
    yield* w.emulator.setFault({ endpoint, fault, times: 1 })
    return yield* Effect.either(callOf(w, endpoint))
  })

export const expectLeft = <A>(result: Either.Either<A, ILinkError>): ILinkError => {
  if (Either.isRight(result)) throw new Error(`expected a failure, got ${JSON.stringify(result.right)}`)
  return result.left
}

