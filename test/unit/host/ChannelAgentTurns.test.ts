import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import { AsyncLocalStorage } from "node:async_hooks"
import type { OpenClawConfig } from "openclaw/plugin-sdk/core"
import type { ClaimedMessage } from "../../../src/account/Inbox.js"
import { PlatformMessageNotDispatchedError } from "openclaw/plugin-sdk/error-runtime"
import {
  ChunkDelivered,
  DeliveryUnknown,
  MessageRejected,
  NoContextToken,
  type OutboxError,
  Receipt,
  ServerUnreachable
} from "../../../src/account/Receipt.js"
import { REPLY_FAILURE_NOTICE } from "../../../src/host/ReplyMedia.js"
import { type InboundTurn, type ProgressItem, type ReplyChannel, TurnOutcome } from "../../../src/account/AgentTurns.js"
import { makeChannelCommands } from "../../../src/account/ChannelCommands.js"
import { DebugModeStore } from "../../../src/state/DebugModeStore.js"
import { ChannelTurns, type ChannelTurnsInput } from "../../../src/host/ChannelTurns.js"
import { MediaLoader, type MediaLoaderService, type MediaLoadRequest } from "../../../src/host/MediaLoader.js"
import { MediaLoadFailed } from "../../../src/host/MediaFile.js"
import { UploadSource } from "../../../src/ilink/CdnUploadSource.js"
import { type ChannelAgentTurnsSettings, makeChannelAgentTurns, withoutRepeatedCommentary } from "../../../src/host/ChannelAgentTurns.js"
import { missingRuntimePieces, REQUIRED_RUNTIME_PIECES } from "../../../src/host/ChannelRuntime.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { MessageItemType, type WeixinMessage } from "../../../src/wire/Message.js"
import { noMedia, type TurnMedia } from "../../../src/account/InboundMedia.js"
import type { InboundMediaHelpers } from "../../../src/host/InboundMediaFacts.js"

const ACCOUNT = "b0f5860fdecb-im-bot"
const SCANNER = "Owner01@im.wechat"
const STRANGER = "Bob02@im.wechat"
const cfg = { session: { dmScope: "per-account-channel-peer" } } as unknown as OpenClawConfig

// ---- a fake channelRuntime that records every call ------------------------------------------------

interface FakeScript {
  /** payloads the fake agent hands to `deliver`, in order */
  readonly replies?: ReadonlyArray<{
    readonly text?: string
    readonly mediaUrl?: string
    readonly mediaUrls?: ReadonlyArray<string>
    /** the dispatch kind the host delivers it as (default final) */
    readonly kind?: "tool" | "block" | "final"
  }>
  /** item events the fake agent emits before replying */
  readonly itemEvents?: ReadonlyArray<Record<string, unknown>>
  /** what `inbound.dispatch` resolves to (default: dispatched) */
  readonly result?: unknown
  /** `inbound.dispatch` rejects with this message */
  readonly reject?: string
  /** read when the agent runs: is "typing…" shown right now? */
  readonly typingProbe?: () => boolean
}

const makeFakeRuntime = (script: FakeScript = {}) => {
  const calls = {
    readAllowFromStore: [] as Array<Record<string, unknown>>,
    upsertPairingRequest: [] as Array<Record<string, unknown>>,
    buildPairingReply: [] as Array<Record<string, unknown>>,
    resolveAgentRoute: [] as Array<Record<string, any>>,
    buildContext: [] as Array<Record<string, any>>,
    dispatch: [] as Array<Record<string, any>>,
    deliverRejections: [] as Array<string>,
    /** what each `deliver` answered: its result, or the error it rejected with */
    deliverAnswers: [] as Array<{ readonly result?: unknown; readonly error?: unknown }>,
    typingDuringDispatch: [] as Array<boolean>
  }
  const pending = new Map<string, string>()
  const approved: Array<string> = []
  let nextCode = 1
  const runtime = {
    pairing: {
      readAllowFromStore: async (params: Record<string, unknown>) => {
        calls.readAllowFromStore.push(params)
        return [...approved]
      },
      upsertPairingRequest: async (params: Record<string, unknown>) => {
        calls.upsertPairingRequest.push(params)
        const id = String(params["id"]).toLowerCase()
        const existing = pending.get(id)
        if (existing !== undefined) return { code: existing, created: false }
        const code = `CODE${nextCode++}AB`
        pending.set(id, code)
        return { code, created: true }
      },
      buildPairingReply: (params: Record<string, unknown>) => {
        calls.buildPairingReply.push(params)
        return `pairing code: ${String(params["code"])} (${String(params["idLine"])})`
      }
    },
    routing: {
      resolveAgentRoute: (params: Record<string, any>) => {
        calls.resolveAgentRoute.push(params)
        return {
          agentId: "main",
          channel: params["channel"],
          accountId: params["accountId"],
          sessionKey: `agent:main:openclaw-weixin:${params["accountId"]}:direct:${params["peer"]?.id}`,
          mainSessionKey: "agent:main:main",
          lastRoutePolicy: "session",
          matchedBy: "default"
        }
      }
    },
    inbound: {
      buildContext: (params: Record<string, any>) => {
        calls.buildContext.push(params)
        return { MessageSid: params["messageId"], SessionKey: params["route"]?.routeSessionKey, built: true }
      },
      dispatch: async (plan: Record<string, any>) => {
        calls.dispatch.push(plan)
        calls.typingDuringDispatch.push(script.typingProbe?.() ?? false)
        if (script.reject !== undefined) throw new Error(script.reject)
        for (const event of script.itemEvents ?? []) plan["replyOptions"]?.onItemEvent?.(event)
        for (const { kind, ...payload } of script.replies ?? []) {
          try {
            calls.deliverAnswers.push({ result: await plan["delivery"].deliver(payload, { kind: kind ?? "final" }) })
          } catch (error) {
            calls.deliverAnswers.push({ error })
            calls.deliverRejections.push(String((error as Error).message))
            plan["delivery"].onError?.(error, { kind: kind ?? "final" })
          }
        }
        return script.result ?? { dispatched: true, admission: { kind: "dispatch" }, ctxPayload: {} }
      }
    }
  }
  /** what `openclaw pairing approve openclaw-weixin <CODE>` does to the store */
  const approve = (code: string) => {
    for (const [id, pendingCode] of pending) {
      if (pendingCode === code) {
        pending.delete(id)
        approved.push(id)
      }
    }
  }
  return { runtime, calls, approve }
}

// ---- a recording reply channel ------------------------------------------------------------------

const makeReplyChannel = (failWith?: (text: string) => OutboxError) => {
  const texts: Array<string> = []
  const progress: Array<ProgressItem> = []
  const media: Array<{ readonly caption: string; readonly files: ReadonlyArray<string> }> = []
  /** how many effects ran inside withTyping, and whether one is running now */
  const typing = { runs: 0, active: false }
  let n = 0
  const receipt = (to: string) =>
    Receipt.fromChunks(to, [new ChunkDelivered({ clientId: `c${++n}`, messageId: `m${n}` })])
  const channel: ReplyChannel = {
    sendText: (text) =>
      Effect.suspend(() => {
        if (failWith !== undefined) return Effect.fail(failWith(text))
        texts.push(text)
        return Effect.succeed(receipt("peer"))
      }),
    sendProgress: (item) => Effect.sync(() => {
      progress.push(item)
      return receipt("peer")
    }),
    sendMedia: (request) => Effect.sync(() => {
      media.push({ caption: request.caption, files: request.media.map((m) => m.fileName) })
      return receipt("peer")
    }),
    withTyping: (effect) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          typing.runs++
          typing.active = true
        }),
        () => effect,
        () => Effect.sync(() => (typing.active = false))
      )
  }
  return { channel, texts, progress, media, typing }
}

/** A claimed message from `sender`; an override set to undefined removes the field. */
const turnOf = (sender: string, overrides: Record<string, unknown> = {}, key = "mid:1001"): InboundTurn => {
  const fields: Record<string, unknown> = {
    message_id: "1001",
    from_user_id: sender,
    create_time_ms: 1_700_000_000_000,
    context_token: "ctx-1",
    item_list: [{ type: MessageItemType.TEXT, text_item: { text: "  hello agent  " } }],
    ...overrides
  }
  for (const name of Object.keys(fields)) if (fields[name] === undefined) delete fields[name]
  const msg = fields as unknown as WeixinMessage
  // the peer as the Inbox makes it
  const peer = Either.getOrThrow(normalizePeerId(sender))
  const claimed: ClaimedMessage = { key, peer, message: msg, claimedAt: 1 }
  return {
    accountId: ACCOUNT,
    claimed,
    peer,
    contextToken: msg.context_token,
    runId: "run-1",
    media: Effect.succeed(noMedia(0))
  }
}

const settings = (overrides: Partial<ChannelAgentTurnsSettings> = {}): ChannelAgentTurnsSettings => ({
  dmPolicy: "pairing",
  replyProgressMessages: true,
  ...overrides
})

const hostWith = (fake: ReturnType<typeof makeFakeRuntime>, overrides: Partial<ChannelAgentTurnsSettings> = {}) =>
  makeChannelAgentTurns({
    channelRuntime: fake.runtime,
    cfg,
    accountId: ACCOUNT,
    settings: settings(overrides),
    scannerUserId: SCANNER
  })

describe("ChannelAgentTurns inbound context", () => {
  it.effect("builds a direct-chat context keyed on the server message id, sender as reply target", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "hi" }] })
      const reply = makeReplyChannel()
      yield* hostWith(fake).run(turnOf(SCANNER), reply.channel)
      const params = fake.calls.buildContext[0]!
      expect(params["channel"]).toBe("openclaw-weixin")
      expect(params["provider"]).toBe("openclaw-weixin")
      expect(params["accountId"]).toBe(ACCOUNT)
      expect(params["from"]).toBe(SCANNER)
      expect(params["reply"]).toMatchObject({ to: SCANNER, originatingTo: SCANNER })
      expect(params["conversation"]).toEqual({ kind: "direct", id: SCANNER })
      expect(params["messageId"]).toBe("1001")
      expect(params["messageIdFull"]).toBe("1001")
      expect(params["timestamp"]).toBe(1_700_000_000_000)
      expect(params["message"]).toEqual({ rawBody: "  hello agent  ", body: "  hello agent  ", commandBody: "hello agent" })
      expect(params["route"]).toMatchObject({ agentId: "main", accountId: ACCOUNT })
      expect(params["extra"]).toMatchObject({ context_token: "ctx-1" })
      // the plan carries exactly the context the host built, and the same stable id
      const plan = fake.calls.dispatch[0]!
      expect(plan["ctxPayload"]).toEqual({ MessageSid: "1001", SessionKey: params["route"].routeSessionKey, built: true })
      expect(plan["messageId"]).toBe("1001")
      expect(plan["channel"]).toBe("openclaw-weixin")
      expect(plan["cfg"]).toBe(cfg)
    }))

  it.effect("uses the voice transcript or a media label as the body and passes the inline quote", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const host = hostWith(fake)
      const reply = makeReplyChannel()
      yield* host.run(
        turnOf(SCANNER, {
          item_list: [{ type: MessageItemType.VOICE, voice_item: { text: "spoken words" } }]
        }),
        reply.channel
      )
      yield* host.run(
        turnOf(SCANNER, {
          message_id: "1002",
          item_list: [{
            type: MessageItemType.IMAGE,
            image_item: {},
            ref_msg: { svr_id: "777", title: "earlier", message_item: { type: MessageItemType.TEXT, text_item: { text: "old text" } } }
          }]
        }, "mid:1002"),
        reply.channel
      )
      expect(fake.calls.buildContext[0]!["message"].rawBody).toBe("spoken words")
      const quoted = fake.calls.buildContext[1]!
      expect(quoted["message"].rawBody).toBe("[图片]")
      expect(quoted["reply"].replyToId).toBe("777")
      expect(quoted["supplemental"]).toEqual({ quote: { isQuote: true, id: "777", fullId: "777", body: "earlier | old text" } })
    }))

  it.effect("falls back to the Inbox key as the provider id when the message has no server id", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const turn = turnOf(SCANNER, { message_id: undefined, client_id: "cl-9" }, "cid:cl-9")
      yield* hostWith(fake).run(turn, makeReplyChannel().channel)
      expect(fake.calls.buildContext[0]!["messageId"]).toBe("cid:cl-9")
      expect(fake.calls.dispatch[0]!["messageId"]).toBe("cid:cl-9")
    }))

  it.effect("resolves the route with the config, the account and the sender as a direct peer", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      yield* hostWith(fake).run(turnOf(SCANNER), makeReplyChannel().channel)
      const args = fake.calls.resolveAgentRoute[0]!
      expect(args["cfg"]).toBe(cfg)
      expect(args["channel"]).toBe("openclaw-weixin")
      expect(args["accountId"]).toBe(ACCOUNT)
      expect(args["peer"]).toEqual({ kind: "direct", id: SCANNER })
      const plan = fake.calls.dispatch[0]!
      expect(plan["route"]).toEqual({ agentId: "main", sessionKey: `agent:main:openclaw-weixin:${ACCOUNT}:direct:${SCANNER}` })
      // lastRoutePolicy "session": the last route is recorded on the peer's own session
      expect(plan["record"].updateLastRoute).toEqual({
        sessionKey: `agent:main:openclaw-weixin:${ACCOUNT}:direct:${SCANNER}`,
        channel: "openclaw-weixin",
        to: SCANNER,
        accountId: ACCOUNT
      })
    }))
})

describe("ChannelAgentTurns pairing and dmPolicy", () => {
  it.effect("sends an unknown sender one pairing code, none for the next message, and runs the agent once approved", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "welcome" }] })
      const host = hostWith(fake)
      const reply = makeReplyChannel()

      const first = yield* host.run(turnOf(STRANGER), reply.channel)
      expect(first).toMatchObject({ _tag: "Skipped", reason: "pairing code sent" })
      expect(reply.texts).toEqual([`pairing code: CODE1AB (Your WeChat user id: ${STRANGER})`])
      expect(fake.calls.upsertPairingRequest[0]).toMatchObject({ channel: "openclaw-weixin", id: STRANGER, accountId: ACCOUNT })
      expect(fake.calls.dispatch).toHaveLength(0)

      const second = yield* host.run(turnOf(STRANGER, { message_id: "1002" }, "mid:1002"), reply.channel)
      expect(second._tag).toBe("Skipped")
      expect(reply.texts).toHaveLength(1)
      expect(fake.calls.dispatch).toHaveLength(0)

      fake.approve("CODE1AB")
      const third = yield* host.run(turnOf(STRANGER, { message_id: "1003" }, "mid:1003"), reply.channel)
      expect(third).toEqual({ _tag: "Completed", replies: 1 })
      expect(fake.calls.dispatch).toHaveLength(1)
      expect(reply.texts.at(-1)).toBe("welcome")
      expect(fake.calls.readAllowFromStore[0]).toEqual({ channel: "openclaw-weixin", accountId: ACCOUNT })
    }))

  it.effect("shows typing around the agent run only, never to a sender who gets a pairing code", () =>
    Effect.gen(function*() {
      const reply = makeReplyChannel()
      const fake = makeFakeRuntime({ replies: [{ text: "hi" }], typingProbe: () => reply.typing.active })
      const host = hostWith(fake)
      yield* host.run(turnOf(STRANGER), reply.channel)
      expect(reply.typing.runs).toBe(0)
      yield* host.run(turnOf(SCANNER, { message_id: "1010" }, "mid:1010"), reply.channel)
      expect(reply.typing.runs).toBe(1)
      expect(fake.calls.typingDuringDispatch).toEqual([true])
      expect(reply.typing.active).toBe(false)
    }))

  it.effect("always lets the QR scanner through under pairing and allowlist, in any case", () =>
    Effect.gen(function*() {
      for (const dmPolicy of ["pairing", "allowlist"] as const) {
        const fake = makeFakeRuntime()
        const outcome = yield* hostWith(fake, { dmPolicy }).run(
          turnOf(SCANNER.toLowerCase()),
          makeReplyChannel().channel
        )
        expect(outcome._tag).toBe("Completed")
        expect(fake.calls.upsertPairingRequest).toHaveLength(0)
        expect(fake.calls.buildContext[0]!["access"]).toEqual({ commands: { authorized: true } })
      }
    }))

  it.effect("allowlist drops an unknown sender silently and admits allowFrom and approved senders", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const host = hostWith(fake, { dmPolicy: "allowlist", allowFrom: ["user:carol03@IM.WECHAT"] })
      const reply = makeReplyChannel()
      const dropped = yield* host.run(turnOf(STRANGER), reply.channel)
      expect(dropped._tag).toBe("Skipped")
      expect(reply.texts).toEqual([])
      expect(fake.calls.upsertPairingRequest).toHaveLength(0)
      expect(fake.calls.dispatch).toHaveLength(0)

      const listed = yield* host.run(turnOf("Carol03@im.wechat"), reply.channel)
      expect(listed._tag).toBe("Completed")

      yield* Effect.promise(() => fake.runtime.pairing.upsertPairingRequest({ id: STRANGER }))
      fake.approve("CODE1AB")
      const approved = yield* host.run(turnOf(STRANGER, { message_id: "1005" }, "mid:1005"), reply.channel)
      expect(approved._tag).toBe("Completed")
    }))

  it.effect("open lets everyone through without reading the pairing store", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const outcome = yield* hostWith(fake, { dmPolicy: "open" }).run(turnOf(STRANGER), makeReplyChannel().channel)
      expect(outcome._tag).toBe("Completed")
      expect(fake.calls.readAllowFromStore).toHaveLength(0)
      // an unlisted sender may talk but is not a command owner
      expect(fake.calls.buildContext[0]!["access"]).toEqual({ commands: { authorized: false } })
    }))

  it.effect("disabled turns away everyone, the scanner included, without a reply", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const reply = makeReplyChannel()
      const outcome = yield* hostWith(fake, { dmPolicy: "disabled" }).run(turnOf(SCANNER), reply.channel)
      expect(outcome._tag).toBe("Skipped")
      expect(reply.texts).toEqual([])
      expect(fake.calls.dispatch).toHaveLength(0)
      expect(fake.calls.resolveAgentRoute).toHaveLength(0)
    }))

  it.effect("a pairing code that cannot be sent is logged and the turn still ends as skipped", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const reply = makeReplyChannel((text) => new NoContextToken({ peer: text }))
      const outcome = yield* hostWith(fake).run(turnOf(STRANGER), reply.channel)
      expect(outcome._tag).toBe("Skipped")
      expect(fake.calls.buildPairingReply).toHaveLength(1)
    }))
})

describe("ChannelAgentTurns channel commands (/echo, /toggle-debug)", () => {
  const withCommands = (turn: InboundTurn) =>
    Effect.map(makeChannelCommands(ACCOUNT), (commands): InboundTurn => ({ ...turn, commands }))
  const command = (sender: string, body: string) =>
    turnOf(sender, { item_list: [{ type: MessageItemType.TEXT, text_item: { text: body } }] })

  it.effect("an admitted sender's /echo is answered by the channel: no route, no context, no agent, no typing", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "from the agent" }] })
      const reply = makeReplyChannel()
      const outcome = yield* hostWith(fake).run(yield* withCommands(command(SCANNER, "/echo hi")), reply.channel)
      expect(outcome).toEqual(TurnOutcome.Command({ name: "/echo" }))
      expect(reply.texts[0]).toBe("hi")
      expect(reply.texts[1]).toMatch(/^⏱ \/echo/)
      expect(reply.texts).toHaveLength(2)
      expect([fake.calls.resolveAgentRoute, fake.calls.buildContext, fake.calls.dispatch].map((c) => c.length)).toEqual([0, 0, 0])
      expect(reply.typing.runs).toBe(0)
    }).pipe(Effect.provide(DebugModeStore.layerMemory)))

  it.effect("a stranger's /toggle-debug gets the pairing code, and the account's debug mode stays off", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const reply = makeReplyChannel()
      const outcome = yield* hostWith(fake).run(yield* withCommands(command(STRANGER, "/toggle-debug")), reply.channel)
      expect(outcome._tag).toBe("Skipped")
      expect(reply.texts).toEqual([`pairing code: CODE1AB (Your WeChat user id: ${STRANGER})`])
      expect(yield* (yield* DebugModeStore).isOn(ACCOUNT)).toBe(false)
    }).pipe(Effect.provide(DebugModeStore.layerMemory)))

  it.effect("any other slash command goes on to the agent (the host's own /stop, /new, …)", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "stopped" }] })
      const reply = makeReplyChannel()
      const outcome = yield* hostWith(fake).run(yield* withCommands(command(SCANNER, "/stop")), reply.channel)
      expect(outcome).toEqual(TurnOutcome.Completed({ replies: 1 }))
      expect(fake.calls.dispatch).toHaveLength(1)
      expect(reply.texts).toEqual(["stopped"])
    }).pipe(Effect.provide(DebugModeStore.layerMemory)))
})

describe("ChannelAgentTurns.isControlCommand (the host's /stop skips the peer's FIFO)", () => {
  const message = (body: string) => turnOf(SCANNER, { item_list: [{ type: MessageItemType.TEXT, text_item: { text: body } }] }).claimed.message
  const withText = (hasControlCommand: unknown) => {
    const fake = makeFakeRuntime()
    return makeChannelAgentTurns({
      channelRuntime: { ...fake.runtime, text: { hasControlCommand } },
      cfg,
      accountId: ACCOUNT,
      settings: settings(),
      scannerUserId: SCANNER
    })
  }

  it("asks the host's hasControlCommand with the config, for slash texts only", () => {
    const asked: Array<[unknown, unknown]> = []
    const host = withText((text: string, config: unknown) => {
      asked.push([text, config])
      return text === "/stop"
    })
    expect(host.isControlCommand!(message("  /stop "))).toBe(true)
    expect(host.isControlCommand!(message("/echo hi"))).toBe(false)
    expect(host.isControlCommand!(message("stop"))).toBe(false)
    expect(asked).toEqual([["/stop", cfg], ["/echo hi", cfg]])
  })

  it("says no when the host has no such function or it throws", () => {
    expect(withText(undefined).isControlCommand!(message("/stop"))).toBe(false)
    expect(withText(() => {
      throw new Error("broken host")
    }).isControlCommand!(message("/stop"))).toBe(false)
  })
})

describe("ChannelAgentTurns reply delivery", () => {
  it.effect("delivers each reply payload markdown-filtered through the reply channel and counts them", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({
        replies: [{ text: "English *中文* ![logo](x.png)" }, { text: "" }, { text: "second" }]
      })
      const reply = makeReplyChannel()
      const outcome = yield* hostWith(fake).run(turnOf(SCANNER), reply.channel)
      expect(reply.texts).toEqual(["English 中文", "second"])
      expect(outcome).toEqual({ _tag: "Completed", replies: 2 })
      expect(fake.calls.dispatch[0]!["replyOptions"].disableBlockStreaming).toBe(true)
    }))

  it.effect("sends tool progress items in order when replyProgressMessages is on, none when off", () =>
    Effect.gen(function*() {
      const itemEvents = [
        { kind: "tool", phase: "start", name: " search ", itemId: "t1" },
        { kind: "tool", phase: "update", name: "search", itemId: "t1" },
        { kind: "tool", phase: "end", title: "search", itemId: "t1", status: "completed" },
        { kind: "tool", phase: "end", itemId: "t2", status: "weird" },
        { kind: "thinking", phase: "start" }
      ]
      const on = makeFakeRuntime({ itemEvents, replies: [{ text: "done" }] })
      const reply = makeReplyChannel()
      yield* hostWith(on).run(turnOf(SCANNER), reply.channel)
      expect(reply.progress.map((item) => item.type)).toEqual([
        MessageItemType.TOOL_CALL_START,
        MessageItemType.TOOL_CALL_RESULT,
        MessageItemType.TOOL_CALL_RESULT
      ])
      expect(reply.progress[0]).toMatchObject({ is_completed: false, tool_call_start_item: { tool_name: "search", tool_call_id: "t1" } })
      expect(reply.progress[1]).toMatchObject({ is_completed: true, tool_call_result_item: { tool_name: "search", status: "completed" } })
      expect(reply.progress[2]).toMatchObject({ tool_call_result_item: { tool_name: "tool", tool_call_id: "t2", status: "unknown" } })

      const off = makeFakeRuntime({ itemEvents, replies: [{ text: "done" }] })
      const quiet = makeReplyChannel()
      yield* hostWith(off, { replyProgressMessages: false }).run(turnOf(SCANNER), quiet.channel)
      expect(quiet.progress).toEqual([])
      expect(off.calls.dispatch[0]!["replyOptions"].onItemEvent).toBeUndefined()
    }))

  it.effect("reports a failed delivery to the host and ends the turn with a deliver-stage error", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "lost" }] })
      const reply = makeReplyChannel(() => new NoContextToken({ peer: SCANNER }))
      const result = yield* Effect.either(hostWith(fake).run(turnOf(SCANNER), reply.channel))
      expect(fake.calls.deliverRejections).toHaveLength(1)
      expect(fake.calls.deliverRejections[0]).toContain("has not written to this bot")
      expect(Either.isLeft(result) && result.left.stage).toBe("deliver")
    }))

  it.effect("never silent: a reply WeChat refused gets the user one notice (at most one a minute), and none when nothing can reach them or the reply may have arrived", () =>
    Effect.gen(function*() {
      const failing = (error: (text: string) => OutboxError) => {
        const reply = makeReplyChannel()
        const sent = reply.channel.sendText
        // every agent text fails; the notice itself goes through
        const channel: ReplyChannel = { ...reply.channel, sendText: (text) => (text === REPLY_FAILURE_NOTICE ? sent(text) : Effect.fail(error(text))) }
        return { ...reply, channel }
      }
      const rejected = (text: string) => new MessageRejected({ peer: SCANNER, clientId: `c-${text}`, errmsg: "prepare failed", chunkIndex: 0, chunkCount: 1, sentBefore: [] })
      const refused = failing(rejected)
      const host = hostWith(makeFakeRuntime({ replies: [{ text: "one" }, { text: "two" }] }))
      yield* Effect.either(host.run(turnOf(SCANNER), refused.channel))
      expect(refused.texts).toEqual([REPLY_FAILURE_NOTICE])
      // a minute later, the next failure may tell them again
      yield* TestClock.adjust("61 seconds")
      yield* Effect.either(host.run(turnOf(SCANNER, { message_id: "1002" }, "mid:1002"), refused.channel))
      expect(refused.texts).toEqual([REPLY_FAILURE_NOTICE, REPLY_FAILURE_NOTICE])

      for (const error of [
        () => new NoContextToken({ peer: SCANNER }),
        (text: string) => new DeliveryUnknown({ peer: SCANNER, clientId: `c-${text}`, reason: "timeout", chunkIndex: 0, chunkCount: 1, sentBefore: [] })
      ]) {
        const quiet = failing(error)
        yield* Effect.either(hostWith(makeFakeRuntime({ replies: [{ text: "lost" }] })).run(turnOf(SCANNER), quiet.channel))
        expect(quiet.texts).toEqual([])
      }
    }))

  it.effect("settles each reply with the host: the sent messages' ids and text, the host's not-dispatched error, a partial delivery, an unknown one", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "the *答案*" }, { text: "" }] })
      yield* hostWith(fake).run(turnOf(SCANNER), makeReplyChannel().channel)
      // the host fires message_sent from these answers only when the dispatch asks it to
      expect(fake.calls.dispatch[0]!["delivery"].observeMessageSent).toBe(true)
      expect(fake.calls.deliverAnswers[0]!.result).toMatchObject({
        messageIds: ["c1"],
        receipt: { primaryPlatformMessageId: "c1", platformMessageIds: ["c1"], parts: [{ platformMessageId: "c1", kind: "text", index: 0 }] },
        visibleReplySent: true,
        content: "the 答案"
      })
      // an empty payload sends nothing and claims nothing
      expect(fake.calls.deliverAnswers[1]).toEqual({ result: undefined })

      const answerTo = (error: OutboxError) =>
        Effect.gen(function*() {
          const failing = makeFakeRuntime({ replies: [{ text: "lost" }] })
          yield* Effect.either(hostWith(failing).run(turnOf(SCANNER), makeReplyChannel(() => error).channel))
          return failing.calls.deliverAnswers[0]!.error as Error & Record<string, unknown>
        })
      const refused = yield* answerTo(new NoContextToken({ peer: SCANNER }))
      expect(refused).toBeInstanceOf(PlatformMessageNotDispatchedError)
      expect(refused["retryable"]).toBe(false)
      expect(refused.message).toContain("has not written to this bot")
      const unreachable = yield* answerTo(
        new ServerUnreachable({ peer: SCANNER, clientId: "c-x", reason: "ECONNREFUSED", chunkIndex: 1, chunkCount: 1, sentBefore: [] })
      )
      expect(unreachable).toBeInstanceOf(PlatformMessageNotDispatchedError)
      expect(unreachable["retryable"]).toBe(true)
      // the first chunk of two went out before the second was refused: the host keeps the visible one
      const partial = yield* answerTo(
        new MessageRejected({
          peer: SCANNER,
          clientId: "c-2",
          errmsg: "prepare failed",
          chunkIndex: 2,
          chunkCount: 2,
          sentBefore: [new ChunkDelivered({ clientId: "c-1", messageId: "m-1" })]
        })
      )
      expect(partial).not.toBeInstanceOf(PlatformMessageNotDispatchedError)
      expect(partial).toMatchObject({
        code: "CHANNEL_PARTIAL_DELIVERY",
        sentBeforeError: true,
        deliveryResult: { messageIds: ["c-1"], visibleReplySent: true, receipt: { platformMessageIds: ["c-1"] } }
      })
      // it may have arrived: neither "not dispatched" nor a partial claim
      const unknown = yield* answerTo(
        new DeliveryUnknown({ peer: SCANNER, clientId: "c-1", reason: "timeout", chunkIndex: 1, chunkCount: 1, sentBefore: [] })
      )
      expect(unknown).not.toBeInstanceOf(PlatformMessageNotDispatchedError)
      expect(unknown["code"]).toBeUndefined()
      expect(unknown.message).toContain("may or may not have arrived")
    }))

  it("strips from a final answer the commentary the user already got, and only a true repeat", () => {
    expect(withoutRepeatedCommentary("Let me check.", ["Let me check."])).toBe("")
    expect(withoutRepeatedCommentary("Let me check.\n\nIt is 20°C.", ["Let me check."])).toBe("It is 20°C.")
    expect(withoutRepeatedCommentary("A. B. C", ["A.", "B."])).toBe("C")
    // out of order, partial, or no commentary: left whole
    expect(withoutRepeatedCommentary("B. A. C", ["A.", "B."])).toBe("B. A. C")
    expect(withoutRepeatedCommentary("Let me", ["Let me check."])).toBe("Let me")
    expect(withoutRepeatedCommentary("answer", [])).toBe("answer")
  })

  it.effect("tool commentary followed by a final answer that repeats it reaches the user once", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({
        replies: [
          { text: "Let me look that up.", kind: "block" },
          { text: "Let me look that up.\n\nIt is sunny in 北京.", kind: "final" },
          { text: "Checking the map.", kind: "tool" },
          { text: "Checking the map.", kind: "final" }
        ]
      })
      const reply = makeReplyChannel()
      const outcome = yield* hostWith(fake).run(turnOf(SCANNER), reply.channel)
      expect(reply.texts).toEqual(["Let me look that up.", "It is sunny in 北京.", "Checking the map."])
      expect(outcome).toEqual({ _tag: "Completed", replies: 3 })
      // the host is told what the user saw of the answer, and that the pure repeat sent nothing
      expect(fake.calls.deliverAnswers[1]!.result).toMatchObject({ content: "It is sunny in 北京." })
      expect(fake.calls.deliverAnswers[3]).toEqual({ result: undefined })
    }))

  it.effect("maps a rejected agent turn to an agent-stage error and a host skip to Skipped", () =>
    Effect.gen(function*() {
      const failing = makeFakeRuntime({ reject: "model exploded" })
      const failed = yield* Effect.either(hostWith(failing).run(turnOf(SCANNER), makeReplyChannel().channel))
      expect(Either.isLeft(failed) && failed.left.stage).toBe("agent")
      expect(Either.isLeft(failed) && failed.left.detail).toContain("model exploded")

      const skipping = makeFakeRuntime({ result: { dispatched: false, admission: { kind: "drop", reason: "duplicate" } } })
      const skipped = yield* hostWith(skipping).run(turnOf(SCANNER), makeReplyChannel().channel)
      expect(skipped).toEqual({ _tag: "Skipped", reason: "duplicate" })
    }))
})

describe("ChannelAgentTurns on an incomplete host", () => {
  it("lists every missing channelRuntime piece", () => {
    expect(missingRuntimePieces(undefined)).toEqual(REQUIRED_RUNTIME_PIECES)
    expect(missingRuntimePieces(makeFakeRuntime().runtime)).toEqual([])
    const { inbound: _inbound, ...withoutInbound } = makeFakeRuntime().runtime
    expect(missingRuntimePieces(withoutInbound)).toEqual(["inbound.buildContext", "inbound.dispatch"])
  })

  it.effect("ends the turn with a typed error naming the missing piece instead of a TypeError", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const withoutDispatch = {
        ...fake.runtime,
        inbound: { buildContext: fake.runtime.inbound.buildContext, dispatch: "not a function" }
      }
      const host = makeChannelAgentTurns({
        channelRuntime: withoutDispatch,
        cfg,
        accountId: ACCOUNT,
        settings: settings(),
        scannerUserId: SCANNER
      })
      const result = yield* Effect.either(host.run(turnOf(SCANNER), makeReplyChannel().channel))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left._tag).toBe("HostTurnError")
        expect(result.left.stage).toBe("agent")
        expect(result.left.detail).toContain("inbound.dispatch")
      }

      const bare = makeChannelAgentTurns({ channelRuntime: {}, cfg, accountId: ACCOUNT, settings: settings(), scannerUserId: SCANNER })
      const bareResult = yield* Effect.either(bare.run(turnOf(STRANGER), makeReplyChannel().channel))
      expect(Either.isLeft(bareResult) && bareResult.left.detail).toContain("pairing.readAllowFromStore")
    }))

  it.effect("turns a throwing route resolver into a route-stage error", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const throwing = {
        ...fake.runtime,
        routing: { resolveAgentRoute: () => { throw new Error("no agents configured") } }
      }
      const host = makeChannelAgentTurns({ channelRuntime: throwing, cfg, accountId: ACCOUNT, settings: settings(), scannerUserId: SCANNER })
      const result = yield* Effect.either(host.run(turnOf(SCANNER), makeReplyChannel().channel))
      expect(Either.isLeft(result) && result.left.stage).toBe("route")
      expect(Either.isLeft(result) && result.left.detail).toContain("no agents configured")
    }))
})

describe("ChannelTurns.layer", () => {
  it.effect("builds each account's agent turns from its channelRuntime, config and stored QR scanner", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "hi" }] })
      const input = {
        accountId: ACCOUNT,
        account: { accountId: ACCOUNT, userId: SCANNER } as ChannelTurnsInput["account"],
        cfg,
        config: { dispatchConcurrency: 4, textChunkLimit: 2000, replyProgressMessages: true, dmPolicy: "allowlist" },
        channelRuntime: fake.runtime as unknown as ChannelTurnsInput["channelRuntime"],
        log: undefined
      } satisfies ChannelTurnsInput
      const host = yield* Effect.flatMap(ChannelTurns, (turns) => turns.forAccount(input)).pipe(
        Effect.provide(ChannelTurns.layer),
        Effect.provide(MediaLoader.layerLocalFiles([]))
      )
      const reply = makeReplyChannel()
      expect((yield* host.run(turnOf(SCANNER), reply.channel))._tag).toBe("Completed")
      // allowlist from the config: a stranger is dropped without a code
      expect((yield* host.run(turnOf(STRANGER, { message_id: "2001" }, "mid:2001"), reply.channel))._tag).toBe("Skipped")
      expect(fake.calls.upsertPairingRequest).toHaveLength(0)
      expect(reply.texts).toEqual(["hi"])
      // no inbound debounce in the host config: every message is its own turn
      expect(host.inboundDebounceMs).toBe(0)

      // the host's `messages.inbound` setting for this channel reaches the account's turns
      const debounced = yield* Effect.flatMap(ChannelTurns, (turns) =>
        turns.forAccount({
          ...input,
          cfg: { ...cfg, messages: { inbound: { debounceMs: 5_000, byChannel: { "openclaw-weixin": 1_200 } } } } as unknown as OpenClawConfig
        })).pipe(Effect.provide(ChannelTurns.layer), Effect.provide(MediaLoader.layerLocalFiles([])))
      expect(debounced.inboundDebounceMs).toBe(1_200)
    }))
})

describe("ChannelAgentTurns async context", () => {
  it.effect("calls the host inside the context the host started the account in, not the caller's", () =>
    Effect.gen(function*() {
      // stands for the host's per-request store: a turn started from an answered request must not carry it
      const request = new AsyncLocalStorage<string>()
      const seen: Array<string | undefined> = []
      const fake = makeFakeRuntime({ replies: [{ text: "hi" }] })
      const recording = <F extends (params: any) => unknown>(fn: F) =>
        ((params: Parameters<F>[0]) => {
          seen.push(request.getStore())
          return fn(params)
        }) as F
      fake.runtime.routing.resolveAgentRoute = recording(fake.runtime.routing.resolveAgentRoute)
      fake.runtime.inbound.buildContext = recording(fake.runtime.inbound.buildContext)
      fake.runtime.inbound.dispatch = recording(fake.runtime.inbound.dispatch)
      fake.runtime.pairing.readAllowFromStore = recording(fake.runtime.pairing.readAllowFromStore)
      // taken where the host started the account: outside any request
      const startContext = AsyncLocalStorage.snapshot()
      const turnsOf = (inHostContext: (<R>(fn: () => R) => R) | undefined) =>
        makeChannelAgentTurns({
          channelRuntime: fake.runtime,
          cfg,
          accountId: ACCOUNT,
          settings: settings({ dmPolicy: "allowlist", allowFrom: [STRANGER] }),
          scannerUserId: SCANNER,
          inHostContext
        })
      const runInRequest = (turns: ReturnType<typeof turnsOf>, key: string) =>
        Effect.promise(() =>
          request.run("web.login.wait", () => Effect.runPromise(turns.run(turnOf(STRANGER, {}, key), makeReplyChannel().channel)))
        )

      // without a host context the calls carry the request's store: this is what the host refuses
      yield* runInRequest(turnsOf(undefined), "mid:1")
      expect(seen.length).toBeGreaterThanOrEqual(3)
      expect(new Set(seen)).toEqual(new Set(["web.login.wait"]))

      seen.length = 0
      yield* runInRequest(turnsOf(startContext), "mid:2")
      expect(seen.length).toBeGreaterThanOrEqual(3)
      expect(new Set(seen)).toEqual(new Set([undefined]))
      expect(fake.calls.dispatch).toHaveLength(2)
    }))
})

describe("ChannelAgentTurns inbound media (PROTOCOL §6.3)", () => {
  const media: TurnMedia = {
    received: [{ kind: "file", path: "/m/report---1.pdf", size: 5, contentType: "application/pdf", fileName: "report.pdf", transcribed: false, quoted: false }],
    missing: [{ kind: "image", quoted: false, reason: "failed", cause: "CdnHttpError", detail: "CDN download: HTTP 500" }],
    skipped: 0,
    maxBytes: 100 * 1024 * 1024
  }
  const helpers = Effect.succeed<InboundMediaHelpers>({
    toInboundMediaFacts: (inputs) => inputs.map((input) => ({ ...input, normalizedBy: "host" }) as never),
    formatInboundMediaUnavailableText: ({ body, notice }) => `${body ?? ""} + ${notice}`
  })
  const withMedia = (turn: InboundTurn, fetched: { count: number }): InboundTurn => ({
    ...turn,
    media: Effect.sync(() => (fetched.count++, media))
  })

  it.effect("hands the host's media facts to buildContext and tells the agent, through the host's helper, what is missing", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "got it" }] })
      const fetched = { count: 0 }
      const host = makeChannelAgentTurns({ channelRuntime: fake.runtime, cfg, accountId: ACCOUNT, settings: settings(), scannerUserId: SCANNER, mediaHelpers: helpers })
      const turn = withMedia(turnOf(SCANNER, { item_list: [{ type: MessageItemType.FILE, file_item: {} }] }), fetched)
      yield* host.run(turn, makeReplyChannel().channel)
      const params = fake.calls.buildContext[0]!
      expect(params["media"]).toEqual([
        { path: "/m/report---1.pdf", contentType: "application/pdf", fileName: "report.pdf", kind: null, durationMs: null, transcribed: false, messageId: "1001", normalizedBy: "host" }
      ])
      expect(params["message"]).toEqual({
        rawBody: "[文件]",
        body: "[文件] + [media unavailable: image could not be downloaded]",
        bodyForAgent: "[文件] + [media unavailable: image could not be downloaded]",
        commandBody: "[文件]"
      })
      expect(fetched.count).toBe(1)
    }))

  it.effect("never fetches the media of a sender who is not admitted", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime()
      const fetched = { count: 0 }
      const host = makeChannelAgentTurns({ channelRuntime: fake.runtime, cfg, accountId: ACCOUNT, settings: settings(), scannerUserId: SCANNER, mediaHelpers: helpers })
      const outcome = yield* host.run(withMedia(turnOf(STRANGER), fetched), makeReplyChannel().channel)
      expect(outcome._tag).toBe("Skipped")
      expect(fetched.count).toBe(0)
      expect(fake.calls.buildContext).toEqual([])
    }))
})

describe("ChannelAgentTurns reply media", () => {
  it.effect("a reply with mediaUrl/mediaUrls goes out as the caption and its files, loaded for the routed agent", () =>
    Effect.gen(function*() {
      const fake = makeFakeRuntime({ replies: [{ text: "see *这个*", mediaUrl: "/w/a.png", mediaUrls: ["/w/b.pdf"] }] })
      const requests: Array<MediaLoadRequest> = []
      const loader: MediaLoaderService = {
        load: (request) =>
          Effect.sync(() => {
            requests.push(request)
            return { source: UploadSource.bytes(Buffer.from("x")), contentType: undefined, fileName: request.ref.slice(3) }
          })
      }
      const host = makeChannelAgentTurns({
        channelRuntime: fake.runtime,
        cfg,
        accountId: ACCOUNT,
        settings: settings(),
        scannerUserId: SCANNER,
        media: { loader, maxBytes: 5 * 1024 * 1024 }
      })
      const reply = makeReplyChannel()
      const outcome = yield* host.run(turnOf(SCANNER), reply.channel)
      expect(outcome).toMatchObject({ _tag: "Completed", replies: 1 })
      expect(reply.media).toEqual([{ caption: "see 这个", files: ["a.png", "b.pdf"] }])
      expect(reply.texts).toEqual([])
      expect(requests.map((r) => [r.ref, r.access, r.maxBytes])).toEqual([
        ["/w/a.png", { _tag: "Agent", cfg, agentId: "main" }, 5 * 1024 * 1024],
        ["/w/b.pdf", { _tag: "Agent", cfg, agentId: "main" }, 5 * 1024 * 1024]
      ])
      expect(fake.calls.deliverAnswers[0]!.result).toMatchObject({ messageIds: ["c1"], content: "see 这个", receipt: { parts: [{ kind: "media" }] } })

      // no file could be loaded and there is no caption: nothing of the reply went out, and the host is told so
      const none = makeFakeRuntime({ replies: [{ mediaUrl: "/w/gone.png" }] })
      const unloadable = makeChannelAgentTurns({
        channelRuntime: none.runtime,
        cfg,
        accountId: ACCOUNT,
        settings: settings(),
        scannerUserId: SCANNER,
        media: { loader: { load: (request) => Effect.fail(new MediaLoadFailed({ ref: request.ref, code: "not-found", reason: "gone" })) }, maxBytes: 1024 }
      })
      const result = yield* Effect.either(unloadable.run(turnOf(SCANNER), makeReplyChannel().channel))
      expect(Either.isLeft(result) && result.left.stage).toBe("deliver")
      expect(none.calls.deliverAnswers[0]!.error).toBeInstanceOf(PlatformMessageNotDispatchedError)
      expect((none.calls.deliverAnswers[0]!.error as Error).message).toContain("none of the 1 file(s)")
    }))
})
