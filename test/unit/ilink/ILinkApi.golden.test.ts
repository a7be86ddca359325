import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Random, Redacted } from "effect"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { ILinkSettings } from "../../../src/ilink/ILinkSettings.js"
import { answering, pinned, recordingClient } from "../../support/ILinkApiTestkit.js"

const BASE_INFO = `"base_info":{"channel_version":"2.4.9","bot_agent":"OpenClaw"}`

const connection = (token?: string) =>
  Either.getOrThrow(
    ILinkConnection.make({
      baseUrl: "https://ilink.example.test",
      ...(token === undefined ? {} : { token: Redacted.make(token) }),
      accountId: "b0f5860fdecb-im-bot"
    })
  )

/** The POST header set of PROTOCOL §1.3 as the HTTP layer sees it (names are case-insensitive, stored lowercase). */
const postHeaders = (body: string, extra: Record<string, string> = {}) => ({
  "authorizationtype": "ilink_bot_token",
  "x-wechat-uin": "MTIzNDU=",
  "ilink-app-id": "bot",
  "ilink-app-clientversion": "132105",
  "content-type": "application/json",
  // computed by the HTTP layer from the body, never set by the client code
  "content-length": String(Buffer.byteLength(body)),
  ...extra
})

describe("ILinkApi golden requests (version 2.4.9, X-WECHAT-UIN pinned to 12345)", () => {
  it.effect("getupdates: POST with bearer token, cursor and base_info", () => {
    const http = answering(`{"ret":0,"msgs":[],"get_updates_buf":"next"}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const response = yield* api.getUpdates(connection("  tok-123  "), { get_updates_buf: "cur-1" })
      expect(response.get_updates_buf).toBe("next")
      const body = `{"get_updates_buf":"cur-1",${BASE_INFO}}`
      expect(http.requests).toEqual([{
        method: "POST",
        url: "https://ilink.example.test/ilink/bot/getupdates",
        headers: postHeaders(body, { authorization: "Bearer tok-123" }),
        body
      }])
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("getupdates without a token (or with a blank one) sends no Authorization header", () => {
    const http = answering(`{"ret":0}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      yield* api.getUpdates(connection(), { get_updates_buf: "" })
      yield* api.getUpdates(connection("   "), { get_updates_buf: "" })
      const body = `{"get_updates_buf":"",${BASE_INFO}}`
      expect(http.requests.map((r) => r.headers)).toEqual([postHeaders(body), postHeaders(body)])
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("sends SKRouteTag only when configured: numbers as decimal, strings trimmed, blank omitted", () => {
    const http = answering(`{"ret":0}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const notify = api.notifyStart(connection("t"))
      yield* notify.pipe(Effect.provideService(ILinkSettings, { routeTag: 42 }))
      yield* notify.pipe(Effect.provideService(ILinkSettings, { routeTag: "  edge-7 " }))
      yield* notify.pipe(Effect.provideService(ILinkSettings, { routeTag: "   " }))
      yield* notify
      expect(http.requests.map((r) => r.headers["skroutetag"])).toEqual(["42", "edge-7", undefined, undefined])
      expect(http.requests.every((r) => r.body === `{${BASE_INFO}}`)).toBe(true)
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("msg/notifystart and msg/notifystop: POST with bearer token and only base_info", () => {
    const http = answering(`{"ret":0}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      yield* api.notifyStart(connection("tok-1"))
      yield* api.notifyStop(connection("tok-1"))
      const body = `{${BASE_INFO}}`
      expect(http.requests).toEqual(["notifystart", "notifystop"].map((name) => ({
        method: "POST",
        url: `https://ilink.example.test/ilink/bot/msg/${name}`,
        headers: postHeaders(body, { authorization: "Bearer tok-1" }),
        body
      })))
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("sanitises the configured botAgent into base_info.bot_agent", () => {
    const http = answering(`{"ret":0}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      yield* api.notifyStop(connection("t")).pipe(
        Effect.provideService(ILinkSettings, { botAgent: "My Bot ValidApp/1.0 (x)" })
      )
      expect(http.requests[0]?.body).toBe(`{"base_info":{"channel_version":"2.4.9","bot_agent":"ValidApp/1.0 (x)"}}`)
      expect(http.requests[0]?.url).toBe("https://ilink.example.test/ilink/bot/msg/notifystop")
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("sendmessage: the official payload shape, absent fields omitted", () => {
    const http = answering(`{"ret":0,"message_id":7311234567890123456}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const response = yield* api.sendMessage(connection("tok"), {
        msg: {
          from_user_id: "",
          to_user_id: "o9cq8xxxx@im.wechat",
          client_id: "openclaw-weixin:1700000000000-deadbeef",
          message_type: 2,
          message_state: 2,
          item_list: [{ type: 1, text_item: { text: "Hello" } }],
          context_token: "ctx-1"
        }
      })
      expect(response.message_id).toBe("7311234567890123456")
      const body = `{"msg":{"from_user_id":"","to_user_id":"o9cq8xxxx@im.wechat",` +
        `"client_id":"openclaw-weixin:1700000000000-deadbeef","message_type":2,"message_state":2,` +
        `"item_list":[{"type":1,"text_item":{"text":"Hello"}}],"context_token":"ctx-1"},${BASE_INFO}}`
      expect(http.requests).toEqual([{
        method: "POST",
        url: "https://ilink.example.test/ilink/bot/sendmessage",
        headers: postHeaders(body, { authorization: "Bearer tok" }),
        body
      }])
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("sendtyping, getconfig, getuploadurl: exact bodies with base_info", () => {
    const http = recordingClient((request) => ({
      body: request.url.endsWith("getuploadurl") ? `{"upload_param":"p"}` : `{"ret":0,"typing_ticket":"dGs="}`
    }))
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const conn = connection("tok")
      yield* api.sendTyping(conn, { ilink_user_id: "u@im.wechat", typing_ticket: "dGs=", status: 1 })
      const config = yield* api.getConfig(conn, { ilink_user_id: "u@im.wechat", context_token: "ctx" })
      yield* api.getConfig(conn, { ilink_user_id: "u@im.wechat" })
      const upload = yield* api.getUploadUrl(conn, {
        filekey: "00112233445566778899aabbccddeeff",
        media_type: 1,
        to_user_id: "u@im.wechat",
        rawsize: 100,
        rawfilemd5: "d41d8cd98f00b204e9800998ecf8427e",
        filesize: 112,
        no_need_thumb: true,
        aeskey: "000102030405060708090a0b0c0d0e0f"
      })
      expect(config.typing_ticket).toBe("dGs=")
      expect(upload.upload_param).toBe("p")
      expect(http.requests.map((r) => [r.url, r.body])).toEqual([
        [
          "https://ilink.example.test/ilink/bot/sendtyping",
          `{"ilink_user_id":"u@im.wechat","typing_ticket":"dGs=","status":1,${BASE_INFO}}`
        ],
        [
          "https://ilink.example.test/ilink/bot/getconfig",
          `{"ilink_user_id":"u@im.wechat","context_token":"ctx",${BASE_INFO}}`
        ],
        ["https://ilink.example.test/ilink/bot/getconfig", `{"ilink_user_id":"u@im.wechat",${BASE_INFO}}`],
        [
          "https://ilink.example.test/ilink/bot/getuploadurl",
          `{"filekey":"00112233445566778899aabbccddeeff","media_type":1,"to_user_id":"u@im.wechat","rawsize":100,` +
          `"rawfilemd5":"d41d8cd98f00b204e9800998ecf8427e","filesize":112,"no_need_thumb":true,` +
          `"aeskey":"000102030405060708090a0b0c0d0e0f",${BASE_INFO}}`
        ]
      ])
      for (const request of http.requests) {
        expect(request.headers).toEqual(postHeaders(request.body ?? "", { authorization: "Bearer tok" }))
      }
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("get_bot_qrcode: POST with bot_type=3, no Authorization, no base_info", () => {
    const http = answering(`{"qrcode":"q1","qrcode_img_content":"https://qr.example/q1"}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const qr = yield* api.getBotQrCode("https://ilink.example.test", {
        local_token_list: [Redacted.make("old-1"), Redacted.make("old-2")]
      }).pipe(Effect.provideService(ILinkSettings, { routeTag: 9 }))
      expect(qr).toEqual({ qrcode: "q1", qrcode_img_content: "https://qr.example/q1" })
      const body = `{"local_token_list":["old-1","old-2"]}`
      expect(http.requests).toEqual([{
        method: "POST",
        url: "https://ilink.example.test/ilink/bot/get_bot_qrcode?bot_type=3",
        headers: postHeaders(body, { skroutetag: "9" }),
        body
      }])
    }).pipe(pinned, Effect.provide(http.layer))
  })

  // query values go out exactly as encodeURIComponent makes them (space → "%20"), as the official client
  // sends them; real qrcodes and verify codes have no such characters
  it.effect("get_qrcode_status: GET with only the app headers and the encoded query", () => {
    const http = answering(`{"status":"wait"}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      yield* api.getQrCodeStatus("https://ilink.example.test/prefix", { qrcode: "3f9a0c" })
      yield* api.getQrCodeStatus("https://ilink.example.test/prefix/", { qrcode: "a b&c", verify_code: "1234" }).pipe(
        Effect.provideService(ILinkSettings, { routeTag: "r1" })
      )
      expect(http.requests).toEqual([
        {
          method: "GET",
          url: "https://ilink.example.test/prefix/ilink/bot/get_qrcode_status?qrcode=3f9a0c",
          headers: { "ilink-app-id": "bot", "ilink-app-clientversion": "132105" },
          body: undefined
        },
        {
          method: "GET",
          url: "https://ilink.example.test/prefix/ilink/bot/get_qrcode_status?qrcode=a%20b%26c&verify_code=1234",
          headers: { "ilink-app-id": "bot", "ilink-app-clientversion": "132105", "skroutetag": "r1" },
          body: undefined
        }
      ])
      const query = new URL(http.requests[1]?.url ?? "").searchParams
      expect([query.get("qrcode"), query.get("verify_code")]).toEqual(["a b&c", "1234"])
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("sends the configured protocol level in both version fields, whatever this package's own version", () => {
    const http = answering(`{"ret":0}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      yield* api.notifyStop(connection("t")).pipe(Effect.provideService(ILinkSettings, { protocolVersion: "2.5.1" }))
      expect(http.requests[0]?.body).toBe(`{"base_info":{"channel_version":"2.5.1","bot_agent":"OpenClaw"}}`)
      // 0x00020501
      expect(http.requests[0]?.headers["ilink-app-clientversion"]).toBe("132353")
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("keeps a base URL path prefix for bot endpoints", () => {
    const http = answering(`{"ret":0}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      const conn = Either.getOrThrow(ILinkConnection.make({ baseUrl: "http://127.0.0.1:9/gw/v1" }))
      yield* api.notifyStart(conn)
      expect(http.requests[0]?.url).toBe("http://127.0.0.1:9/gw/v1/ilink/bot/msg/notifystart")
    }).pipe(pinned, Effect.provide(http.layer))
  })

  it.effect("X-WECHAT-UIN is drawn fresh for every request", () => {
    const http = answering(`{"ret":0}`)
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      yield* api.notifyStart(connection("t"))
      yield* api.notifyStart(connection("t"))
      expect(http.requests.map((r) => r.headers["x-wechat-uin"])).toEqual([
        Buffer.from("7").toString("base64"),
        Buffer.from("4294967295").toString("base64")
      ])
    }).pipe(
      // the innermost Random wins over the one `pinned` provides
      Effect.withRandom(Random.fixed([7, 4294967295])),
      pinned,
      Effect.provide(http.layer)
    )
  })
})
