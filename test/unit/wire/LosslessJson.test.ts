import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import { GetUpdatesResponse } from "../../../src/wire/Api.js"
import { parseLossless, rewriteIdIntegersAsStrings } from "../../../src/wire/LosslessJson.js"

const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) throw new Error(`expected Right, got ${String(either.left)}`)
  return either.right
}

describe("parseLossless", () => {
  it("keeps 20+ digit ids exact whether they arrive as numbers or strings", () => {
    const text = `{"message_id": 18446744073709551615, "msgs": [{"msg_id":12345678901234567890123,` +
      `"ref_msg":{"svr_id" : -9223372036854775808}}], "other": {"message_id":"18446744073709551615"}}`
    expect(right(parseLossless(text))).toEqual({
      message_id: "18446744073709551615",
      msgs: [{ msg_id: "12345678901234567890123", ref_msg: { svr_id: "-9223372036854775808" } }],
      other: { message_id: "18446744073709551615" }
    })
  })

  it("leaves the same digits inside string values untouched, including escaped quotes and key look-alikes", () => {
    const text = `{"text":"message_id: 18446744073709551615","note":"\\"msg_id\\":12345678901234567890123",` +
      `"seq":18446744073709551615}`
    const parsed = right(parseLossless(text)) as Record<string, unknown>
    expect(parsed["text"]).toBe("message_id: 18446744073709551615")
    expect(parsed["note"]).toBe(`"msg_id":12345678901234567890123`)
    // not an id key: plain JSON semantics
    expect(parsed["seq"]).toBe(18446744073709551615)
  })

  it("leaves null, objects, fractions and exponents of id keys alone", () => {
    expect(right(parseLossless(`{"message_id":null,"msg_id":{"a":1},"svr_id":1.5}`))).toEqual({
      message_id: null,
      msg_id: { a: 1 },
      svr_id: 1.5
    })
    expect(rewriteIdIntegersAsStrings(`{"svr_id":1e21}`)).toBe(`{"svr_id":1e21}`)
  })

  it("returns invalid JSON as a Left instead of throwing", () => {
    expect(Either.isLeft(parseLossless(`{"message_id":1`))).toBe(true)
    expect(Either.isLeft(parseLossless(``))).toBe(true)
    expect(Either.isLeft(parseLossless(`<html>`))).toBe(true)
  })

  it("an id decodes exactly through the getupdates schema, as a number and as a string", () => {
    for (const raw of ["18446744073709551615", "\"18446744073709551615\"", "12345678901234567890123"]) {
      const text = `{"ret":0,"msgs":[{"message_id":${raw},"item_list":[{"type":1,"msg_id":${raw},` +
        `"text_item":{"text":"id ${raw.replaceAll("\"", "")}"}}]}]}`
      const decoded = Schema.decodeUnknownSync(GetUpdatesResponse)(right(parseLossless(text)))
      const digits = raw.replaceAll("\"", "")
      const message = decoded.msgs?.[0]
      expect(message?.message_id).toBe(digits)
      expect(message?.item_list?.[0]?.msg_id).toBe(digits)
      const item = message?.item_list?.[0]
      expect(item !== undefined && "text_item" in item ? item.text_item.text : undefined).toBe(`id ${digits}`)
    }
  })

  it("agrees with JSON.parse on any JSON without id keys, and never throws on arbitrary text", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.jsonValue(), (value) => {
        const text = JSON.stringify(value)
        const parsed = parseLossless(text)
        return text.includes("_id\"") || Either.isRight(parsed) && JSON.stringify(parsed.right) === text
      })
    )
    FastCheck.assert(FastCheck.property(FastCheck.string(), (text) => {
      parseLossless(text)
      return true
    }))
  })

  it("turns every integer id value into its exact digit string", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.bigInt(-(2n ** 70n), 2n ** 70n), FastCheck.string(), (id, text) => {
        const json = `{"text":${JSON.stringify(text)},"message_id":${id},"item":{"msg_id":${id}}}`
        const parsed = right(parseLossless(json)) as { text: string; message_id: string; item: { msg_id: string } }
        return parsed.text === text && parsed.message_id === String(id) && parsed.item.msg_id === String(id)
      })
    )
  })
})
