import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { claimLine, doneLine, replay, seenLine } from "../../../src/account/InboxRecords.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { parseLossless } from "../../../src/wire/LosslessJson.js"
import { WeixinMessage } from "../../../src/wire/Message.js"

// a message with every kind of field a journal line must carry: 64-bit ids, nulls the decoder drops,
// known items, a quote with its own item, an item of an unknown type and one of a known type without
// its payload (both kept as UnsupportedItem), and a field the schema does not know
const wire = `{"seq":7,"message_id":7283463728374637283,"from_user_id":"Peer3@im.wechat","to_user_id":"bot@im.bot",
  "client_id":null,"create_time_ms":1733000000123,"message_type":1,"message_state":2,"context_token":"ctx-1",
  "item_list":[
    {"type":1,"text_item":{"text":"see \\"this\\" ✓"},"msg_id":9007199254740993,
     "ref_msg":{"title":"earlier","svr_id":123,"message_item":{"type":2,"image_item":{"media":{"encrypt_query_param":"p","aes_key":"k"},"mid_size":10}}}},
    {"type":3,"voice_item":{"playtime":1200,"text":"hi"}},
    {"type":4,"file_item":{"file_name":"a.pdf","len":"42"}},
    {"type":99,"mystery":{"x":1}},
    {"type":5}
  ],
  "unknown_field":"dropped"}`

const message = Schema.decodeUnknownSync(WeixinMessage)(Either.getOrThrow(parseLossless(wire)))
const peer = Either.getOrThrow(normalizePeerId("Peer3@im.wechat"))
const claimed = { key: "mid:7283463728374637283", peer, message, claimedAt: 1733000000500 }

describe("InboxRecords journal lines", () => {
  it("a claim line is the schema's encoding of the record, field for field", () => {
    expect(JSON.parse(claimLine(claimed))).toEqual({
      t: "claim",
      key: claimed.key,
      at: claimed.claimedAt,
      peer: peer.id,
      msg: Schema.encodeSync(WeixinMessage)(message)
    })
  })

  it("replay reads back the claimed message exactly, and done and seen marks by key", () => {
    const pending = replay([claimLine(claimed)]).pending.get(claimed.key)
    expect(pending).toEqual(claimed)
    expect(pending?.message.message_id).toBe("7283463728374637283")
    const marked = replay([claimLine(claimed), doneLine(claimed.key, 1), seenLine("mid:2", 2)])
    expect(marked.pending.size).toBe(0)
    expect([...marked.seen.keys()]).toEqual([claimed.key, "mid:2"])
    expect(marked.skipped).toBe(0)
  })

  it("done and seen lines have the record's field order", () => {
    expect(doneLine("mid:1", 5)).toBe(`{"t":"done","key":"mid:1","at":5}`)
    expect(seenLine("cid:\"x\"", 6)).toBe(`{"t":"seen","key":"cid:\\"x\\"","at":6}`)
  })
})
