/**
 * The channel's own commands (src/account/ChannelCommands.ts): what counts as one, what `/echo` and
 * `/toggle-debug` answer, a failed command, and the debug trace.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, TestClock } from "effect"
import type { InboundTurn, ReplyChannel } from "../../../src/account/AgentTurns.js"
import { TurnOutcome } from "../../../src/account/AgentTurns.js"
import {
  ChannelCommand,
  debugTrace,
  ECHO_MAX_CHARS,
  echoReport,
  makeChannelCommands,
  parseChannelCommand
} from "../../../src/account/ChannelCommands.js"
import type { ClaimedMessage } from "../../../src/account/Inbox.js"
import { noMedia } from "../../../src/account/InboundMedia.js"
import { ChunkDelivered, NoContextToken, Receipt } from "../../../src/account/Receipt.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { DebugModeStore } from "../../../src/state/DebugModeStore.js"
import { StateError } from "../../../src/state/StateError.js"
import { MessageItemType, type WeixinMessage } from "../../../src/wire/Message.js"

const ACCOUNT = "b0f5860fdecb-im-bot"
const text = (value: string): WeixinMessage =>
  ({ message_id: "7", from_user_id: "u@im.wechat", item_list: [{ type: MessageItemType.TEXT, text_item: { text: value } }] }) as WeixinMessage

const turnOf = (body: string, overrides: Partial<WeixinMessage> = {}, claimedAt = 1_700_000_000_500): InboundTurn => {
  const message = { ...text(body), create_time_ms: 1_700_000_000_000, context_token: "ctx", ...overrides } as WeixinMessage
  const peer = Either.getOrThrow(normalizePeerId("u@im.wechat"))
  const claimed: ClaimedMessage = { key: "mid:7", peer, message, claimedAt }
  return { accountId: ACCOUNT, claimed, peer, contextToken: "ctx", runId: "r", media: Effect.succeed(noMedia(0)) }
}

const recorder = () => {
  const texts: Array<string> = []
  const channel: ReplyChannel = {
    sendText: (t) => Effect.sync(() => {
      texts.push(t)
      return Receipt.fromChunks("u", [new ChunkDelivered({ clientId: "c", messageId: "m" })])
    }),
    sendProgress: () => Effect.die("no progress expected"),
    sendMedia: () => Effect.die("no media expected"),
    withTyping: (effect) => effect
  }
  return { texts, channel }
}

describe("parseChannelCommand", () => {
  it("takes /echo and /toggle-debug from the first text item, trimmed, case-insensitive, the text after the first space", () => {
    expect(parseChannelCommand(text("/echo hi there"))).toEqual(Option.some(ChannelCommand.Echo({ text: "hi there" })))
    expect(parseChannelCommand(text("  /ECHO  spaced "))).toEqual(Option.some(ChannelCommand.Echo({ text: " spaced" })))
    expect(parseChannelCommand(text("/echo"))).toEqual(Option.some(ChannelCommand.Echo({ text: "" })))
    expect(parseChannelCommand(text("/Toggle-Debug"))).toEqual(Option.some(ChannelCommand.ToggleDebug()))
  })

  it("leaves everything else to the agent: other commands, a word that merely starts like one, plain text, no text item", () => {
    for (const body of ["/stop", "/new", "/echoes hi", "/toggle-debugging", "echo /echo", "", "   "]) {
      expect(parseChannelCommand(text(body))).toEqual(Option.none())
    }
    const picture = { message_id: "8", item_list: [{ type: MessageItemType.IMAGE, image_item: {} }] } as WeixinMessage
    expect(parseChannelCommand(picture)).toEqual(Option.none())
    expect(parseChannelCommand({ message_id: "9" } as WeixinMessage)).toEqual(Option.none())
  })
})

describe("echoReport", () => {
  it("says when WeChat created the message and how long each side took", () => {
    expect(echoReport(1_700_000_000_000, 1_700_000_000_250, 1_700_000_000_400).split("\n")).toEqual([
      "⏱ /echo",
      "• created by WeChat: 2023-11-14T22:13:20.000Z",
      "• WeChat → openclaw-weixin: 250 ms",
      "• openclaw-weixin until this answer: 150 ms"
    ])
  })

  it("says unknown when the server sent no creation time (missing, zero or negative)", () => {
    for (const created of [undefined, 0, -5]) {
      const lines = echoReport(created, 1_000, 1_200).split("\n")
      expect(lines[1]).toBe("• created by WeChat: unknown")
      expect(lines[2]).toBe("• WeChat → openclaw-weixin: unknown")
    }
  })
})

const withDebugStore = Effect.provide(DebugModeStore.layerMemory)

describe("ChannelCommands.handle", () => {
  it.effect("/echo answers the text, then the timing report; the agent is not asked", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_700_000_000_800)
      const commands = yield* makeChannelCommands(ACCOUNT)
      const reply = recorder()
      const handled = yield* commands.handle(turnOf("/echo hi"), reply.channel)
      expect(handled).toEqual(Option.some("/echo"))
      expect(reply.texts).toHaveLength(2)
      expect(reply.texts[0]).toBe("hi")
      expect(reply.texts[1]).toContain("• WeChat → openclaw-weixin: 500 ms")
      expect(reply.texts[1]).toContain("• openclaw-weixin until this answer: 300 ms")
    }).pipe(withDebugStore))

  it.effect("/echo without text answers the report alone; 100 KB of text is cut to one message", () =>
    Effect.gen(function*() {
      const commands = yield* makeChannelCommands(ACCOUNT)
      const bare = recorder()
      yield* commands.handle(turnOf("/echo   "), bare.channel)
      expect(bare.texts).toHaveLength(1)
      expect(bare.texts[0]).toMatch(/^⏱ \/echo/)
      const big = recorder()
      yield* commands.handle(turnOf(`/echo ${"x".repeat(100_000)}`), big.channel)
      expect(big.texts).toHaveLength(2)
      expect(big.texts[0]!.startsWith("x".repeat(ECHO_MAX_CHARS))).toBe(true)
      expect(big.texts[0]).toContain(`(${100_000 - ECHO_MAX_CHARS} more characters not echoed)`)
    }).pipe(withDebugStore))

  it.effect("/toggle-debug flips the account's flag in debug-mode.json and says which way", () =>
    Effect.gen(function*() {
      const commands = yield* makeChannelCommands(ACCOUNT)
      const store = yield* DebugModeStore
      const reply = recorder()
      expect(yield* commands.debugOn).toBe(false)
      yield* commands.handle(turnOf("/toggle-debug"), reply.channel)
      expect(yield* commands.debugOn).toBe(true)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      expect(yield* store.isOn("another-im-bot")).toBe(false)
      yield* commands.handle(turnOf("/toggle-debug"), reply.channel)
      expect(yield* commands.debugOn).toBe(false)
      expect(reply.texts[0]).toMatch(/^Debug mode is on/)
      expect(reply.texts[1]).toBe("Debug mode is off for this WeChat bot.")
    }).pipe(withDebugStore))

  it.effect("a command that fails is answered with its reason and still handled (never reaches the agent)", () =>
    Effect.gen(function*() {
      const broken = Layer.succeed(DebugModeStore, DebugModeStore.make({
        file: "/state/openclaw-weixin/debug-mode.json",
        isOn: () => Effect.succeed(false),
        toggle: () => Effect.fail(new StateError({ path: "/state/openclaw-weixin/debug-mode.json", operation: "write", message: "disk full" }))
      }))
      const reply = recorder()
      const handled = yield* makeChannelCommands(ACCOUNT).pipe(
        Effect.flatMap((commands) => commands.handle(turnOf("/toggle-debug"), reply.channel)),
        Effect.provide(broken)
      )
      expect(handled).toEqual(Option.some("/toggle-debug"))
      expect(reply.texts).toEqual(["/toggle-debug failed: disk full"])
    }))

  it.effect("a reply that cannot be sent (no context token) is logged, and the command is still handled", () =>
    Effect.gen(function*() {
      const commands = yield* makeChannelCommands(ACCOUNT)
      const refusing: ReplyChannel = { ...recorder().channel, sendText: () => Effect.fail(new NoContextToken({ peer: "u@im.wechat" })) }
      expect(yield* commands.handle(turnOf("/echo hi"), refusing)).toEqual(Option.some("/echo"))
    }).pipe(withDebugStore))
})

describe("debugTrace", () => {
  it("names the message, the outcome and each step's time", () => {
    const trace = debugTrace(turnOf("hello"), TurnOutcome.Completed({ replies: 2 }), {
      createdAtMs: 1_700_000_000_000,
      claimedAt: 1_700_000_000_100,
      startedAt: 1_700_000_000_150,
      endedAt: 1_700_000_001_150
    }).split("\n")
    expect(trace[0]).toBe("⏱ debug")
    expect(trace[1]).toBe("in: mid:7 from u@im.wechat, items [1], 5 characters, context token present")
    expect(trace[2]).toBe("turn: answered with 2 message(s)")
    expect(trace.slice(3)).toEqual([
      "• WeChat → claimed: 100 ms",
      "• claimed → turn start (queue): 50 ms",
      "• turn (access, route, media, agent, replies): 1000 ms",
      "• total: 1150 ms"
    ])
    expect(debugTrace(turnOf("x"), "the host failed", { createdAtMs: undefined, claimedAt: 1, startedAt: 1, endedAt: 2 }))
      .toContain("turn: failed: the host failed")
  })
})
