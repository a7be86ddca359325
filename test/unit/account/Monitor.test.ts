import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Logger, LogLevel, Queue, Ref, TestClock } from "effect"
import { defaultActorSettings } from "../../../src/config/Tuning.js"
import { makeAccountState } from "../../../src/account/AccountStatus.js"
import { type ClaimedMessage, Inbox } from "../../../src/account/Inbox.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { runMonitor } from "../../../src/account/Monitor.js"
import {
  ILinkDecodeError,
  AuthExpired,
  ILinkTransportError
} from "../../../src/wire/ILinkError.js"
import { memoryInboxStorage } from "../../support/StateSupport.js"
import {
  makeScriptedPoll,
  type ScriptedPoll,
  scriptedApi,
  testConnection,
  textMessage
} from "../../support/actorHarness.js"

/** The ILinkApi of a monitor whose getupdates answers come from the script. */
const pollingApi = (poll: ScriptedPoll) =>
  scriptedApi({
    getUpdates: (_conn: unknown, request: { readonly get_updates_buf: string; readonly timeoutMs?: number }) =>
      poll.getUpdates({ get_updates_buf: request.get_updates_buf, timeoutMs: request.timeoutMs ?? 35_000 })
  })

const accountId = "bot1-im-bot"
const endpoint = "ilink/bot/getupdates"
const transportError = new ILinkTransportError({
  endpoint,
  reachedServer: "no",
  kind: "refused",
  detail: "connect ECONNREFUSED"
})

const setup = Effect.gen(function*() {
  const files = yield* memoryInboxStorage
  const inbox = yield* files.provide(Inbox.make({ accountId }))
  const poll = yield* makeScriptedPoll
  const state = yield* makeAccountState
  const dispatched = yield* Ref.make<ReadonlyArray<ClaimedMessage>>([])
  const fiber = yield* runMonitor({
    connection: testConnection,
    inbox,
    dispatch: (c) => Ref.update(dispatched, (cs) => [...cs, c]),
    state,
    settings: defaultActorSettings
  }).pipe(Effect.provide(pollingApi(poll)), Effect.forkScoped)
  const requestCount = Effect.map(Ref.get(poll.requests), (rs) => rs.length)
  const awaitRequests = (n: number) => waitUntil(`${n} polls`, Effect.map(requestCount, (c) => c >= n))
  const phase = Effect.map(state.get, (s) => s.phase)
  return { files, inbox, poll, state, dispatched, fiber, requestCount, awaitRequests, phase }
})

describe("Monitor", () => {
  it.scoped("backs off about 1 s, 2 s, 4 s … with ±20 % jitter, capped at 30 s", () =>
    Effect.gen(function*() {
      const t = yield* setup
      for (let attempt = 1; attempt <= 9; attempt++) {
        yield* t.awaitRequests(attempt)
        yield* Queue.offer(t.poll.script, { fail: transportError })
        yield* waitUntil("backoff", Effect.map(t.phase, (p) => p._tag === "Backoff" && p.attempt === attempt))
        const phase = yield* t.phase
        if (phase._tag !== "Backoff") return expect.unreachable()
        const delay = phase.nextAttemptAt - (yield* TestClock.currentTimeMillis)
        const exact = 1_000 * 2 ** (attempt - 1)
        // jitter yields fractional milliseconds; allow float rounding only
        expect(delay).toBeGreaterThanOrEqual(Math.min(0.8 * exact, 30_000) - 0.001)
        expect(delay).toBeLessThanOrEqual(Math.min(1.2 * exact, 30_000) + 0.001)
        // no poll before the backoff elapses, one right after
        yield* TestClock.adjust(Duration.millis(delay - 1))
        expect(yield* t.requestCount).toBe(attempt)
        yield* TestClock.adjust(Duration.millis(1))
      }
      yield* t.awaitRequests(10)
      expect((yield* t.state.get).lastError?.message).toContain("ECONNREFUSED")
    }))

  it.scoped("starts over at about 1 s after a successful poll", () =>
    Effect.gen(function*() {
      const t = yield* setup
      for (let attempt = 1; attempt <= 3; attempt++) {
        yield* t.awaitRequests(attempt)
        yield* Queue.offer(t.poll.script, { fail: transportError })
        yield* waitUntil("backoff", Effect.map(t.phase, (p) => p._tag === "Backoff" && p.attempt === attempt))
        yield* TestClock.adjust(Duration.seconds(30))
      }
      yield* t.awaitRequests(4)
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c1" })
      yield* waitUntil("running", Effect.map(t.phase, (p) => p._tag === "Running"))
      yield* t.awaitRequests(5)
      yield* Queue.offer(t.poll.script, { fail: transportError })
      yield* waitUntil("backoff again", Effect.map(t.phase, (p) => p._tag === "Backoff"))
      const phase = yield* t.phase
      if (phase._tag !== "Backoff") return expect.unreachable()
      expect(phase.attempt).toBe(1)
      expect(phase.nextAttemptAt - (yield* TestClock.currentTimeMillis)).toBeLessThanOrEqual(1_200)
    }))

  it.scoped("uses the server's longpolling_timeout_ms as the next poll's timeout", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.awaitRequests(1)
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c1", longpolling_timeout_ms: 5_000 })
      yield* t.awaitRequests(2)
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c2", longpolling_timeout_ms: 0 })
      yield* t.awaitRequests(3)
      const requests = yield* Ref.get(t.poll.requests)
      expect(requests.map((r) => r.timeoutMs)).toEqual([35_000, 5_000, 5_000])
      expect(requests.map((r) => r.get_updates_buf)).toEqual(["", "c1", "c2"])
    }))

  it.scoped("parks in AuthExpired on -14 and never polls again", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.awaitRequests(1)
      yield* TestClock.adjust(Duration.seconds(5))
      yield* Queue.offer(t.poll.script, {
        fail: new AuthExpired({ endpoint, reachedServer: "yes", errcode: -14 })
      })
      const parked = yield* Fiber.join(t.fiber)
      const phase = yield* t.phase
      expect(phase).toMatchObject({ _tag: "AuthExpired", since: 5_000 })
      expect(parked).toEqual(phase)
      yield* TestClock.adjust(Duration.hours(10))
      expect(yield* t.requestCount).toBe(1)
    }))

  it.scoped("treats a raw ret=-14 response as an expired session too", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.awaitRequests(1)
      yield* Queue.offer(t.poll.script, { ret: -14, errmsg: "session timeout" })
      yield* Fiber.join(t.fiber)
      expect((yield* t.phase)._tag).toBe("AuthExpired")
      yield* TestClock.adjust(Duration.hours(2))
      expect(yield* t.requestCount).toBe(1)
    }))

  it.scoped("backs off on an undecodable body without advancing the cursor", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.awaitRequests(1)
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c1" })
      yield* t.awaitRequests(2)
      yield* Queue.offer(t.poll.script, {
        fail: new ILinkDecodeError({ endpoint, reachedServer: "yes", problem: "truncated JSON", bodySnippet: "{\"ms" })
      })
      yield* waitUntil("backoff", Effect.map(t.phase, (p) => p._tag === "Backoff"))
      yield* TestClock.adjust(Duration.seconds(2))
      yield* t.awaitRequests(3)
      const requests = yield* Ref.get(t.poll.requests)
      expect(requests[2]?.get_updates_buf).toBe("c1")
      expect(yield* t.inbox.cursor).toBe("c1")
    }))

  it.scoped("records liveness on every poll and inbound time only for new messages", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.awaitRequests(1)
      yield* TestClock.adjust(Duration.seconds(10))
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c1" })
      yield* t.awaitRequests(2)
      let status = yield* t.state.get
      expect(status.lastPollAt).toBe(10_000)
      expect(status.lastInboundAt).toBeUndefined()
      yield* TestClock.adjust(Duration.seconds(10))
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c2", msgs: [textMessage({ message_id: "1" })] })
      yield* t.awaitRequests(3)
      status = yield* t.state.get
      expect(status.lastPollAt).toBe(20_000)
      expect(status.lastInboundAt).toBe(20_000)
      // a redelivered message is not new inbound traffic
      yield* TestClock.adjust(Duration.seconds(10))
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c3", msgs: [textMessage({ message_id: "1" })] })
      yield* t.awaitRequests(4)
      status = yield* t.state.get
      expect(status.lastPollAt).toBe(30_000)
      expect(status.lastInboundAt).toBe(20_000)
      expect(status.phase._tag).toBe("Running")
    }))

  it.scoped("hands each new message to the dispatcher once, in batch order", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.awaitRequests(1)
      yield* Queue.offer(t.poll.script, {
        get_updates_buf: "c1",
        msgs: [textMessage({ message_id: "1" }), textMessage({ message_id: "2" }), textMessage({ message_id: "1" })]
      })
      yield* t.awaitRequests(2)
      yield* Queue.offer(t.poll.script, {
        get_updates_buf: "c2",
        msgs: [textMessage({ message_id: "2" }), textMessage({ message_id: "3" })]
      })
      yield* t.awaitRequests(3)
      expect((yield* Ref.get(t.dispatched)).map((c) => c.key)).toEqual(["mid:1", "mid:2", "mid:3"])
    }))

  it.scoped("backs off when the batch cannot be claimed and keeps the cursor", () =>
    Effect.gen(function*() {
      const t = yield* setup
      yield* t.awaitRequests(1)
      t.files.failing.set("append", "disk full")
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
      yield* waitUntil("backoff", Effect.map(t.phase, (p) => p._tag === "Backoff"))
      expect((yield* t.state.get).lastError?.message).toContain("disk full")
      t.files.failing.delete("append")
      yield* TestClock.adjust(Duration.seconds(2))
      yield* t.awaitRequests(2)
      expect((yield* Ref.get(t.poll.requests))[1]?.get_updates_buf).toBe("")
      yield* Queue.offer(t.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
      yield* t.awaitRequests(3)
      expect((yield* Ref.get(t.dispatched)).map((c) => c.key)).toEqual(["mid:1"])
    }))

  it.scoped("records undecodable messages of a batch, warns where they are kept, and still advances the cursor", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) {
          warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
        }
      })
      const files = yield* memoryInboxStorage
      const inbox = yield* files.provide(Inbox.make({ accountId }))
      const poll = yield* makeScriptedPoll
      const state = yield* makeAccountState
      const dispatched = yield* Ref.make<ReadonlyArray<ClaimedMessage>>([])
      yield* runMonitor({
        connection: testConnection,
        inbox,
        dispatch: (c) => Ref.update(dispatched, (cs) => [...cs, c]),
        state,
        settings: defaultActorSettings
      }).pipe(
        Effect.provide(pollingApi(poll)),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
        Effect.forkScoped
      )
      const polls = (n: number) => waitUntil(`${n} polls`, Effect.map(Ref.get(poll.requests), (rs) => rs.length >= n))
      yield* polls(1)
      yield* Queue.offer(poll.script, {
        get_updates_buf: "c1",
        msgs: [textMessage({ message_id: "1" })],
        rejected_msgs: [{ index: 1, message_id: "2", problem: "item_list.0.type: Expected number, actual \"x\"" }]
      })
      yield* polls(2)
      expect((yield* Ref.get(poll.requests))[1]?.get_updates_buf).toBe("c1")
      expect((yield* Ref.get(dispatched)).map((c) => c.key)).toEqual(["mid:1"])
      const journal = yield* files.lines(accountId)
      expect(journal.filter((l) => l.includes('"t":"rejected"') && l.includes('"key":"mid:2"'))).toHaveLength(1)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain("mid:2")
      expect(warnings[0]).toContain("not passed to the agent")
      expect(warnings[0]).toContain(files.journalPath(accountId))
      expect(warnings[0]).toContain("report")
      expect((yield* state.get).phase._tag).toBe("Running")
    }))
})
