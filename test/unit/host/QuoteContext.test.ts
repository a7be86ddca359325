import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { InboundTurn } from "../../../src/account/AgentTurns.js"
import { noMedia } from "../../../src/account/InboundMedia.js"
import { InboundMediaStore } from "../../../src/account/InboundMediaStore.js"
import { QuoteStore, type QuoteStoreService } from "../../../src/account/QuoteStore.js"
import { quotePolicyOf } from "../../../src/config/QuotePolicy.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { fallbackInboundMediaHelpers } from "../../../src/host/InboundMediaFacts.js"
import { inboundContextParams } from "../../../src/host/InboundContext.js"
import { QUOTE_UNAVAILABLE, resolveQuote } from "../../../src/host/QuoteContext.js"
import { recordInbound } from "../../../src/host/QuoteRecording.js"
import { State } from "../../../src/state/State.js"
import { MessageItemType, type WeixinMessage } from "../../../src/wire/Message.js"

const ACCOUNT = "b0f5860fdecb-im-bot"
const ALICE = "Alice@im.wechat"
const route = { agentId: "main", accountId: ACCOUNT, sessionKey: "s", mainSessionKey: "m" }
const layer = () =>
  Layer.merge(State.layerAt(fs.mkdtempSync(path.join(os.tmpdir(), "quotectx-"))), InboundMediaStore.layerMemory)

const turnOf = (sender: string, message: Record<string, unknown>, quotes: QuoteStoreService): InboundTurn => {
  const peer = Either.getOrThrow(normalizePeerId(sender))
  return {
    accountId: ACCOUNT,
    claimed: { key: `mid:${String(message["message_id"])}`, peer, message: { from_user_id: sender, ...message } as WeixinMessage, claimedAt: 1 },
    peer,
    contextToken: "ct",
    runId: "r",
    media: Effect.succeed(noMedia(0)),
    quotes
  }
}
const says = (id: string, text: string, ref?: Record<string, unknown>) => ({
  message_id: id,
  item_list: [{ type: MessageItemType.TEXT, text_item: { text }, ...(ref === undefined ? {} : { ref_msg: ref }) }]
})
const helpers = Effect.succeed(fallbackInboundMediaHelpers)

describe("quotes reach the host as supplemental.quote", () => {
  it.scoped("an id-only quote of an earlier message carries that message's text; an unknown id a placeholder", () =>
    Effect.gen(function*() {
      const quotes = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      yield* recordInbound(turnOf(ALICE, says("500", "the meeting is at noon"), quotes), noMedia(0))
      yield* quotes.record({ ids: ["600"], peer: "alice@im.wechat", direction: "out", sender: "bot", text: "I booked room 4" })
      const ofInbound = turnOf(ALICE, says("501", "really?", { svr_id: "500" }), quotes)
      const params = inboundContextParams(ofInbound, route, { commandsAuthorized: true }, undefined, yield* resolveQuote(ofInbound, helpers))
      expect(params.supplemental).toEqual({ quote: { isQuote: true, id: "500", fullId: "500", body: "the meeting is at noon", sender: ALICE } })
      expect(params.reply.replyToId).toBe("500")
      const ofReply = yield* resolveQuote(turnOf(ALICE, says("502", "which room?", { svr_id: "600" }), quotes), helpers)
      expect(ofReply).toMatchObject({ body: "I booked room 4", sender: "assistant" })
      // never known, or another user's conversation: the placeholder, never a leak
      expect(yield* resolveQuote(turnOf(ALICE, says("503", "?", { svr_id: "12345" }), quotes), helpers)).toMatchObject({ body: QUOTE_UNAVAILABLE })
      expect(yield* resolveQuote(turnOf("Bob@im.wechat", says("504", "?", { svr_id: "500" }), quotes), helpers)).toMatchObject({ body: QUOTE_UNAVAILABLE })
    }).pipe(Effect.provide(layer())))

  it.scoped("a partial quote gives exactly the selected substring; an md5 that matches nothing keeps the whole text", () =>
    Effect.gen(function*() {
      const quotes = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      const full = "alpha beta gamma beta delta"
      yield* quotes.record({ ids: ["700"], peer: "alice@im.wechat", direction: "out", sender: "bot", text: full })
      const selected = "beta gamma beta"
      const md5 = createHash("md5").update(selected).digest("hex")
      const partial = { start: "beta", end: "beta", startindex: 0, endindex: 0, quotemd5: md5 }
      const turn = turnOf(ALICE, says("701", "this part", { svr_id: "700", partial_text: partial }), quotes)
      const quote = yield* resolveQuote(turn, helpers)
      expect(quote).toMatchObject({ body: selected, quoteText: selected })
      expect(inboundContextParams(turn, route, { commandsAuthorized: true }, undefined, quote).extra).toMatchObject({ ReplyToQuoteText: selected })
      const wrong = turnOf(ALICE, says("702", "x", { svr_id: "700", partial_text: { ...partial, quotemd5: "0".repeat(32) } }), quotes)
      const kept = yield* resolveQuote(wrong, helpers)
      expect(kept).toMatchObject({ body: full })
      expect(kept?.quoteText).toBeUndefined()
    }).pipe(Effect.provide(layer())))

  it.scoped("no quote store (quoteCache.enabled false): an id-only quote gets the placeholder", () =>
    Effect.gen(function*() {
      const quotes = yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ enabled: false }))
      yield* quotes.record({ ids: ["800"], peer: "alice@im.wechat", direction: "in", sender: ALICE, text: "hi" })
      expect(Option.isNone(yield* quotes.lookup("alice@im.wechat", "800"))).toBe(true)
      expect(yield* resolveQuote(turnOf(ALICE, says("801", "?", { svr_id: "800" }), quotes), helpers)).toMatchObject({ body: QUOTE_UNAVAILABLE })
    }).pipe(Effect.provide(layer())))
})
