import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Redacted, Schema } from "effect"
import {
  GetConfigBody,
  GetConfigResponse,
  GetUpdatesBody,
  GetUpdatesResponse,
  GetUploadUrlBody,
  GetUploadUrlResponse,
  isUnknownQrStatus,
  NotifyBody,
  NotifyResponse,
  QrCodeRequest,
  QrCodeResponse,
  QrStatusResponse,
  SendMessageBody,
  SendMessageResponse,
  SendTypingBody
} from "../../../src/wire/Api.js"
import { parseLossless } from "../../../src/wire/LosslessJson.js"

describe("GetUpdatesResponse", () => {
  const decode = Schema.decodeUnknownEither(GetUpdatesResponse)

  it("decodes a batch and keeps server hints", () => {
    const decoded = Either.getOrThrow(decode({
      ret: 0,
      msgs: [{ seq: 1, item_list: [{ type: 1, text_item: { text: "hi" } }] }],
      get_updates_buf: "c2",
      longpolling_timeout_ms: 30000,
      future_field: true
    }))
    expect(decoded).toEqual({
      ret: 0,
      msgs: [{ seq: 1, item_list: [{ type: 1, text_item: { text: "hi" } }] }],
      get_updates_buf: "c2",
      longpolling_timeout_ms: 30000
    })
  })

  it("sets a malformed message aside in rejected_msgs and keeps the rest of the batch", () => {
    const text = `{"ret":0,"get_updates_buf":"c3","msgs":[{"seq":1,"message_id":18446744073709551615},` +
      `{"message_id":18446744073709551614,"from_user_id":42},"not a message",{"seq":3}]}`
    const decoded = Either.getOrThrow(decode(Either.getOrThrow(parseLossless(text))))
    expect(decoded.msgs).toEqual([{ seq: 1, message_id: "18446744073709551615" }, { seq: 3 }])
    expect(decoded.rejected_msgs?.map((r) => [r.index, r.message_id])).toEqual([
      [1, "18446744073709551614"],
      [2, undefined]
    ])
    expect(decoded.rejected_msgs?.[0]?.problem).toContain("from_user_id")
    expect(decoded.get_updates_buf).toBe("c3")
  })

  it("a rejected message's problem names the field but never quotes keys or tokens", () => {
    const decoded = Either.getOrThrow(decode({
      msgs: [{
        context_token: "SECRET-CTX",
        item_list: [{ type: "x", image_item: { media: { aes_key: "SECRET-KEY" } } }]
      }]
    }))
    const problem = decoded.rejected_msgs?.[0]?.problem ?? ""
    expect(problem).toContain("item_list")
    expect(problem).not.toContain("SECRET")
  })

  it("still fails when the envelope itself is wrong", () => {
    expect(Either.isLeft(decode({ ret: "0" }))).toBe(true)
    expect(Either.isLeft(decode({ msgs: {} }))).toBe(true)
    expect(Either.isLeft(decode([]))).toBe(true)
  })
})

describe("QrStatusResponse", () => {
  const decode = Schema.decodeUnknownSync(QrStatusResponse)
  const statuses = [
    "wait",
    "scaned",
    "confirmed",
    "expired",
    "scaned_but_redirect",
    "need_verifycode",
    "verify_code_blocked",
    "binded_redirect"
  ] as const

  it("decodes every known status as itself", () => {
    for (const status of statuses) expect(decode({ status }).status).toBe(status)
  })

  it("decodes an unknown status string to an explicit UnknownQrStatus carrying the raw value", () => {
    const decoded = decode({ status: "scanned_on_watch" })
    expect(decoded.status).toEqual({ _tag: "UnknownQrStatus", raw: "scanned_on_watch" })
    expect(isUnknownQrStatus(decoded.status)).toBe(true)
    expect(isUnknownQrStatus(decode({ status: "wait" }).status)).toBe(false)
  })

  it("reads the confirmed credential into a Redacted that does not print", () => {
    const decoded = decode({
      status: "confirmed",
      bot_token: "secret-token",
      ilink_bot_id: "b0f5860fdecb@im.bot",
      baseurl: "https://ilinkai.weixin.qq.com",
      ilink_user_id: "o9cq8abc@im.wechat"
    })
    expect(decoded.bot_token && Redacted.value(decoded.bot_token)).toBe("secret-token")
    expect(String(decoded.bot_token)).not.toContain("secret-token")
    expect(JSON.stringify(decoded)).not.toContain("secret-token")
  })

  it("fails when status is missing or not a string", () => {
    expect(() => decode({})).toThrow()
    expect(() => decode({ status: 3 })).toThrow()
  })
})

describe("request bodies encode exactly", () => {
  const baseInfo = { channel_version: "2.4.9", bot_agent: "OpenClaw" }

  it("omits absent optional fields", () => {
    expect(JSON.stringify(Schema.encodeSync(GetConfigBody)({ ilink_user_id: "u", base_info: baseInfo }))).toBe(
      `{"ilink_user_id":"u","base_info":{"channel_version":"2.4.9","bot_agent":"OpenClaw"}}`
    )
  })

  it("writes the QR token list as plain strings", () => {
    expect(Schema.encodeSync(QrCodeRequest)({ local_token_list: [Redacted.make("a")] })).toEqual({
      local_token_list: ["a"]
    })
  })
})

describe("schema properties", () => {
  const responses = {
    GetUpdatesResponse,
    SendMessageResponse,
    GetConfigResponse,
    GetUploadUrlResponse,
    NotifyResponse,
    QrCodeResponse,
    QrStatusResponse
  }

  for (const [name, schema] of Object.entries(responses)) {
    it(`decoding arbitrary JSON as ${name} never throws`, () => {
      const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
      FastCheck.assert(FastCheck.property(FastCheck.jsonValue(), (value) => {
        const result = decode(value)
        return Either.isRight(result) || result.left._tag === "ParseError"
      }))
      // objects shaped like the real thing, with values of random types, exercise the deeper paths
      const fieldNames = ["ret", "errcode", "errmsg", "msgs", "get_updates_buf", "message_id", "status", "qrcode",
        "qrcode_img_content", "typing_ticket", "upload_param", "bot_token", "item_list", "type", "text_item"]
      FastCheck.assert(FastCheck.property(
        FastCheck.dictionary(FastCheck.constantFrom(...fieldNames), FastCheck.jsonValue()),
        (value) => {
          const result = decode(value)
          return Either.isRight(result) || result.left._tag === "ParseError"
        }
      ))
    })
  }

  const requests = { GetUpdatesBody, SendMessageBody, SendTypingBody, GetConfigBody, GetUploadUrlBody, NotifyBody, QrCodeRequest }
  for (const [name, schema] of Object.entries(requests)) {
    it(`${name}: encode then decode gives back the same request`, () => {
      const typed = schema as unknown as Schema.Schema<unknown, unknown>
      const equivalent = Schema.equivalence(typed)
      const encode = Schema.encodeSync(typed)
      const decode = Schema.decodeUnknownSync(typed)
      FastCheck.assert(FastCheck.property(Arbitrary.make(typed), (request) => {
        // through real JSON text, as it goes over the wire
        const roundTripped = decode(JSON.parse(JSON.stringify(encode(request))))
        return equivalent(roundTripped, request)
      }), { numRuns: 40 })
    })
  }
})
