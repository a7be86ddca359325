import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { parseLossless } from "../../../src/wire/LosslessJson.js"
import { isKnownItem, MessageItem, MessageItemType, WeixinMessage } from "../../../src/wire/Message.js"

const decodeMessage = Schema.decodeUnknownEither(WeixinMessage)
const decodeItem = Schema.decodeUnknownSync(MessageItem)

describe("WeixinMessage", () => {
  it("decodes the reference inbound message with exact ids", () => {
    const text = `{"seq": 42, "message_id": 7311234567890123456, "from_user_id": "o9cq8abc@im.wechat",
      "to_user_id": "b0f5860fdecb@im.bot", "create_time_ms": 1700000000000, "session_id": "s1",
      "message_type": 1, "message_state": 2, "context_token": "ctx-abc",
      "item_list": [{"type": 1, "msg_id": 7311234567890123457, "text_item": {"text": "hi"}}]}`
    const decoded = Either.getOrThrow(decodeMessage(Either.getOrThrow(parseLossless(text))))
    expect(decoded).toEqual({
      seq: 42,
      message_id: "7311234567890123456",
      from_user_id: "o9cq8abc@im.wechat",
      to_user_id: "b0f5860fdecb@im.bot",
      create_time_ms: 1700000000000,
      session_id: "s1",
      message_type: 1,
      message_state: 2,
      context_token: "ctx-abc",
      item_list: [{ type: 1, msg_id: "7311234567890123457", text_item: { text: "hi" } }]
    })
  })

  it("ignores unknown fields and reads null as absent", () => {
    const decoded = Either.getOrThrow(decodeMessage({ seq: 1, brand_new_field: { x: 1 }, context_token: null }))
    expect(decoded).toEqual({ seq: 1 })
  })

  it("rejects a number where a string belongs", () => {
    expect(Either.isLeft(decodeMessage({ from_user_id: 12 }))).toBe(true)
    expect(Either.isLeft(decodeMessage({ item_list: {} }))).toBe(true)
  })

  it("accepts a plain JSON number id only while it is still exact", () => {
    expect(Either.getOrThrow(decodeMessage({ message_id: 42 })).message_id).toBe("42")
    expect(Either.isLeft(decodeMessage({ message_id: 2 ** 64 }))).toBe(true)
  })
})

describe("MessageItem", () => {
  const media = { encrypt_query_param: "eqp", aes_key: "a2V5", encrypt_type: 1, full_url: "https://cdn/x" }

  it("decodes every known kind into its variant", () => {
    const items = [
      { type: 1, text_item: { text: "t" } },
      { type: 2, image_item: { media, thumb_media: media, aeskey: "00ff", mid_size: 10, hd_size: 20 } },
      { type: 3, voice_item: { media, encode_type: 6, sample_rate: 24000, playtime: 1200, text: "hello" } },
      { type: 4, file_item: { media, file_name: "a.pdf", md5: "m", len: "1234" } },
      { type: 5, video_item: { media, video_size: 9, play_length: 3, thumb_media: media } },
      { type: 11, tool_call_start_item: { tool_name: "web", tool_call_id: "c1" } },
      { type: 12, tool_call_result_item: { tool_name: "web", tool_call_id: "c1", status: "completed" } }
    ]
    for (const raw of items) {
      const item = decodeItem(raw)
      expect(item).toEqual(raw)
      expect(isKnownItem(item)).toBe(true)
    }
  })

  it("isKnownItem narrows to a union that a switch on type discriminates", () => {
    const item = decodeItem({ type: 4, file_item: { file_name: "a.pdf" } })
    const describe = (known: MessageItem): string => {
      if (!isKnownItem(known)) return `unsupported ${known.type}`
      switch (known.type) {
        case MessageItemType.FILE:
          return `file ${known.file_item.file_name ?? ""}`
        default:
          return "other"
      }
    }
    expect(describe(item)).toBe("file a.pdf")
    expect(describe(decodeItem({ type: 42 }))).toBe("unsupported 42")
  })

  it("an unknown type becomes UnsupportedItem carrying the raw type, not an error", () => {
    const item = decodeItem({ type: 99, shiny_item: { x: 1 }, msg_id: "5" })
    expect(item).toEqual({ type: 99, msg_id: "5" })
    expect(isKnownItem(item)).toBe(false)
  })

  it("a known type with a missing or malformed payload is UnsupportedItem too, so the message still decodes", () => {
    expect(decodeItem({ type: MessageItemType.TEXT })).toEqual({ type: 1 })
    expect(isKnownItem(decodeItem({ type: MessageItemType.IMAGE, image_item: "nope" }))).toBe(false)
    const message = Either.getOrThrow(decodeMessage({ item_list: [{ type: 1, text_item: 5 }, { type: 1, text_item: { text: "ok" } }] }))
    expect(message.item_list?.map(isKnownItem)).toEqual([false, true])
  })

  it("still rejects an item without a numeric type", () => {
    expect(() => decodeItem({ text_item: { text: "x" } })).toThrow()
    expect(() => decodeItem({ type: "1", text_item: { text: "x" } })).toThrow()
  })

  it("decodes quotes with partial text and a nested quoted item", () => {
    const item = decodeItem({
      type: 1,
      text_item: { text: "reply" },
      ref_msg: {
        title: "summary",
        svr_id: "18446744073709551615",
        partial_text: { start: "he", end: "lo", startindex: 0, endindex: 5, quotemd5: "5d41402abc4b2a76b9719d911017c592" },
        message_item: { type: 2, image_item: { url: "u" } }
      }
    })
    expect(item.ref_msg?.svr_id).toBe("18446744073709551615")
    expect(item.ref_msg?.message_item).toEqual({ type: 2, image_item: { url: "u" } })
    expect(item.ref_msg?.partial_text?.endindex).toBe(5)
  })
})

describe("WeixinMessage properties", () => {
  it("encode then decode gives back the same message", () => {
    const arbitrary = Arbitrary.make(WeixinMessage)
    const encode = Schema.encodeSync(WeixinMessage)
    const decode = Schema.decodeUnknownSync(WeixinMessage)
    FastCheck.assert(FastCheck.property(arbitrary, (message) => {
      expect(decode(encode(message))).toEqual(message)
    }), { numRuns: 60 })
  })

  it("encoding omits absent fields: the JSON has no undefined or null holes", () => {
    const encoded = Schema.encodeSync(WeixinMessage)({ to_user_id: "u", item_list: [{ type: 1, text_item: {} }] })
    expect(JSON.stringify(encoded)).toBe(`{"to_user_id":"u","item_list":[{"type":1,"text_item":{}}]}`)
    expect(Object.keys(encoded)).toEqual(["to_user_id", "item_list"])
  })

  it("decoding arbitrary JSON never throws: it succeeds or fails with a ParseError", () => {
    FastCheck.assert(FastCheck.property(FastCheck.jsonValue(), (value) => {
      const result = decodeMessage(value)
      return Either.isRight(result) || result.left._tag === "ParseError"
    }))
  })
})
