import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { MAX_RESPONSE_BYTES } from "../../../src/ilink/Transport.js"
import type { ILinkError } from "../../../src/wire/ILinkError.js"
import { answering, recordingClient, uploadRequest } from "../../support/ILinkApiTestkit.js"

const conn = Either.getOrThrow(
  ILinkConnection.make({ baseUrl: "https://ilink.example.test", token: Redacted.make("tok"), accountId: "acc-1" })
)

type Call = (api: ILinkApi) => Effect.Effect<unknown, ILinkError>

/** Every endpoint whose body is parsed, with the endpoint path errors must name. */
const parsedCalls: Array<[string, Call]> = [
  ["ilink/bot/getupdates", (api) => api.getUpdates(conn, { get_updates_buf: "" })],
  ["ilink/bot/sendmessage", (api) => api.sendMessage(conn, { msg: { to_user_id: "u" } })],
  ["ilink/bot/getconfig", (api) => api.getConfig(conn, { ilink_user_id: "u" })],
  [
    "ilink/bot/getuploadurl",
    (api) =>
      api.getUploadUrl(conn, uploadRequest)
  ],
  ["ilink/bot/msg/notifystart", (api) => api.notifyStart(conn)],
  ["ilink/bot/msg/notifystop", (api) => api.notifyStop(conn)],
  ["ilink/bot/get_bot_qrcode", (api) => api.getBotQrCode("https://ilink.example.test", { local_token_list: [] })],
  ["ilink/bot/get_qrcode_status", (api) => api.getQrCodeStatus("https://ilink.example.test", { qrcode: "q" })]
]

const failureOf = (call: Call, body: string | Uint8Array, status = 200) => {
  const http = recordingClient(() => ({ status, body }))
  return Effect.gen(function*() {
    const api = yield* ILinkApi
    return yield* Effect.flip(call(api))
  }).pipe(Effect.provide(http.layer))
}

const badBodies: Array<[string, string | Uint8Array]> = [
  ["an empty body", ""],
  ["text that is not JSON", "service unavailable"],
  ["truncated JSON", `{"ret":0,"msgs":[{"seq":1,`],
  ["an HTML page", "<!doctype html><html><body>502 Bad Gateway</body></html>"],
  ["a JSON array instead of an object", "[1,2,3]"],
  ["JSON null", "null"],
  ["numbers where strings belong", `{"ret":"0","msgs":"none","get_updates_buf":5,"typing_ticket":7,"upload_param":1,"errmsg":3,"status":1,"qrcode":1,"qrcode_img_content":2}`],
  ["a body above the size cap", new Uint8Array(MAX_RESPONSE_BYTES + 1).fill(0x20)]
]

describe("ILinkApi maps every bad 2xx body to ILinkDecodeError naming the endpoint", () => {
  for (const [endpoint, call] of parsedCalls) {
    for (const [label, body] of badBodies) {
      it.effect(`${endpoint}: ${label}`, () =>
        Effect.gen(function*() {
          const error = yield* failureOf(call, body)
          expect(error._tag).toBe("ILinkDecodeError")
          expect(error.endpoint).toBe(endpoint)
          expect(error.reachedServer).toBe("yes")
          expect(error.message).toContain(endpoint)
        }))
    }
  }
})

describe("ILinkApi maps HTTP and API failures", () => {
  it.effect("a non-2xx status is ILinkHttpStatusError with status and a body snippet, for every endpoint", () =>
    Effect.gen(function*() {
      for (const [endpoint, call] of parsedCalls) {
        const error = yield* failureOf(call, "upstream exploded", 502)
        expect(error).toMatchObject({
          _tag: "ILinkHttpStatusError",
          endpoint,
          status: 502,
          bodySnippet: "upstream exploded",
          reachedServer: "yes"
        })
      }
      const typing = yield* failureOf(
        (api) => api.sendTyping(conn, { ilink_user_id: "u", typing_ticket: "t", status: 1 }),
        "",
        404
      )
      expect(typing).toMatchObject({ _tag: "ILinkHttpStatusError", endpoint: "ilink/bot/sendtyping", status: 404 })
    }))

  it.effect("a non-2xx status stays ILinkHttpStatusError even when its body is too large to read", () =>
    Effect.gen(function*() {
      const error = yield* failureOf(parsedCalls[1]![1], new Uint8Array(MAX_RESPONSE_BYTES + 1).fill(0x41), 502)
      expect(error).toMatchObject({ _tag: "ILinkHttpStatusError", status: 502, bodySnippet: "" })
    }))

  it.effect("sendtyping ignores even an oversized 2xx body", () =>
    Effect.gen(function*() {
      const http = recordingClient(() => ({ body: new Uint8Array(MAX_RESPONSE_BYTES + 1).fill(0x41) }))
      const result = yield* Effect.gen(function*() {
        const api = yield* ILinkApi
        return yield* Effect.either(api.sendTyping(conn, { ilink_user_id: "u", typing_ticket: "t", status: 2 }))
      }).pipe(Effect.provide(http.layer))
      expect(Either.isRight(result)).toBe(true)
    }))

  it.effect("sendtyping succeeds on any 2xx without reading the body as JSON", () =>
    Effect.gen(function*() {
      const http = answering("<html>not json</html>")
      const result = yield* Effect.gen(function*() {
        const api = yield* ILinkApi
        return yield* api.sendTyping(conn, { ilink_user_id: "u", typing_ticket: "t", status: 1 })
      }).pipe(Effect.provide(http.layer))
      expect(result).toBeUndefined()
      expect(http.requests).toHaveLength(1)
    }))

  it.effect("getupdates: a non-zero ret or errcode is ILinkApiError with the server's details", () =>
    Effect.gen(function*() {
      const getUpdates = parsedCalls[0]![1]
      expect(yield* failureOf(getUpdates, `{"ret":-1,"errmsg":"busy"}`)).toMatchObject({
        _tag: "ILinkApiError",
        endpoint: "ilink/bot/getupdates",
        accountId: "acc-1",
        ret: -1,
        errmsg: "busy"
      })
      expect(yield* failureOf(getUpdates, `{"ret":0,"errcode":5}`)).toMatchObject({ _tag: "ILinkApiError", errcode: 5 })
    }))

  it.effect("getupdates: −14 in ret or in errcode is AuthExpired telling the user to log in again", () =>
    Effect.gen(function*() {
      const getUpdates = parsedCalls[0]![1]
      for (const body of [`{"ret":-14}`, `{"errcode":-14,"errmsg":"session timeout"}`, `{"ret":-1,"errcode":-14}`]) {
        const error = yield* failureOf(getUpdates, body)
        expect(error._tag).toBe("AuthExpired")
        expect(error.message).toContain("openclaw channels login --channel openclaw-weixin")
      }
    }))

  it.effect("sendmessage: a non-zero ret (−14 included) is an ordinary ILinkApiError; errcode alone is ignored", () =>
    Effect.gen(function*() {
      const sendMessage = parsedCalls[1]![1]
      expect(yield* failureOf(sendMessage, `{"ret":-14}`)).toMatchObject({ _tag: "ILinkApiError", ret: -14 })
      expect(yield* failureOf(sendMessage, `{"ret":-2,"errmsg":""}`)).toMatchObject({ _tag: "ILinkApiError", ret: -2 })
      const http = answering(`{"ret":0,"errcode":-14}`)
      const ok = yield* Effect.gen(function*() {
        const api = yield* ILinkApi
        return yield* api.sendMessage(conn, { msg: { to_user_id: "u" } })
      }).pipe(Effect.provide(http.layer))
      expect(ok.message_id).toBeUndefined()
    }))

  it.effect("getconfig succeeds only with ret 0: a missing ret or ret −4 is ILinkApiError", () =>
    Effect.gen(function*() {
      const getConfig = parsedCalls[2]![1]
      expect(yield* failureOf(getConfig, `{"typing_ticket":"x"}`)).toMatchObject({ _tag: "ILinkApiError" })
      expect(yield* failureOf(getConfig, `{"ret":-4}`)).toMatchObject({ _tag: "ILinkApiError", ret: -4 })
    }))

  it.effect("notify and getuploadurl: a non-zero ret is ILinkApiError; a missing ret is fine", () =>
    Effect.gen(function*() {
      expect(yield* failureOf(parsedCalls[4]![1], `{"ret":3,"errmsg":"no"}`)).toMatchObject({
        _tag: "ILinkApiError",
        endpoint: "ilink/bot/msg/notifystart",
        ret: 3
      })
      expect(yield* failureOf(parsedCalls[3]![1], `{"ret":2}`)).toMatchObject({
        _tag: "ILinkApiError",
        endpoint: "ilink/bot/getuploadurl"
      })
      const http = answering(`{}`)
      const notified = yield* Effect.gen(function*() {
        const api = yield* ILinkApi
        return yield* api.notifyStop(conn)
      }).pipe(Effect.provide(http.layer))
      expect(notified).toEqual({})
    }))

  it.effect("QR calls reject a base URL that is not absolute http(s) before sending anything", () =>
    Effect.gen(function*() {
      const http = answering(`{"status":"wait"}`)
      const error = yield* Effect.gen(function*() {
        const api = yield* ILinkApi
        return yield* Effect.flip(api.getQrCodeStatus("ftp://ilink.example.test", { qrcode: "q" }))
      }).pipe(Effect.provide(http.layer))
      expect(error).toMatchObject({ _tag: "ILinkConfigError", value: "ftp://ilink.example.test", reachedServer: "no" })
      expect(http.requests).toHaveLength(0)
    }))

  it.effect("a decode error's snippet never carries token values", () =>
    Effect.gen(function*() {
      const error = yield* failureOf(
        parsedCalls[0]![1],
        `{"ret":"0","msgs":[{"seq":"x","context_token":"SECRET-CTX","bot_token":"SECRET-BOT"}],"aes_key":"SECRET-KEY"}`
      )
      expect(error._tag).toBe("ILinkDecodeError")
      expect(JSON.stringify(error)).not.toContain("SECRET")
      expect(error.message).not.toContain("SECRET")
    }))
})
