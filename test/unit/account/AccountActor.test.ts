import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Exit, Fiber, HashMap, Layer, Logger, Option, Queue, Ref, Scope, TestClock } from "effect"
import { AccountActor } from "../../../src/account/AccountActor.js"
import { makeAccountState } from "../../../src/account/AccountStatus.js"
import { Inbox } from "../../../src/account/Inbox.js"
import { sendStopGrace } from "../../../src/account/Outbox.js"
import { AgentTurns } from "../../../src/account/AgentTurns.js"
import { DEFAULT_DISPATCH_CONCURRENCY, DEFAULT_TEXT_CHUNK_LIMIT } from "../../../src/config/Defaults.js"
import { type ActorSettings, defaultActorSettings } from "../../../src/config/Tuning.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { DebugModeStore } from "../../../src/state/DebugModeStore.js"
import { State } from "../../../src/state/State.js"
import { AuthExpired } from "../../../src/wire/ILinkError.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import {
  deliveredReceipts,
  makeTempDir,
  makeTestApi,
  textMessage,
  turnSummaries
} from "../../support/actorHarness.js"
import { TestAgentTurns, type TurnScript } from "../../../src/account/TestAgentTurns.js"
import { fileInboxStorage } from "../../support/StateSupport.js"
import { InboundMedia } from "../../../src/account/InboundMedia.js"
import { InboundMediaStore } from "../../../src/account/InboundMediaStore.js"

const accountId = "bot1-im-bot"
const connection = { baseUrl: "http://127.0.0.1:9/", accountId }
const notifyStopTimeoutMs = 500
const alice = Either.getOrThrow(normalizePeerId("alice@im.wechat"))

const setup = (
  script: TurnScript = {},
  hostLayer?: Layer.Layer<AgentTurns>,
  settings: Partial<ActorSettings> = {},
  /** services that replace the ones above (provided last) */
  override: Layer.Layer<DebugModeStore> | undefined = undefined
) =>
  Effect.gen(function*() {
    const dir = yield* makeTempDir("actor-")
    const api = yield* makeTestApi
    const host = yield* TestAgentTurns.make(script)
    const layer = Layer.mergeAll(
      api.layer,
      hostLayer ?? Layer.succeed(AgentTurns, host),
      State.layerAt(dir),
      InboundMedia.Default.pipe(Layer.provideMerge(InboundMediaStore.layerMemory))
    )
    /** the scope the actor is made in: closing it stops the actor, as the runner's end does */
    const actorScope = yield* Scope.make()
    // the test's scope closes the actor's before it removes the temp dir, so no write of a still-running
    // actor races the removal (closing a scope twice is a no-op for tests that close it themselves)
    yield* Effect.addFinalizer(() => Scope.close(actorScope, Exit.void))
    const state = yield* makeAccountState
    const start = AccountActor.make({
      accountId,
      connection,
      settings: { ...defaultActorSettings, notifyStopTimeoutMs, ...settings },
      media: { accountId, cdnBaseUrl: "https://cdn.invalid/c2c", maxBytes: 1024 },
      state
    }).pipe(Scope.extend(actorScope), Effect.provide(override === undefined ? layer : Layer.merge(layer, override)))
    const pollCount = Effect.map(Ref.get(api.poll.requests), (rs) => rs.length)
    const awaitPolls = (n: number) => waitUntil(`${n} polls`, pollCount, (c) => c >= n)
    return { dir, api, host, start, actorScope, pollCount, awaitPolls, layer }
  })

describe("AccountActor", () => {
  it.scoped("stops at once: aborts the held long-poll, calls notifystop, ends Stopped", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, "hang")
      yield* actor.stop
      expect((yield* actor.state.get).phase._tag).toBe("Stopped")
      expect(yield* Ref.get(t.api.interruptedPolls)).toBe(1)
      expect(yield* Ref.get(t.api.notifyStops)).toBe(1)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }))

  it.scoped("completes stop within the notifystop bound when notifystop hangs", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      t.api.options.notifyStop = "hang"
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      const stopping = yield* Effect.fork(actor.stop)
      yield* waitUntil("notifystop called", Effect.map(Ref.get(t.api.notifyStops), (n) => n === 1))
      yield* TestClock.adjust(Duration.millis(notifyStopTimeoutMs - 1))
      expect(stopping.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(stopping)
      expect((yield* actor.state.get).phase._tag).toBe("Stopped")
      expect(yield* Ref.get(t.api.interruptedPolls)).toBe(1)
    }))

  it.scoped("keeps going when notifystart fails", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      t.api.options.notifyStart = "fail"
      yield* t.start
      yield* t.awaitPolls(1)
      expect(yield* Ref.get(t.api.notifyStarts)).toBe(1)
    }))

  it.scoped("runs one turn per new message, replies through the Outbox and records the times", () =>
    Effect.gen(function*() {
      const t = yield* setup({ replies: ["hello back"] })
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* TestClock.adjust(Duration.seconds(3))
      yield* Queue.offer(t.api.poll.script, {
        get_updates_buf: "c1",
        msgs: [textMessage({ message_id: "1", text: "hi" }), textMessage({ message_id: "1", text: "hi" })]
      })
      yield* waitUntil("reply receipt", Effect.map(actor.state.get, (s) => s.lastOutboundAt !== undefined))
      expect(yield* turnSummaries(t.host)).toEqual([{ key: "mid:1", peer: "alice@im.wechat", text: "hi" }])
      const sent = (yield* Ref.get(t.api.sent))[0]
      expect(sent?.to_user_id).toBe("alice@im.wechat")
      expect(sent?.context_token).toBe("ctx")
      const status = yield* actor.state.get
      expect(status.phase._tag).toBe("Running")
      expect(status.lastPollAt).toBe(3_000)
      expect(status.lastInboundAt).toBe(3_000)
      expect(status.lastOutboundAt).toBe(3_000)
    }))

  it.scoped("never dispatches a message without a sender: the Inbox records it as rejected; others are served", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      const { from_user_id: _, ...anonymous } = textMessage({ message_id: "1" })
      yield* Queue.offer(t.api.poll.script, {
        get_updates_buf: "c1",
        msgs: [anonymous, textMessage({ message_id: "2", text: "after" })]
      })
      yield* waitUntil("the good message's turn", Effect.map(turnSummaries(t.host), (ts) => ts.length === 1))
      expect((yield* turnSummaries(t.host)).map((x) => x.text)).toEqual(["after"])
      const files = yield* fileInboxStorage(t.dir)
      const records = (kind: string) =>
        Effect.map(files.lines(accountId), (lines) => lines.filter((l) => l.includes(`"t":"${kind}"`)))
      yield* waitUntil("the good message marked done", Effect.map(records("done"), (done) => done.length === 1))
      const rejected = yield* records("rejected")
      expect(rejected).toHaveLength(1)
      expect(rejected[0]).toContain("no sender id")
      expect(yield* records("claim")).toHaveLength(1)
      yield* actor.stop
      expect((yield* files.provide(Inbox.make({ accountId }))).unfinished).toEqual([])
    }))

  it.scoped("with the host's inbound debounce on, quick lines from one user are one turn, answered with the newest token; each line is marked done", () =>
    Effect.gen(function*() {
      const host = yield* TestAgentTurns.make({ replies: ["one answer"] })
      const t = yield* setup({}, Layer.succeed(AgentTurns, { ...host, inboundDebounceMs: 2_000 }))
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, {
        get_updates_buf: "c1",
        msgs: [textMessage({ message_id: "1", text: "one" }), textMessage({ message_id: "2", text: "two" })]
      })
      yield* t.awaitPolls(2)
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Queue.offer(t.api.poll.script, {
        get_updates_buf: "c2",
        msgs: [{ ...textMessage({ message_id: "3", text: "three" }), context_token: "ctx-3" }]
      })
      yield* t.awaitPolls(3)
      // still inside the window: no turn yet
      expect(yield* turnSummaries(host)).toEqual([])
      yield* TestClock.adjust(Duration.seconds(2))
      yield* TestClock.adjust(Duration.seconds(2))
      yield* waitUntil("the one turn", Effect.map(turnSummaries(host), (ts) => ts.length === 1))
      expect(yield* turnSummaries(host)).toEqual([{ key: "mid:1", peer: "alice@im.wechat", text: "one\ntwo\nthree" }])
      yield* waitUntil("the reply", Effect.map(Ref.get(t.api.sent), (sent) => sent.length === 1))
      expect((yield* Ref.get(t.api.sent))[0]?.context_token).toBe("ctx-3")
      const files = yield* fileInboxStorage(t.dir)
      const done = Effect.map(files.lines(accountId), (lines) => lines.filter((l) => l.includes(`"t":"done"`)).length)
      yield* waitUntil("the three lines marked done", Effect.map(done, (n) => n === 3))
      yield* actor.stop
      expect((yield* files.provide(Inbox.make({ accountId }))).unfinished).toEqual([])
      expect((yield* turnSummaries(host)).length).toBe(1)
    }))

  it.scoped("re-dispatches claims left unfinished by the last run before polling, and only once", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      // a previous run claimed two messages and finished one of them
      const files = yield* fileInboxStorage(t.dir)
      yield* Effect.scoped(Effect.gen(function*() {
        const previous = yield* files.provide(Inbox.make({ accountId }))
        yield* previous.claim([textMessage({ message_id: "7" }), textMessage({ message_id: "8", from: "bob@im.wechat" })], "c0")
        yield* previous.markDone("mid:7")
      }))
      const actor = yield* t.start
      yield* waitUntil("replayed turn", Effect.map(turnSummaries(t.host), (ts) => ts.length === 1))
      expect((yield* turnSummaries(t.host)).map((x) => x.key)).toEqual(["mid:8"])
      yield* t.awaitPolls(1)
      expect((yield* Ref.get(t.api.poll.requests))[0]?.get_updates_buf).toBe("c0")
      // the server redelivers it: no second turn
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "8" })] })
      yield* t.awaitPolls(2)
      yield* actor.stop
      const after = yield* files.provide(Inbox.make({ accountId }))
      expect(after.unfinished).toEqual([])
      expect((yield* turnSummaries(t.host)).length).toBe(1)
    }))

  it.scoped("parks in AuthExpired on -14: no more polls, proactive sends fail fast", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, {
        fail: new AuthExpired({ endpoint: "ilink/bot/getupdates", reachedServer: "yes", ret: -14 })
      })
      const parked = yield* actor.awaitParked
      expect(parked).toMatchObject({ _tag: "AuthExpired" })
      expect((yield* actor.state.get).phase).toEqual(parked)
      const refused = yield* actor.send({ to: alice, text: "ping" }).pipe(Effect.flip)
      expect(refused._tag).toBe("AccountAuthExpired")
      yield* TestClock.adjust(Duration.hours(3))
      expect(yield* t.pollCount).toBe(1)
      expect(yield* Ref.get(t.api.sent)).toEqual([])
    }))

  it.scoped("stays AuthExpired after a parked actor's scope closes, and calls notifystop", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, {
        fail: new AuthExpired({ endpoint: "ilink/bot/getupdates", reachedServer: "yes", errcode: -14 })
      })
      yield* actor.awaitParked
      yield* Scope.close(t.actorScope, Exit.void)
      expect((yield* actor.state.get).phase._tag).toBe("AuthExpired")
      expect(yield* Ref.get(t.api.notifyStops)).toBe(1)
    }))

  it.scoped("annotates every log line of the actor with its account id", () =>
    Effect.gen(function*() {
      const lines = yield* Ref.make<ReadonlyArray<{ message: unknown; accountId: unknown }>>([])
      const capture = Logger.make(({ annotations, message }) => {
        Effect.runSync(Ref.update(lines, (ls) => [...ls, { message, accountId: HashMap.get(annotations, "accountId") }]))
      })
      const t = yield* setup()
      t.api.options.notifyStart = "fail"
      const actor = yield* t.start.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      yield* t.awaitPolls(1)
      yield* actor.stop.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      const captured = yield* Ref.get(lines)
      expect(captured.length).toBeGreaterThanOrEqual(2) // notifystart failure, "account stopped"
      for (const line of captured) expect(line.accountId).toEqual(Option.some(accountId))
    }))

  it.scoped("stops when its enclosing scope closes", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* Scope.close(t.actorScope, Exit.void)
      expect((yield* actor.state.get).phase._tag).toBe("Stopped")
      expect(yield* Ref.get(t.api.notifyStops)).toBe(1)
    }))

  it.scoped("keeps typing alive through a 12 s agent run: start at 0, 5 and 10 s, cancel when it ends", () =>
    Effect.gen(function*() {
      const testHost = yield* TestAgentTurns.make({ delay: Duration.seconds(12) })
      const t = yield* setup({}, Layer.succeed(AgentTurns, testHost))
      t.api.options.typingTicket = "T1"
      yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
      yield* waitUntil("typing started", Effect.map(Ref.get(t.api.typing), (ts) => ts.length === 1))
      yield* TestClock.adjust(Duration.seconds(12))
      yield* waitUntil("typing cancelled", Effect.map(Ref.get(t.api.typing), (ts) => ts.length === 4))
      expect(yield* Ref.get(t.api.typing)).toEqual([
        { at: 0, userId: "alice@im.wechat", status: 1 },
        { at: 5_000, userId: "alice@im.wechat", status: 1 },
        { at: 10_000, userId: "alice@im.wechat", status: 1 },
        { at: 12_000, userId: "alice@im.wechat", status: 2 }
      ])
      expect((yield* testHost.turns).map((x) => x.outcome)).toEqual(["completed"])
    }))

  it.scoped("shows no typing for a turn the host skips without running the agent", () =>
    Effect.gen(function*() {
      const testHost = yield* TestAgentTurns.make({ skip: "sender not paired" })
      const t = yield* setup({}, Layer.succeed(AgentTurns, testHost))
      t.api.options.typingTicket = "T1"
      yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
      yield* waitUntil("the skipped turn", Effect.map(testHost.turns, (ts) => ts.length === 1 && ts[0]?.outcome === "skipped"))
      yield* t.awaitPolls(2)
      yield* TestClock.adjust(Duration.seconds(10))
      expect(yield* Ref.get(t.api.typing)).toEqual([])
    }))

  it.scoped("serves 8 peers at once by default, the Dispatcher's own default", () =>
    Effect.gen(function*() {
      expect(DEFAULT_DISPATCH_CONCURRENCY).toBe(8)
      expect(defaultActorSettings.dispatchConcurrency).toBe(DEFAULT_DISPATCH_CONCURRENCY)
      const gate = yield* Deferred.make<void>()
      const testHost = yield* TestAgentTurns.make({ gate })
      const t = yield* setup({}, Layer.succeed(AgentTurns, testHost))
      yield* t.start
      yield* t.awaitPolls(1)
      const msgs = Array.from({ length: 10 }, (_, i) => textMessage({ message_id: String(i + 1), from: `peer${i}@im.wechat` }))
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs })
      yield* waitUntil("8 turns running", Effect.map(testHost.active, (n) => n === 8))
      yield* t.awaitPolls(2)
      expect(yield* testHost.maxActive).toBe(8)
      yield* Deferred.succeed(gate, undefined)
      yield* waitUntil("all 10 turns", Effect.map(testHost.turns, (ts) => ts.length === 10 && ts.every((x) => x.outcome === "completed")))
    }))

  it.scoped("splits a reply longer than the configured chunkLimit into one sendmessage per chunk", () =>
    Effect.gen(function*() {
      const long = "abcdefghij".repeat(12)
      const t = yield* setup({ replies: [long] }, undefined, { chunkLimit: 50 })
      yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
      yield* waitUntil("the reply's receipt", Effect.map(deliveredReceipts(t.host), (rs) => rs.length === 1))
      const texts = (yield* Ref.get(t.api.sent)).map((m) => {
        const item = m.item_list?.[0]
        return item !== undefined && "text_item" in item ? item.text_item.text : undefined
      })
      expect(texts).toEqual([long.slice(0, 50), long.slice(50, 100), long.slice(100)])
      expect(defaultActorSettings.chunkLimit).toBe(DEFAULT_TEXT_CHUNK_LIMIT)
      expect(DEFAULT_TEXT_CHUNK_LIMIT).toBe(2000)
    }))

  it.scoped("in debug mode (debug-mode.json) a turn is followed by its trace; with it off, by nothing", () =>
    Effect.gen(function*() {
      const t = yield* setup({ replies: ["hello back"] })
      const sentTexts = Effect.map(Ref.get(t.api.sent), (ms) =>
        ms.map((m) => {
          const item = m.item_list?.[0]
          return item !== undefined && "text_item" in item ? item.text_item.text : undefined
        }))
      yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1", text: "off" })] })
      yield* waitUntil("the first turn's end", Effect.map(t.host.turns, (ts) => ts.length === 1 && ts[0]!.endedAt !== undefined))
      yield* Effect.flatMap(DebugModeStore, (store) => store.toggle(accountId)).pipe(Effect.provide(t.layer))
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c2", msgs: [textMessage({ message_id: "2", text: "on" })] })
      yield* waitUntil("the reply and its trace", Effect.map(sentTexts, (texts) => texts.length === 3))
      const texts = yield* sentTexts
      expect(texts.slice(0, 2)).toEqual(["hello back", "hello back"])
      expect(texts[2]).toMatch(/^⏱ debug\nin: mid:2 from alice@im\.wechat/)
      expect(texts[2]).toContain("turn: answered with 1 message(s)")
    }))

  it.scoped("a stop after the host's run ended (here while the debug mode is read) leaves the turn done: the next run does not repeat it", () =>
    Effect.gen(function*() {
      const reading = yield* Deferred.make<void>()
      // the lookup after the run never answers, so the stop finds the turn past the host's run
      const stuckDebugMode = Layer.succeed(DebugModeStore, DebugModeStore.make({
        file: () => "",
        isOn: () => Effect.zipRight(Deferred.succeed(reading, undefined), Effect.never),
        toggle: () => Effect.succeed(false)
      } as unknown as DebugModeStore))
      const t = yield* setup({ replies: ["hello back"] }, undefined, {}, stuckDebugMode)
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
      yield* Deferred.await(reading)
      expect((yield* deliveredReceipts(t.host)).length).toBe(1)
      yield* actor.stop
      const files = yield* fileInboxStorage(t.dir)
      const next = yield* files.provide(Inbox.make({ accountId }))
      expect(next.unfinished).toEqual([])
    }))

  it.scoped("a host control command (/stop) from a user whose turn is running is not queued behind that turn", () =>
    Effect.gen(function*() {
      const host = yield* TestAgentTurns.make({ replies: ["ok"] })
      const withControl = Layer.succeed(AgentTurns, {
        ...host,
        isControlCommand: (message) => message.item_list?.some((item) => "text_item" in item && item.text_item.text === "/stop") === true
      })
      const t = yield* setup({}, withControl)
      const gate = yield* Deferred.make<void>()
      yield* host.script({ key: "mid:1" }, { gate })
      yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, {
        get_updates_buf: "c1",
        msgs: [textMessage({ message_id: "1", text: "long question" }), textMessage({ message_id: "2", text: "next" }), textMessage({ message_id: "3", text: "/stop" })]
      })
      yield* waitUntil("the /stop turn ended while the first is held", Effect.map(host.turns, (ts) => ts.some((turn) => turn.text === "/stop" && turn.endedAt !== undefined)))
      expect((yield* host.turns).map((turn) => turn.text)).toEqual(["long question", "/stop"])
      yield* Deferred.succeed(gate, undefined)
      yield* waitUntil("every turn ended", Effect.map(host.turns, (ts) => ts.length === 3 && ts.every((turn) => turn.endedAt !== undefined)))
      expect((yield* host.turns).map((turn) => turn.text)).toEqual(["long question", "/stop", "next"])
    }))

  /** An actor that has served alice once (so a proactive send has her token) and holds its next poll. */
  const stopDuringSend = (sendMessage: "hang" | { readonly delayMs: number }) => Effect.gen(function*() {
    const t = yield* setup()
    t.api.options.notifyStop = "hang"
    t.api.options.sendMessage = sendMessage
    const actor = yield* t.start
    yield* t.awaitPolls(1)
    yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
    yield* waitUntil("alice's turn", Effect.map(turnSummaries(t.host), (ts) => ts.length === 1))
    yield* t.awaitPolls(2)
    const sending = yield* Effect.fork(actor.send({ to: alice, text: "proactive" }))
    yield* waitUntil("the send in flight", Effect.map(Ref.get(t.api.sent), (ms) => ms.length === 1))
    const stopStartedAt = yield* TestClock.currentTimeMillis
    const stopping = yield* Effect.fork(actor.stop)
    // the held long-poll is aborted before any virtual time passes
    yield* waitUntil("the long-poll aborted", Effect.map(Ref.get(t.api.interruptedPolls), (n) => n === 1))
    expect(yield* TestClock.currentTimeMillis).toBe(stopStartedAt)
    return { t, actor, sending, stopping, stopStartedAt }
  })
  type StopDuringSend = Effect.Effect.Success<ReturnType<typeof stopDuringSend>>

  /** Lets notifystop (which hangs) run into its bound and returns how long the whole stop took. */
  const finishStop = (r: StopDuringSend) =>
    Effect.gen(function*() {
      yield* waitUntil("notifystop called", Effect.map(Ref.get(r.t.api.notifyStops), (n) => n === 1))
      yield* TestClock.adjust(Duration.millis(notifyStopTimeoutMs))
      yield* Fiber.join(r.stopping)
      expect((yield* r.actor.state.get).phase._tag).toBe("Stopped")
      return (yield* TestClock.currentTimeMillis) - r.stopStartedAt
    })

  it.scoped("on stop, a send finishing 100 ms in reports delivered, and the stop ends under 1 s", () =>
    Effect.gen(function*() {
      const r = yield* stopDuringSend({ delayMs: 100 })
      yield* TestClock.adjust(Duration.millis(100))
      const receipt = yield* Fiber.join(r.sending)
      expect(receipt.status).toBe("delivered")
      const took = yield* finishStop(r)
      expect(took).toBe(100 + notifyStopTimeoutMs)
      expect(took).toBeLessThan(1_000)
    }))

  it.scoped("on stop, a hanging send is cut off at the grace bound as DeliveryUnknown, and the stop ends under 1 s", () =>
    Effect.gen(function*() {
      const r = yield* stopDuringSend("hang")
      const grace = Duration.toMillis(sendStopGrace)
      yield* TestClock.adjust(Duration.millis(grace - 1))
      expect(r.sending.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      const error = yield* Effect.flip(Fiber.join(r.sending))
      expect(error._tag).toBe("DeliveryUnknown")
      const took = yield* finishStop(r)
      expect(took).toBe(grace + notifyStopTimeoutMs)
      expect(took).toBeLessThan(1_000)
    }))

  it.scoped("a reply counted during the stop grace is on disk once the enclosing scope has closed", () =>
    Effect.gen(function*() {
      const t = yield* setup({ replies: ["hello back"] })
      t.api.options.notifyStop = "hang"
      const actor = yield* t.start
      yield* t.awaitPolls(1)
      yield* Queue.offer(t.api.poll.script, { get_updates_buf: "c1", msgs: [textMessage({ message_id: "1" })] })
      yield* waitUntil("the turn's reply", Effect.map(deliveredReceipts(t.host), (rs) => rs.length === 1))
      yield* t.awaitPolls(2)
      t.api.options.sendMessage = { delayMs: 100 }
      const sending = yield* Effect.fork(actor.send({ to: alice, text: "proactive" }))
      yield* waitUntil("the send in flight", Effect.map(Ref.get(t.api.sent), (ms) => ms.length === 2))
      // the runner's scope closing, as when the Supervisor stops the account
      const stopping = yield* Effect.fork(Scope.close(t.actorScope, Exit.void))
      yield* waitUntil("the long-poll aborted", Effect.map(Ref.get(t.api.interruptedPolls), (n) => n === 1))
      yield* TestClock.adjust(Duration.millis(100))
      expect((yield* Fiber.join(sending)).status).toBe("delivered")
      yield* waitUntil("notifystop called", Effect.map(Ref.get(t.api.notifyStops), (n) => n === 1))
      yield* TestClock.adjust(Duration.millis(notifyStopTimeoutMs))
      yield* Fiber.join(stopping)
      const activity = yield* Effect.flatMap(ContextTokenStore, (store) => store.loadActivity(accountId)).pipe(
        Effect.provide(State.layerAt(t.dir))
      )
      // the turn's reply and the one delivered during the grace
      expect(Option.map(activity, (file) => file.peers[alice.id]?.repliesSince)).toEqual(Option.some(2))
    }))
})
