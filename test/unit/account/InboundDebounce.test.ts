import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Logger } from "effect"
import type { OpenClawConfig } from "openclaw/plugin-sdk/core"
import { joinsDebounce, mergeDebounced } from "../../../src/account/InboundDebounce.js"
import type { ClaimedMessage } from "../../../src/account/Inbox.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { hostInboundDebounceMs } from "../../../src/host/ChannelTurns.js"
import { MessageItemType, type WeixinMessage } from "../../../src/wire/Message.js"

const peer = Either.getOrThrow(normalizePeerId("alice@im.wechat"))

const claimedOf = (id: string, items: ReadonlyArray<unknown>, token = `ctx-${id}`): ClaimedMessage => ({
  key: `mid:${id}`,
  peer,
  claimedAt: Number(id),
  message: { message_id: id, from_user_id: "alice@im.wechat", context_token: token, item_list: items } as unknown as WeixinMessage
})
const text = (value: string) => ({ type: MessageItemType.TEXT, text_item: { text: value } })

describe("InboundDebounce", () => {
  it("only plain text that is not a command joins: no media, no quote, no empty line, no slash command", () => {
    expect(joinsDebounce(claimedOf("1", [text("hello")]))).toBe(true)
    expect(joinsDebounce(claimedOf("2", [text("hello"), text("again")]))).toBe(true)
    expect(joinsDebounce(claimedOf("3", [text("/stop")]))).toBe(false)
    expect(joinsDebounce(claimedOf("4", [text("  /echo hi")]))).toBe(false)
    expect(joinsDebounce(claimedOf("5", [text("   ")]))).toBe(false)
    expect(joinsDebounce(claimedOf("6", []))).toBe(false)
    expect(joinsDebounce(claimedOf("7", [{ type: MessageItemType.IMAGE, image_item: {} }]))).toBe(false)
    expect(joinsDebounce(claimedOf("8", [{ ...text("look"), ref_msg: { title: "earlier" } }]))).toBe(false)
    expect(joinsDebounce(claimedOf("9", [{ type: 99, mystery_item: {} }]))).toBe(false)
  })

  it("merges the lines in order under the first line's ids, with the newest context token", () => {
    const first = claimedOf("1", [text("one")])
    const merged = mergeDebounced(first, [claimedOf("2", [text(" two ")]), claimedOf("3", [text("three")], "")])
    expect(merged.key).toBe("mid:1")
    expect(merged.message.message_id).toBe("1")
    // the third line carried no token: the second's is the newest
    expect(merged.message.context_token).toBe("ctx-2")
    expect(merged.message.item_list).toEqual([{ type: MessageItemType.TEXT, text_item: { text: "one\ntwo\nthree" } }])
    // nothing joined: the message as it was
    expect(mergeDebounced(first, [])).toBe(first)
  })

  it.effect("reads the window with the host's own rule: the channel's setting over the global one, 0 when unset", () =>
    Effect.gen(function*() {
      const cfg = (messages: unknown) => ({ messages }) as unknown as OpenClawConfig
      expect(yield* hostInboundDebounceMs(cfg(undefined))).toBe(0)
      expect(yield* hostInboundDebounceMs(cfg({ inbound: { debounceMs: 1500 } }))).toBe(1500)
      expect(yield* hostInboundDebounceMs(cfg({ inbound: { debounceMs: 1500, byChannel: { "openclaw-weixin": 800 } } }))).toBe(800)
      expect(yield* hostInboundDebounceMs(cfg({ inbound: { debounceMs: 1500, byChannel: { telegram: 800 } } }))).toBe(1500)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))
})
