import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Exit, Fiber, Scope, TestClock } from "effect"
import { ContextTokens } from "../../../src/account/ContextTokens.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { defaultReplyBudget, Outbox, PROGRESS_RESERVE, sendStopGrace } from "../../../src/account/Outbox.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import type { SendMessageResponse } from "../../../src/wire/Api.js"
import {
  ILinkApiError,
  type ILinkError,
  ILinkHttpStatusError,
  ILinkTimeoutError,
  ILinkTransportError
} from "../../../src/wire/ILinkError.js"
import { MessageItemType, type WeixinMessage } from "../../../src/wire/Message.js"
import { scriptedApi, testConnection } from "../../support/actorHarness.js"

const endpoint = "ilink/bot/sendmessage"
const never = (detail = "ECONNREFUSED") =>
  new ILinkTransportError({ endpoint, reachedServer: "no", kind: "refused", detail })
const apiError = (ret: number, errmsg?: string) =>
  new ILinkApiError({ endpoint, reachedServer: "yes", ret, ...(errmsg === undefined ? {} : { errmsg }) })

type Answer = SendMessageResponse | ILinkError

/** A scripted sendmessage: answers are used in order, then every call is delivered. */
const fakeApi = (answers: Array<Answer> = []) => {
  const calls: Array<WeixinMessage> = []
  let next = 1
  const api = scriptedApi({
    sendMessage: (_conn: unknown, { msg }: { readonly msg: WeixinMessage }) =>
      Effect.suspend((): Effect.Effect<SendMessageResponse, ILinkError> => {
        calls.push(msg)
        const answer = answers.shift()
        if (answer === undefined) return Effect.succeed({ ret: 0, message_id: String(next++) })
        return "_tag" in answer ? Effect.fail(answer) : Effect.succeed(answer)
      })
  })
  return { api, calls }
}

const setup = (answers: Array<Answer> = [], options: { chunkLimit?: number; replyBudget?: number } = {}) =>
  Effect.gen(function* () {
    const fake = fakeApi(answers)
    const tokens = yield* memoryTokens
    const outbox = yield* Outbox.make({
      accountId: "bot",
      connection: testConnection,
      contextTokens: tokens,
      ...options
    }).pipe(Effect.provide(fake.api))
    return { ...fake, tokens, outbox }
  })

const peer = "o9cQ8Abc@im.wechat"
/** the peer as the Inbox or the outbound adapter makes it */
const target = Either.getOrThrow(normalizePeerId(peer))

/** ContextTokens over the in-memory token store */
const memoryTokens = ContextTokens.make({ accountId: "bot" }).pipe(Effect.provide(ContextTokenStore.layerMemory))

describe("Outbox", () => {
  it.scoped("refuses to send to a peer who never wrote, without calling the server", () =>
    Effect.gen(function* () {
      const { calls, outbox } = yield* setup()
      const error = yield* Effect.flip(outbox.send({ to: target, text: "hello" }))
      expect(error._tag).toBe("NoContextToken")
      expect(error.message).toContain("ask them to send a message first")
      expect(calls).toHaveLength(0)
    }))

  it.scoped("sends with the remembered token to the id as the server spelled it and returns a delivered receipt", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup()
      yield* tokens.remember(target, "ctx-1", 0)
      const receipt = yield* outbox.send({ to: Either.getOrThrow(normalizePeerId("user:O9CQ8ABC@im.wechat")), text: "hello", runId: "run-1" })
      expect(receipt.status).toBe("delivered")
      expect(receipt.chunks).toHaveLength(1)
      expect(receipt.chunks[0]).toMatchObject({ _tag: "Delivered", messageId: "1", clientId: receipt.clientId })
      expect(receipt.clientId).toMatch(/^openclaw-weixin:\d+-[0-9a-f]{8}$/)
      expect(calls[0]).toEqual({
        from_user_id: "",
        to_user_id: peer,
        client_id: receipt.clientId,
        message_type: 2,
        message_state: 2,
        item_list: [{ type: 1, text_item: { text: "hello" } }],
        context_token: "ctx-1",
        run_id: "run-1"
      })
    }))

  it.scoped("does not send a reply until the peer's token is on disk", () =>
    Effect.gen(function* () {
      const fake = fakeApi()
      const memory = yield* Effect.provide(ContextTokenStore, ContextTokenStore.layerMemory)
      const diskGate = yield* Deferred.make<void>()
      const gated = ContextTokenStore.make({
        ...memory,
        saveTokens: (id, next) => Effect.zipRight(Deferred.await(diskGate), memory.saveTokens(id, next))
      })
      const tokens = yield* ContextTokens.make({ accountId: "bot" }).pipe(Effect.provideService(ContextTokenStore, gated))
      const outbox = yield* Outbox.make({ accountId: "bot", connection: testConnection, contextTokens: tokens }).pipe(
        Effect.provide(fake.api)
      )
      yield* tokens.remember(target, "ctx-1", 0)
      const sending = yield* Effect.fork(outbox.send({ to: target, text: "hello" }))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      expect(fake.calls).toHaveLength(0)
      yield* Deferred.succeed(diskGate, undefined)
      yield* Fiber.join(sending)
      expect(yield* memory.loadTokens("bot")).toEqual({ [peer]: "ctx-1" })
      expect(fake.calls).toHaveLength(1)
    }))

  it.scoped("reports ret=0 without message_id as unconfirmed, not delivered", () =>
    Effect.gen(function* () {
      const { outbox, tokens } = yield* setup([{ ret: 0 }])
      yield* tokens.remember(target, "ctx-1", 0)
      const receipt = yield* outbox.send({ to: target, text: "hi" })
      expect(receipt.status).toBe("unconfirmed")
      expect(receipt.chunks[0]?._tag).toBe("Unconfirmed")
    }))

  const classified: Array<[string, Answer, string]> = [
    ["ret=-2 without errmsg", apiError(-2), "ContextTokenRejected"],
    ["ret=-2 unknown error", apiError(-2, "unknown error"), "ContextTokenRejected"],
    ["ret=-2 rate limited", apiError(-2, "rate limited"), "RateLimited"],
    ["ret=-2 prepare failed", apiError(-2, "prepare failed"), "MessageRejected"],
    ["ret=-2 with another errmsg", apiError(-2, "reply window closed"), "ContextTokenRejected"],
    ["ret=-3 invalid arguments", apiError(-3, "invalid arguments"), "InvalidTarget"],
    ["ret=-1 in the body", { ret: -1, errmsg: "system busy" }, "SendFailed"],
    ["ret=-14 on sendmessage", apiError(-14, "session expired"), "SendFailed"],
    ["a timeout", new ILinkTimeoutError({ endpoint, reachedServer: "maybe", timeoutMs: 15_000 }), "DeliveryUnknown"],
    [
      "a reset after write",
      new ILinkTransportError({ endpoint, reachedServer: "maybe", kind: "reset", detail: "ECONNRESET" }),
      "DeliveryUnknown"
    ],
    ["HTTP 502", new ILinkHttpStatusError({ endpoint, reachedServer: "yes", status: 502, bodySnippet: "" }), "DeliveryUnknown"],
    ["HTTP 401", new ILinkHttpStatusError({ endpoint, reachedServer: "yes", status: 401, bodySnippet: "" }), "SendFailed"]
  ]
  for (const [what, answer, tag] of classified) {
    it.scoped(`maps ${what} to ${tag} after exactly one request`, () =>
      Effect.gen(function* () {
        const { calls, outbox, tokens } = yield* setup([answer])
        yield* tokens.remember(target, "ctx-1", 0)
        const error = yield* Effect.flip(outbox.send({ to: target, text: "hi" }))
        expect(error._tag).toBe(tag)
        expect(calls).toHaveLength(1)
        expect("clientId" in error && error.clientId).toBe(calls[0]?.client_id)
      }))
  }

  it.scoped("after a stale-token refusal, refuses further sends until the peer writes again", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup([apiError(-2)])
      yield* tokens.remember(target, "ctx-1", 0)
      const first = yield* Effect.flip(outbox.send({ to: target, text: "one" }))
      expect(first.message).toContain("the user has to write to the bot again")
      expect((yield* Effect.flip(outbox.send({ to: target, text: "two" })))._tag).toBe("ReplyBudgetSpent")
      expect(calls).toHaveLength(1)
      yield* tokens.remember(target, "ctx-2", 1)
      yield* outbox.send({ to: target, text: "three" })
      expect(calls).toHaveLength(2)
    }))

  it.scoped("retries a never-reached failure with the same client_id, backing off in virtual time", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup([never(), never()])
      yield* tokens.remember(target, "ctx-1", 0)
      const fiber = yield* Effect.fork(outbox.send({ to: target, text: "hi" }))
      yield* TestClock.adjust(Duration.millis(100))
      // the first retry waits ~200 ms (jittered 160–240 ms): not yet
      expect(calls).toHaveLength(1)
      yield* TestClock.adjust(Duration.seconds(5))
      const receipt = yield* Fiber.join(fiber)
      expect(receipt.status).toBe("delivered")
      expect(calls).toHaveLength(3)
      expect(new Set(calls.map((c) => c.client_id)).size).toBe(1)
      expect(calls[0]?.client_id).toBe(receipt.clientId)
    }))

  it.scoped("gives up after four retries of an unreachable server and says nothing was delivered", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup(Array.from({ length: 10 }, () => never()))
      yield* tokens.remember(target, "ctx-1", 0)
      const fiber = yield* Effect.fork(Effect.flip(outbox.send({ to: target, text: "hi" })))
      yield* TestClock.adjust(Duration.seconds(30))
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("ServerUnreachable")
      expect(calls).toHaveLength(5)
      // the reply was never sent, so it does not count against the budget
      expect((yield* tokens.lookup(target)).pipe((o) => o._tag === "Some" && o.value.repliesSince)).toBe(0)
    }))

  it.scoped("refuses replies once 24 h have passed since the peer's last message", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup()
      yield* tokens.remember(target, "ctx-1", 0)
      yield* TestClock.adjust(Duration.hours(24).pipe(Duration.subtract(Duration.seconds(1))))
      yield* outbox.send({ to: target, text: "just in time" })
      yield* TestClock.adjust(Duration.seconds(1))
      const error = yield* Effect.flip(outbox.send({ to: target, text: "too late" }))
      expect(error._tag).toBe("ReplyWindowClosed")
      expect(calls).toHaveLength(1)
    }))

  it.scoped("spends at most the reply budget per inbound message and refuses a send that would overrun it", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup([], { replyBudget: 3, chunkLimit: 10 })
      yield* tokens.remember(target, "ctx-1", 0)
      yield* outbox.send({ to: target, text: "one" })
      yield* outbox.send({ to: target, text: "two" })
      // two chunks would make four replies: refused whole, before any chunk goes out
      const overrun = yield* Effect.flip(outbox.send({ to: target, text: "0123456789 abcdefghij" }))
      expect(overrun._tag).toBe("ReplyBudgetSpent")
      expect(calls).toHaveLength(2)
      yield* outbox.send({ to: target, text: "three" })
      expect((yield* Effect.flip(outbox.send({ to: target, text: "four" })))._tag).toBe("ReplyBudgetSpent")
      yield* tokens.remember(target, "ctx-2", 1)
      yield* outbox.send({ to: target, text: "four" })
      expect(calls).toHaveLength(4)
    }))

  it.scoped("a turn with 12 tool calls still delivers its answer: progress leaves the last two replies of the budget unspent", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup()
      yield* tokens.remember(target, "ctx-1", 0)
      const channel = outbox.replyChannel({ to: target, contextToken: "ctx-1", runId: "r" })
      const progress: Array<string> = []
      for (let call = 1; call <= 12; call++) {
        for (const phase of ["start", "end"] as const) {
          const item = phase === "start"
            ? { type: MessageItemType.TOOL_CALL_START, tool_call_start_item: { tool_name: `tool${call}` } }
            : { type: MessageItemType.TOOL_CALL_RESULT, tool_call_result_item: { tool_name: `tool${call}`, status: "completed" } }
          const result = yield* Effect.either(channel.sendProgress(item as never))
          progress.push(result._tag === "Right" ? "sent" : result.left._tag)
        }
      }
      // budget 10, two kept back: eight progress items go out, the other sixteen are refused
      expect(progress.filter((p) => p === "sent")).toHaveLength(defaultReplyBudget - PROGRESS_RESERVE)
      expect(progress.slice(defaultReplyBudget - PROGRESS_RESERVE).every((p) => p === "ReplyBudgetSpent")).toBe(true)
      const answer = yield* channel.sendText("the final answer")
      expect(answer.status).toBe("delivered")
      expect(calls.at(-1)?.item_list?.[0]).toEqual({ type: 1, text_item: { text: "the final answer" } })
      // and one more (a notice) still fits; then the budget is spent for every kind of send
      yield* channel.sendText("one more")
      expect((yield* Effect.flip(channel.sendText("too many")))._tag).toBe("ReplyBudgetSpent")
      expect(calls).toHaveLength(defaultReplyBudget)
    }))

  it.scoped("splits a long text into chunks, each its own message and client_id, listed in the receipt", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup([{ ret: 0, message_id: "m1" }, { ret: 0 }, { ret: 0, message_id: "m3" }], {
        chunkLimit: 2000
      })
      yield* tokens.remember(target, "ctx-1", 0)
      const paragraph = "x".repeat(1500)
      const receipt = yield* outbox.send({ to: target, text: [paragraph, paragraph, paragraph].join("\n\n"), runId: "r" })
      expect(calls).toHaveLength(3)
      expect(calls.map((c) => c.item_list?.[0])).toEqual([1, 2, 3].map(() => ({ type: 1, text_item: { text: paragraph } })))
      expect(new Set(calls.map((c) => c.client_id)).size).toBe(3)
      expect(calls.every((c) => c.context_token === "ctx-1" && c.run_id === "r")).toBe(true)
      expect(receipt.chunks.map((c) => c._tag)).toEqual(["Delivered", "Unconfirmed", "Delivered"])
      expect(receipt.status).toBe("unconfirmed")
      expect(receipt.clientId).toBe(calls[2]?.client_id)
    }))

  it.scoped("stops a multi-chunk send at the first refused chunk and reports what went out before", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup([{ ret: 0, message_id: "m1" }, apiError(-2, "rate limited")], {
        chunkLimit: 10
      })
      yield* tokens.remember(target, "ctx-1", 0)
      const error = yield* Effect.flip(outbox.send({ to: target, text: "aaaaaaaa bbbbbbbb cccccccc" }))
      expect(error).toMatchObject({ _tag: "RateLimited", chunkIndex: 2, chunkCount: 3 })
      expect(error._tag === "RateLimited" && error.sentBefore.map((c) => c.clientId)).toEqual([calls[0]?.client_id])
      expect(calls).toHaveLength(2)
    }))

  it.scoped("fails fast with the login command while the account is logged out, and sends again after", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup()
      yield* tokens.remember(target, "ctx-1", 0)
      yield* outbox.setAuthExpired("iLink answered -14")
      const error = yield* Effect.flip(outbox.send({ to: target, text: "hi" }))
      expect(error._tag).toBe("AccountAuthExpired")
      expect(error.message).toContain("openclaw channels login --channel openclaw-weixin")
      expect(calls).toHaveLength(0)
      yield* outbox.clearAuthExpired
      yield* outbox.send({ to: target, text: "hi" })
      expect(calls).toHaveLength(1)
    }))

  // an empty recipient never reaches the Outbox: the outbound adapter refuses it (OutboundAdapter.test)
  it.scoped("rejects an empty message before queueing", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup()
      yield* tokens.remember(target, "ctx-1", 0)
      expect((yield* Effect.flip(outbox.send({ to: target, text: "   " })))._tag).toBe("EmptyMessage")
      expect(calls).toHaveLength(0)
    }))

  it.scoped("keeps the order of sends to one peer", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup([], { replyBudget: 100 })
      yield* tokens.remember(target, "ctx-1", 0)
      const fibers = []
      for (let i = 0; i < 20; i++) fibers.push(yield* Effect.fork(outbox.send({ to: target, text: `m${i}` })))
      for (const fiber of fibers) yield* Fiber.join(fiber)
      const texts = calls.map((c) => {
        const item = c.item_list?.[0]
        return item !== undefined && "text_item" in item ? item.text_item.text : ""
      })
      expect(texts).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`))
    }))

  it.scoped("the reply channel sends text and progress with the turn's token and run id", () =>
    Effect.gen(function* () {
      const { calls, outbox, tokens } = yield* setup()
      yield* tokens.remember(target, "ctx-new", 0)
      const reply = outbox.replyChannel({ to: target, contextToken: "ctx-turn", runId: "run-9" })
      yield* reply.sendProgress({ type: 11, is_completed: false, tool_call_start_item: { tool_name: "search" } })
      yield* reply.sendText("done")
      expect(calls.map((c) => [c.context_token, c.run_id, c.item_list?.[0]?.type])).toEqual([
        ["ctx-turn", "run-9", 11],
        ["ctx-turn", "run-9", 1]
      ])
    }))

  /** An Outbox in a scope the test closes; sendmessage records the call, then runs `respond`. */
  const stoppable = (respond: Effect.Effect<SendMessageResponse, ILinkError>) =>
    Effect.gen(function* () {
      const calls: Array<WeixinMessage> = []
      const api = scriptedApi({
        sendMessage: (_conn: unknown, { msg }: { readonly msg: WeixinMessage }) =>
          Effect.suspend(() => (calls.push(msg), respond))
      })
      const scope = yield* Scope.make()
      const tokens = yield* memoryTokens
      yield* tokens.remember(target, "ctx-1", 0)
      const outbox = yield* Outbox.make({ accountId: "bot", connection: testConnection, contextTokens: tokens }).pipe(
        Scope.extend(scope),
        Effect.provide(api)
      )
      const inFlight = yield* Effect.fork(outbox.send({ to: target, text: "one" }))
      const waiting = yield* Effect.fork(outbox.send({ to: target, text: "two" }))
      for (let i = 0; i < 20 && calls.length === 0; i++) yield* Effect.yieldNow()
      expect(calls).toHaveLength(1)
      const stopping = yield* Effect.fork(Scope.close(scope, Exit.void))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      return { outbox, inFlight, waiting, stopping }
    })

  const failureTag = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : undefined

  it.scoped("on stop, fails queued sends at once and lets a send finishing 100 ms later report delivered", () =>
    Effect.gen(function* () {
      const t = yield* stoppable(Effect.as(Effect.sleep(Duration.millis(100)), { ret: 0, message_id: "77" }))
      expect(failureTag(yield* Fiber.await(t.waiting))).toBe("OutboxClosed")
      const late = yield* Effect.flip(t.outbox.send({ to: target, text: "three" }))
      expect(late._tag).toBe("OutboxClosed")
      expect(t.inFlight.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(100))
      const receipt = yield* Fiber.join(t.inFlight)
      expect(receipt.status).toBe("delivered")
      expect(receipt.chunks[0]).toMatchObject({ _tag: "Delivered", messageId: "77" })
      // the stop did not wait out the rest of the grace
      yield* Fiber.join(t.stopping)
      expect(yield* TestClock.currentTimeMillis).toBe(100)
    }))

  it.scoped("on stop, cuts a hanging send off at the grace bound and reports DeliveryUnknown", () =>
    Effect.gen(function* () {
      const t = yield* stoppable(Effect.never)
      expect(failureTag(yield* Fiber.await(t.waiting))).toBe("OutboxClosed")
      yield* TestClock.adjust(Duration.toMillis(sendStopGrace) - 1)
      expect(t.inFlight.unsafePoll()).toBeNull()
      expect(t.stopping.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(t.stopping)
      expect(failureTag(yield* Fiber.await(t.inFlight))).toBe("DeliveryUnknown")
      expect(yield* TestClock.currentTimeMillis).toBe(Duration.toMillis(sendStopGrace))
      expect(Duration.toMillis(sendStopGrace)).toBe(300)
    }))

  it.scoped("on stop, also answers sends that were waiting for room in a full queue", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const tokens = yield* memoryTokens
      yield* tokens.remember(target, "ctx-1", 0)
      const hang = scriptedApi({ sendMessage: () => Effect.never })
      const outbox = yield* Outbox.make({ accountId: "bot", connection: testConnection, contextTokens: tokens, capacity: 1 }).pipe(
        Scope.extend(scope),
        Effect.provide(hang)
      )
      const sends = []
      for (const text of ["in flight", "queued", "blocked 1", "blocked 2"]) {
        sends.push(yield* Effect.fork(outbox.send({ to: target, text })))
        for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      }
      const stopping = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(sendStopGrace)
      yield* Fiber.join(stopping)
      const tags = []
      for (const fiber of sends) tags.push(failureTag(yield* Fiber.await(fiber)))
      expect(tags).toEqual(["DeliveryUnknown", "OutboxClosed", "OutboxClosed", "OutboxClosed"])
    }))
})
