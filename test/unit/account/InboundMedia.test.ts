import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { mediaCandidates } from "../../../src/account/InboundMedia.js"
import { WeixinMessage } from "../../../src/wire/Message.js"

const itemsOf = (items: ReadonlyArray<unknown>) =>
  Either.getOrThrow(Schema.decodeUnknownEither(WeixinMessage)({ item_list: items })).item_list ?? []

const image = { type: 2, image_item: { media: { encrypt_query_param: "p" } } }
const file = { type: 4, file_item: { media: { encrypt_query_param: "f", aes_key: "k" }, file_name: "a.pdf" } }

describe("which media of a message is fetched (PROTOCOL §6.3)", () => {
  it("takes every media item in list order and ignores text and unknown items", () => {
    const { candidates, skipped } = mediaCandidates(itemsOf([{ type: 1, text_item: { text: "hi" } }, file, { type: 99 }, image]))
    expect(candidates.map((c) => [c.kind, c.slot, c.quoted])).toEqual([["file", "1", false], ["image", "3", false]])
    expect(skipped).toBe(0)
  })

  it("stops at 8 items and counts the rest; the quote's media comes on top", () => {
    const quote = { type: 1, text_item: { text: "look" }, ref_msg: { message_item: { type: 5, video_item: { media: { full_url: "u" } } } } }
    const { candidates, skipped } = mediaCandidates(itemsOf([...Array.from({ length: 10 }, () => image), quote]))
    expect(candidates).toHaveLength(9)
    expect(candidates.at(-1)).toMatchObject({ kind: "video", quoted: true, slot: "q0" })
    expect(skipped).toBe(2)
  })

  it("keeps an item whose payload could not be read, so the agent hears it is missing", () => {
    const { candidates } = mediaCandidates(itemsOf([{ type: 3, voice_item: "garbled" }]))
    expect(candidates).toEqual([{ kind: "voice", item: undefined, quoted: false, slot: "0" }])
  })

  it("a quote of a text brings no media", () => {
    const quote = { type: 1, text_item: { text: "yes" }, ref_msg: { message_item: { type: 1, text_item: { text: "earlier" } } } }
    expect(mediaCandidates(itemsOf([quote])).candidates).toEqual([])
  })
})
