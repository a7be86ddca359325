/**
 * The Outbox over real HTTP against the sandbox emulator: each sendmessage outcome of PROTOCOL App. C
 * yields the right receipt or typed error, and nothing goes out without a context token.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Layer, Redacted, Schedule } from "effect"
import { ContextTokens } from "../../../src/account/ContextTokens.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { Outbox, type OutboxOptions } from "../../../src/account/Outbox.js"
import { normalizePeerId, type Peer } from "../../../src/domain/PeerId.js"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import type { WeixinMessage } from "../../../src/wire/Message.js"
import { scriptedApi } from "../../support/actorHarness.js"
import { defaultILinkTimeouts, ILinkTimeouts } from "../../../src/ilink/ILinkSettings.js"
import { type Emulator, makeEmulator } from "../../../sandbox/emulator/Emulator.js"

const user = "o9cQ8Abc@im.wechat"
/** a target as the outbound adapter makes it */
const peerOf = (raw: string): Peer => Either.getOrThrow(normalizePeerId(raw))

const setup = (options: Partial<Pick<OutboxOptions, "chunkLimit" | "replyBudget" | "retrySchedule">> = {}) =>
  Effect.gen(function* () {
    const emulator = yield* makeEmulator({ longPollMs: 300 })
    const bot = yield* emulator.addBot()
    yield* emulator.addUser(user)
    const connection = yield* ILinkConnection.make({
      baseUrl: emulator.baseUrl,
      token: Redacted.make(bot.token),
      accountId: "outbox-it"
    })
    const api = yield* ILinkApi
    const tokens = yield* ContextTokens.make({ accountId: "outbox-it" }).pipe(Effect.provide(ContextTokenStore.layerMemory))
    const outbox = yield* Outbox.make({
      accountId: "outbox-it",
      connection,
      contextTokens: tokens,
      ...options
    })
    /** the user writes to the bot; the token the server issued is remembered like an inbound turn does */
    const userWrites = (from = user) =>
      Effect.gen(function* () {
        const injected = yield* emulator.injectInbound({ botId: bot.botId, fromUserId: from, kind: "text", text: "hi" })
        yield* tokens.remember(Either.getOrThrow(normalizePeerId(from)), injected.contextToken!, yield* Clock.currentTimeMillis)
        return injected
      })
    const sent = emulator.sent(bot.botId)
    return { emulator, bot, api, tokens, outbox, userWrites, sent }
  })

const noViolations = (emulator: Emulator) =>
  Effect.map(emulator.violations(), (violations) => expect(violations).toEqual([]))

// short client timeouts keep the "hang" case quick; the sender reads them from its own context
const testLayer = Layer.merge(ILinkApi.Default, Layer.succeed(ILinkTimeouts, { ...defaultILinkTimeouts, send: Duration.seconds(1) }))

const live = (name: string, body: () => Effect.Effect<void, unknown, ILinkApi | import("effect").Scope.Scope>) =>
  it.live(name, () => Effect.scoped(body()).pipe(Effect.provide(testLayer)), 20_000)

describe("Outbox against the emulator", () => {
  live("a delivered send returns the server's message_id and the client_id the server recorded", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const injected = yield* t.userWrites()
      const receipt = yield* t.outbox.send({ to: peerOf(`user:${user}`), text: "hello", runId: "run-1" })
      const [record] = yield* t.sent
      expect(receipt.status).toBe("delivered")
      expect(record).toMatchObject({
        outcome: "delivered",
        toUserId: user,
        clientId: receipt.clientId,
        contextToken: injected.contextToken,
        runId: "run-1"
      })
      expect(receipt.chunks[0]).toMatchObject({ _tag: "Delivered", messageId: record?.messageId })
      yield* noViolations(t.emulator)
    }))

  live("ret=0 without message_id comes back as unconfirmed", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      yield* t.userWrites()
      yield* t.emulator.setFault({ endpoint: "sendmessage", fault: { kind: "no_message_id" }, times: 1 })
      const receipt = yield* t.outbox.send({ to: peerOf(user), text: "hello" })
      expect(receipt.status).toBe("unconfirmed")
      expect(receipt.chunks[0]?._tag).toBe("Unconfirmed")
      yield* noViolations(t.emulator)
    }))

  live("refuses a peer who never wrote without any request reaching the server", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const error = yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "hello" }))
      expect(error._tag).toBe("NoContextToken")
      expect(yield* t.sent).toEqual([])
      expect(yield* t.emulator.requests("sendmessage")).toEqual([])
      yield* noViolations(t.emulator)
    }))

  live("a stale token (ret=-2, no errmsg) is ContextTokenRejected and blocks sends until the user writes again", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      yield* t.userWrites()
      yield* t.emulator.invalidateContextTokens(t.bot.botId, user)
      const error = yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "hello" }))
      expect(error._tag).toBe("ContextTokenRejected")
      expect((yield* t.sent).map((s) => s.outcome)).toEqual(["stale_context_token"])
      expect((yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "again" })))._tag).toBe("ReplyBudgetSpent")
      expect(yield* t.sent).toHaveLength(1)
      yield* t.userWrites()
      expect((yield* t.outbox.send({ to: peerOf(user), text: "after writing" })).status).toBe("delivered")
      yield* noViolations(t.emulator)
    }))

  live("stops at the reply budget itself, so the server's budget is never hit", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      yield* t.userWrites()
      for (let i = 0; i < 10; i++) yield* t.outbox.send({ to: peerOf(user), text: `reply ${i}` })
      expect((yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "one too many" })))._tag).toBe("ReplyBudgetSpent")
      const outcomes = (yield* t.sent).map((s) => s.outcome)
      expect(outcomes).toEqual(Array.from({ length: 10 }, () => "delivered"))
      yield* noViolations(t.emulator)
    }))

  live("the server's own budget refusal (ret=-2) is ContextTokenRejected", () =>
    Effect.gen(function* () {
      const t = yield* setup({ replyBudget: 50 })
      yield* t.userWrites()
      for (let i = 0; i < 10; i++) yield* t.outbox.send({ to: peerOf(user), text: `reply ${i}` })
      const error = yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "one too many" }))
      expect(error._tag).toBe("ContextTokenRejected")
      expect((yield* t.sent).at(-1)?.outcome).toBe("budget_spent")
      yield* noViolations(t.emulator)
    }))

  live("a closed reply window on the server is ContextTokenRejected (the user must write again)", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      yield* t.userWrites()
      yield* t.emulator.advanceClock(24 * 3_600_000 + 1_000)
      const error = yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "late" }))
      expect(error._tag).toBe("ContextTokenRejected")
      expect((yield* t.sent).map((s) => s.outcome)).toEqual(["window_closed"])
      yield* noViolations(t.emulator)
    }))

  live("rate limiting is RateLimited", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      yield* t.userWrites()
      yield* t.emulator.setFault({ endpoint: "sendmessage", fault: { kind: "rate_limited" }, times: 1 })
      expect((yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "hello" })))._tag).toBe("RateLimited")
      yield* noViolations(t.emulator)
    }))

  live("a text over the server's limit is MessageRejected when sent whole, and delivered when chunked", () =>
    Effect.gen(function* () {
      const long = Array.from({ length: 11 }, (_, i) => `${i} ${"word ".repeat(100)}`).join("\n\n")
      expect(long.length).toBeGreaterThan(5_000)
      const whole = yield* setup({ chunkLimit: 10_000 })
      yield* whole.userWrites()
      expect((yield* Effect.flip(whole.outbox.send({ to: peerOf(user), text: long })))._tag).toBe("MessageRejected")
      expect((yield* whole.sent).map((s) => s.outcome)).toEqual(["text_too_long"])
      yield* noViolations(whole.emulator)

      const chunked = yield* setup()
      yield* chunked.userWrites()
      const receipt = yield* chunked.outbox.send({ to: peerOf(user), text: long })
      const records = yield* chunked.sent
      expect(receipt.status).toBe("delivered")
      expect(receipt.chunks.length).toBeGreaterThanOrEqual(3)
      expect(records.map((r) => r.outcome)).toEqual(receipt.chunks.map(() => "delivered"))
      expect(records.every((r) => JSON.stringify(r.msg).length < 2_500)).toBe(true)
      expect(records.map((r) => r.clientId)).toEqual(receipt.chunks.map((c) => c.clientId))
      yield* noViolations(chunked.emulator)
    }))

  live("a recipient the server does not know (ret=-3) is InvalidTarget", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const injected = yield* t.userWrites()
      // a stray id with a real token, as a host with a mangled target would send it
      const error = yield* Effect.flip(
        t.outbox.send({ to: peerOf("ghost@im.wechat"), text: "hello", contextToken: injected.contextToken! })
      )
      expect(error._tag).toBe("InvalidTarget")
      expect(error.message).toContain("check the recipient id")
      expect((yield* t.sent).map((s) => s.outcome)).toEqual(["invalid_to_user"])
      yield* noViolations(t.emulator)
    }))

  for (
    const [what, fault] of [
      ["an HTTP 500", { kind: "http", status: 500 }],
      ["a reset connection", { kind: "reset" }],
      ["no answer before the client timeout", { kind: "hang" }]
    ] as const
  ) {
    live(`${what} is DeliveryUnknown and the message is not resent`, () =>
      Effect.gen(function* () {
        const t = yield* setup()
        yield* t.userWrites()
        yield* t.emulator.setFault({ endpoint: "sendmessage", fault, times: 1 })
        const error = yield* Effect.flip(t.outbox.send({ to: peerOf(user), text: "hello" }))
        expect(error._tag).toBe("DeliveryUnknown")
        expect(error.message).toContain("may or may not have arrived")
        expect(yield* t.emulator.requests("sendmessage")).toHaveLength(1)
        yield* noViolations(t.emulator)
      }))
  }

  live("a server that cannot be reached is retried, then reported as ServerUnreachable", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      yield* t.userWrites()
      // a port nobody listens on: connection refused, provably never reached
      const closed = yield* ILinkConnection.make({ baseUrl: "http://127.0.0.1:9/", token: Redacted.make(t.bot.token) })
      const tokens = yield* ContextTokens.make({ accountId: "x" }).pipe(Effect.provide(ContextTokenStore.layerMemory))
      yield* tokens.remember(Either.getOrThrow(normalizePeerId(user)), "ctx", yield* Clock.currentTimeMillis)
      let attempts = 0
      // the real client, counting its sendmessage calls
      const counting = scriptedApi({
        sendMessage: (conn: ILinkConnection, request: { readonly msg: WeixinMessage }) =>
          Effect.suspend(() => (attempts++, t.api.sendMessage(conn, request)))
      })
      const outbox = yield* Outbox.make({
        accountId: "x",
        connection: closed,
        contextTokens: tokens,
        retrySchedule: Schedule.intersect(Schedule.spaced(Duration.millis(20)), Schedule.recurs(3))
      }).pipe(Effect.provide(counting))
      const result = yield* Effect.either(outbox.send({ to: peerOf(user), text: "hello" }))
      expect(Either.isLeft(result) && result.left._tag).toBe("ServerUnreachable")
      expect(attempts).toBe(4)
      yield* noViolations(t.emulator)
    }))
})
