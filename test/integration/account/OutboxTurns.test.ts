/**
 * Turns end to end over real HTTP, without the Monitor: Dispatcher → Host (agent run under withTyping) → Outbox →
 * emulator. Proves that several peers are served at once while each peer's replies keep their order,
 * and that typing starts and is cancelled around each turn.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Redacted } from "effect"
import { ContextTokens } from "../../../src/account/ContextTokens.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { Dispatcher } from "../../../src/account/Dispatcher.js"
import type { ClaimedMessage } from "../../../src/account/Inbox.js"
import { Outbox } from "../../../src/account/Outbox.js"
import { Typing } from "../../../src/account/Typing.js"
import type { InboundTurn } from "../../../src/account/AgentTurns.js"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { TestAgentTurns } from "../../../src/account/TestAgentTurns.js"
import { noMedia } from "../../../src/account/InboundMedia.js"

describe("turns against the emulator", () => {
  it.live("serves three peers at once, keeps each peer's reply order, and shows typing around each turn", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const emulator = yield* makeEmulator({ longPollMs: 300 })
        const bot = yield* emulator.addBot()
        const connection = yield* ILinkConnection.make({ baseUrl: emulator.baseUrl, token: Redacted.make(bot.token) })
        const tokens = yield* ContextTokens.make({ accountId: "turns-it" })
        const outbox = yield* Outbox.make({ accountId: "turns-it", connection, contextTokens: tokens })
        const typing = yield* Typing.make({ accountId: "turns-it", connection })
        const texts = new Map<string, string>()
        // each turn "thinks" for 300 ms of real time, then echoes the inbound text
        const host = yield* TestAgentTurns.make({
          delay: Duration.millis(300),
          replies: (turn: InboundTurn) => [`echo ${texts.get(turn.claimed.key)}`]
        })

        const runTurn = (claimed: ClaimedMessage) =>
          Effect.gen(function* () {
            const peer = claimed.peer
            const contextToken = claimed.message.context_token
            if (contextToken !== undefined) yield* tokens.remember(claimed.peer, contextToken, claimed.claimedAt)
            const turn: InboundTurn = { accountId: "turns-it", claimed, peer, contextToken, runId: `run-${claimed.key}`, media: Effect.succeed(noMedia(0)) }
            const reply = {
              ...outbox.replyChannel({ to: peer, contextToken, runId: turn.runId }),
              withTyping: <A, E, R>(effect: Effect.Effect<A, E, R>) => typing.duringTurn(peer, contextToken, effect)
            }
            yield* host.run(turn, reply)
          })
        const dispatcher = yield* Dispatcher.make({ concurrency: 8, handle: runTurn })

        const users = ["alice@im.wechat", "Bob@im.wechat", "carol@im.wechat"]
        for (const user of users) yield* emulator.addUser(user)
        // a burst in arrival order: everyone's first message, then everyone's second, …
        for (let n = 1; n <= 3; n++) {
          for (const user of users) {
            const text = `${user.split("@")[0]}-${n}`
            const injected = yield* emulator.injectInbound({ botId: bot.botId, fromUserId: user, kind: "text", text })
            const key = `mid:${injected.messageId}`
            texts.set(key, text)
            const claimed: ClaimedMessage = {
              key,
              peer: Either.getOrThrow(normalizePeerId(user)),
              message: { from_user_id: user, message_id: injected.messageId!, context_token: injected.contextToken! },
              claimedAt: yield* Clock.currentTimeMillis
            }
            yield* dispatcher.offer(claimed)
          }
        }
        yield* waitUntil("all turns to finish", dispatcher.size, (n) => n === 0)

        const turns = yield* host.turns
        expect(turns.map((t) => t.outcome)).toEqual(turns.map(() => "completed"))
        expect(yield* host.maxActive).toBe(3)
        const sent = yield* emulator.sent(bot.botId)
        for (const user of users) {
          const name = user.split("@")[0]
          const replies = sent.filter((s) => s.toUserId === user)
          expect(replies.map((s) => s.outcome)).toEqual(["delivered", "delivered", "delivered"])
          expect(replies.map((s) => JSON.stringify(s.msg))).toEqual(
            [1, 2, 3].map((n) => expect.stringContaining(`"echo ${name}-${n}"`))
          )
          const statuses = (yield* emulator.typingEvents(bot.botId)).filter((e) => e.userId === user).map((e) => e.status)
          expect(statuses[0]).toBe("typing")
          expect(statuses.at(-1)).toBe("cancel")
          expect(statuses.filter((s) => s === "cancel")).toHaveLength(3)
        }
        expect(yield* emulator.violations()).toEqual([])
      })
    ).pipe(Effect.provide(ILinkApi.Default), Effect.provide(ContextTokenStore.layerMemory)), 20_000)
})
