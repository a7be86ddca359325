import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { createHash } from "node:crypto"
import {
  inboundBody,
  providerMessageId,
  quoteOf,
  resolvePartialQuote
} from "../../../src/domain/InboundText.js"
import { parseLossless } from "../../../src/wire/LosslessJson.js"
import { WeixinMessage } from "../../../src/wire/Message.js"

/** Decodes wire JSON exactly as the monitor will, so these tests also pin the schema's shape. */
const wire = (json: string): WeixinMessage =>
  Schema.decodeUnknownSync(WeixinMessage)(Either.getOrThrow(parseLossless(json)))

const withItems = (...items: ReadonlyArray<string>): WeixinMessage =>
  wire(`{"message_id": 7311234567890123456, "item_list": [${items.join(",")}]}`)

const md5 = (text: string): string => createHash("md5").update(text, "utf8").digest("hex")

describe("inboundBody (PROTOCOL §7.3)", () => {
  it("takes the first text item's text, even when media comes first in the list", () => {
    expect(inboundBody(withItems(`{"type": 2, "image_item": {}}`, `{"type": 1, "text_item": {"text": "hi"}}`)))
      .toBe("[图片]")
    expect(inboundBody(withItems(`{"type": 1, "text_item": {"text": "hi"}}`, `{"type": 2, "image_item": {}}`)))
      .toBe("hi")
  })

  it("keeps the text exactly as sent, including surrounding whitespace and an empty string", () => {
    expect(inboundBody(withItems(`{"type": 1, "text_item": {"text": "  spaced  "}}`))).toBe("  spaced  ")
    expect(inboundBody(withItems(`{"type": 1, "text_item": {"text": ""}}`, `{"type": 2, "image_item": {}}`)))
      .toBe("")
  })

  it("skips a text item without text and uses the next item", () => {
    expect(inboundBody(withItems(`{"type": 1, "text_item": {}}`, `{"type": 5, "video_item": {}}`))).toBe("[视频]")
  })

  it("uses the voice transcript when the server provided one, else the voice label", () => {
    expect(inboundBody(withItems(`{"type": 3, "voice_item": {"text": "你好"}}`))).toBe("你好")
    expect(inboundBody(withItems(`{"type": 3, "voice_item": {"text": ""}}`))).toBe("[语音]")
    expect(inboundBody(withItems(`{"type": 3, "voice_item": {}}`))).toBe("[语音]")
  })

  it("labels image, video and file items with the official Chinese labels", () => {
    expect(inboundBody(withItems(`{"type": 2, "image_item": {}}`))).toBe("[图片]")
    expect(inboundBody(withItems(`{"type": 5, "video_item": {}}`))).toBe("[视频]")
    expect(inboundBody(withItems(`{"type": 4, "file_item": {"file_name": "a.pdf"}}`))).toBe("[文件]")
  })

  it("labels a media item by its type even when its payload could not be read", () => {
    expect(inboundBody(withItems(`{"type": 2}`))).toBe("[图片]")
  })

  it("skips tool-call and unknown items; with nothing left, unknown types are named (issue 11), else the body is empty", () => {
    expect(inboundBody(withItems(`{"type": 11, "tool_call_start_item": {}}`, `{"type": 99}`))).toBe("[unsupported message type 99]")
    expect(inboundBody(withItems(`{"type": 11, "tool_call_start_item": {}}`))).toBe("")
    expect(inboundBody(withItems(`{"type": 99}`, `{"type": 1, "text_item": {"text": "late"}}`))).toBe("late")
    expect(inboundBody(wire(`{"seq": 1}`))).toBe("")
  })
})

describe("quoteOf (PROTOCOL §7.4, inline)", () => {
  it("is not a quote when no item carries ref_msg", () => {
    expect(quoteOf(withItems(`{"type": 1, "text_item": {"text": "hi"}}`))).toEqual({ isQuote: false })
  })

  it("takes the id from svr_id and joins title and quoted body with ' | '", () => {
    const message = withItems(
      `{"type": 1, "text_item": {"text": "what is this?"}, "ref_msg": {"svr_id": 9007199254740993123, "title": " Photo ",
        "message_item": {"type": 2, "msg_id": 5, "image_item": {}}}}`
    )
    expect(quoteOf(message)).toEqual({ isQuote: true, replyToId: "9007199254740993123", replyToBody: "Photo | [图片]" })
  })

  it("falls back to the quoted item's msg_id when svr_id is blank", () => {
    const message = withItems(
      `{"type": 1, "text_item": {"text": "re"}, "ref_msg": {"svr_id": "  ", "message_item": {"type": 1, "msg_id": 123,
        "text_item": {"text": "original"}}}}`
    )
    expect(quoteOf(message)).toEqual({ isQuote: true, replyToId: "123", replyToBody: "original" })
  })

  it("uses the first item that has a ref_msg", () => {
    const message = withItems(
      `{"type": 1, "text_item": {"text": "no quote"}}`,
      `{"type": 1, "text_item": {"text": "a"}, "ref_msg": {"svr_id": "1", "title": "first"}}`,
      `{"type": 1, "text_item": {"text": "b"}, "ref_msg": {"svr_id": "2", "title": "second"}}`
    )
    expect(quoteOf(message)).toEqual({ isQuote: true, replyToId: "1", replyToBody: "first" })
  })

  it("leaves id and body unset for a quote with neither an id nor content", () => {
    const message = withItems(`{"type": 1, "text_item": {"text": "x"}, "ref_msg": {"title": "   "}}`)
    expect(quoteOf(message)).toEqual({ isQuote: true })
  })

  it("carries only the id for an id-only quote from a newer client", () => {
    const message = withItems(`{"type": 1, "text_item": {"text": "x"}, "ref_msg": {"svr_id": 77}}`)
    expect(quoteOf(message)).toEqual({ isQuote: true, replyToId: "77" })
  })
})

describe("resolvePartialQuote (PROTOCOL §7.4, partial quote)", () => {
  const text = "alpha beta gamma beta delta beta"

  it("returns the global candidate first when no MD5 is given", () => {
    // start = 1st "beta" (index 0); global end = 2nd "beta" overall (index 1)
    expect(resolvePartialQuote(text, { start: "beta", end: "beta", startindex: 0, endindex: 1 }))
      .toBe("beta gamma beta")
  })

  it("uses the MD5 to pick the relative candidate when that is the one the client meant", () => {
    // relative: end = 2nd "beta" counted after the start match, i.e. the third overall
    const relative = "beta gamma beta delta beta"
    expect(
      resolvePartialQuote(text, { start: "beta", end: "beta", startindex: 0, endindex: 1, quotemd5: md5(relative) })
    ).toBe(relative)
  })

  it("compares the MD5 case-insensitively", () => {
    const global = "beta gamma beta"
    expect(resolvePartialQuote(text, {
      start: "beta",
      end: "beta",
      startindex: 0,
      endindex: 1,
      quotemd5: md5(global).toUpperCase()
    })).toBe(global)
  })

  it("is unresolved when the MD5 matches no candidate", () => {
    expect(resolvePartialQuote(text, { start: "beta", end: "beta", endindex: 1, quotemd5: md5("nope") }))
      .toBeUndefined()
  })

  it("computes the MD5 over UTF-8 so CJK selections resolve", () => {
    const cjk = "今天天气很好，明天天气也很好"
    const selected = "天气也很好"
    expect(resolvePartialQuote(cjk, { start: "天气", end: "好", startindex: 1, endindex: 0, quotemd5: md5(selected) }))
      .toBe(selected)
  })

  it("drops a candidate whose end lies before its start", () => {
    // global end = first "alpha" (index 0) lies before the start; relative finds none after it
    expect(resolvePartialQuote(text, { start: "gamma", end: "alpha", startindex: 0, endindex: 0 })).toBeUndefined()
  })

  it("counts occurrences without overlap", () => {
    expect(resolvePartialQuote("aaaa-x", { start: "aa", end: "x", startindex: 1, endindex: 0 })).toBe("aa-x")
  })

  it("needs the full text and non-empty start and end markers", () => {
    expect(resolvePartialQuote("", { start: "a", end: "b" })).toBeUndefined()
    expect(resolvePartialQuote("a b", { start: "", end: "b" })).toBeUndefined()
    expect(resolvePartialQuote("a b", { start: "a" })).toBeUndefined()
    expect(resolvePartialQuote("a b", { start: "z", end: "b" })).toBeUndefined()
  })
})

describe("providerMessageId", () => {
  it("uses message_id without losing 64-bit precision", () => {
    expect(providerMessageId(withItems(`{"type": 1, "msg_id": 1, "text_item": {"text": "x"}}`)))
      .toBe("7311234567890123456")
  })

  it("trims message_id and falls back to the first non-empty item msg_id", () => {
    expect(providerMessageId(wire(`{"message_id": " 42 "}`))).toBe("42")
    expect(providerMessageId(wire(
      `{"message_id": "  ", "item_list": [{"type": 1, "msg_id": " ", "text_item": {}}, {"type": 2, "msg_id": 9}]}`
    ))).toBe("9")
  })

  it("is undefined when the message carries no id at all", () => {
    expect(providerMessageId(wire(`{"item_list": [{"type": 1, "text_item": {"text": "x"}}]}`))).toBeUndefined()
  })
})

describe("a message of unknown item types", () => {
  it("reaches the agent with a placeholder naming the types, not an empty body", () => {
    const message = { item_list: [{ type: 42 }, { type: 42 }, { type: 0 }] } as unknown as WeixinMessage
    expect(inboundBody(message)).toBe("[unsupported message type 42, 0]")
    expect(inboundBody({ item_list: [] } as unknown as WeixinMessage)).toBe("")
  })
})
