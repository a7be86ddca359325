import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Logger, LogLevel } from "effect"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import * as fs from "node:fs"
import * as path from "node:path"
import type { InboundTurn } from "../../../src/account/AgentTurns.js"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { makeTempDir, turnSummaries } from "../../support/actorHarness.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { TestAgentTurns } from "../../../src/account/TestAgentTurns.js"
import { startActorOnEmulator } from "../../support/actorHarnessEmulator.js"

const setup = (duringTurn?: (turn: InboundTurn) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 300 })
    const bot = yield* emulator.addBot()
    const stateDir = yield* makeTempDir("actor-int-")
    const host = yield* TestAgentTurns.make(duringTurn === undefined ? {} : { during: duringTurn })
    const start = startActorOnEmulator({ emulator, botId: bot.botId, token: bot.token, stateDir, host })
    const turnKeys = Effect.map(turnSummaries(host), (ts) => ts.map((t) => t.key))
    const awaitTurns = (n: number) => waitUntil(`${n} turns`, Effect.map(turnKeys, (ks) => ks.length >= n), { timeoutMs: 10_000 })
    const inject = (text: string, fromUserId?: string) =>
      emulator.injectInbound({ botId: bot.botId, kind: "text", text, ...(fromUserId ? { fromUserId } : {}) })
    const pollCount = Effect.map(emulator.requests("getupdates"), (rs) => rs.length)
    return { emulator, bot, host, start, turnKeys, awaitTurns, inject, pollCount, stateDir }
  })

describe("AccountActor against the emulator", () => {
  it.live("runs one turn for a message the server delivers again at once, 1 s later and after a restart", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const t = yield* setup()
        let actor = yield* t.start
        const first = yield* t.inject("hello")
        yield* t.awaitTurns(1)
        yield* t.emulator.redeliver(t.bot.botId, first.messageId!)
        // the marker comes after the redelivered copy in the mailbox, so once it has its turn the
        // copy has been polled and dropped
        yield* t.inject("marker 1")
        yield* t.awaitTurns(2)
        // a copy 1 s later: wait until two polls started after it was due, so it has been answered
        const due = (yield* t.emulator.now) + 1_000
        yield* t.emulator.redeliver(t.bot.botId, first.messageId!, { delayMs: 1_000 })
        yield* waitUntil("two polls after the delayed copy", Effect.map(t.emulator.requests("getupdates"), (rs) => rs.filter((r) => r.at > due).length >= 2), { timeoutMs: 10_000 })
        yield* actor.stop
        actor = yield* t.start
        yield* t.emulator.redeliver(t.bot.botId, first.messageId!)
        yield* t.emulator.ignoreCursorOnce(t.bot.botId)
        yield* t.inject("marker 2")
        yield* t.awaitTurns(3)
        const texts = (yield* turnSummaries(t.host)).map((x) => x.text)
        expect(texts).toEqual(["hello", "marker 1", "marker 2"])
        expect((yield* t.turnKeys)[0]).toBe(`mid:${first.messageId}`)
        yield* actor.stop
        expect(yield* t.emulator.violations()).toEqual([])
      })
    ), 30_000)

  it.live("runs one turn for a message redelivered while its long turn is still running", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const release = yield* Deferred.make<void>()
        const t = yield* setup(() => Deferred.await(release))
        const actor = yield* t.start
        const first = yield* t.inject("slow one")
        yield* t.awaitTurns(1)
        yield* t.emulator.redeliver(t.bot.botId, first.messageId!)
        const polls = yield* t.pollCount
        // polling goes on while the turn is held
        yield* waitUntil("polls during the long turn", Effect.map(t.pollCount, (n) => n >= polls + 2), { timeoutMs: 10_000 })
        yield* Deferred.succeed(release, undefined)
        yield* t.inject("after")
        yield* t.awaitTurns(2)
        expect((yield* turnSummaries(t.host)).map((x) => x.text)).toEqual(["slow one", "after"])
        yield* actor.stop
        expect(yield* t.emulator.violations()).toEqual([])
      })
    ), 30_000)

  it.live("does not let a peer with a long turn delay polling or other peers", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const release = yield* Deferred.make<void>()
        const slowPeer = "slow@im.wechat"
        const t = yield* setup((turn) => (turn.peer.id === slowPeer ? Deferred.await(release) : Effect.void))
        yield* t.emulator.addUser(slowPeer)
        const fastPeer = yield* t.emulator.addUser("fast@im.wechat")
        const actor = yield* t.start
        yield* t.inject("slow 1", slowPeer)
        yield* t.awaitTurns(1)
        yield* t.inject("slow 2", slowPeer)
        yield* t.inject("fast 1", fastPeer)
        yield* t.inject("fast 2", fastPeer)
        yield* waitUntil("both fast turns while the slow one is held", Effect.map(turnSummaries(t.host), (ts) => ts.filter((x) => x.peer === fastPeer).length === 2), { timeoutMs: 10_000 })
        // slow 2 waits behind slow 1 (per-peer order)
        expect((yield* turnSummaries(t.host)).map((x) => x.text)).not.toContain("slow 2")
        yield* Deferred.succeed(release, undefined)
        yield* t.awaitTurns(4)
        const slowTexts = (yield* turnSummaries(t.host)).filter((x) => x.peer === slowPeer).map((x) => x.text)
        expect(slowTexts).toEqual(["slow 1", "slow 2"])
        yield* actor.stop
        expect(yield* t.emulator.violations()).toEqual([])
      })
    ), 30_000)

  it.live("parks in AuthExpired when the session expires and stops polling", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const t = yield* setup()
        const actor = yield* t.start
        yield* waitUntil("first poll", Effect.map(t.pollCount, (n) => n >= 1), { timeoutMs: 10_000 })
        yield* t.emulator.expireSession(t.bot.botId)
        yield* actor.handle.awaitParked
        const status = yield* actor.handle.state.get
        expect(status.phase._tag).toBe("AuthExpired")
        const polls = yield* t.pollCount
        const refused = yield* actor.handle.send({ to: Either.getOrThrow(normalizePeerId(t.bot.ownerUserId)), text: "hi" }).pipe(Effect.flip)
        expect(refused._tag).toBe("AccountAuthExpired")
        yield* actor.stop
        expect(yield* t.pollCount).toBe(polls)
        // notifystop is still attempted (the expired session makes the server refuse it)
        expect((yield* t.emulator.requests("notifystop")).length).toBe(1)
        expect(yield* t.emulator.violations()).toEqual([])
      })
    ), 30_000)

  it.live("records a message that cannot be decoded, warns where it is kept, runs the good one and moves the cursor", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const t = yield* setup()
        const warnings: Array<string> = []
        const capture = Logger.make(({ logLevel, message }) => {
          if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) {
            warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
          }
        })
        // one batch: a message whose item has the wrong types, then a good one
        yield* t.emulator.injectInbound({
          botId: t.bot.botId,
          kind: "raw",
          message: {
            message_id: 4242424242,
            from_user_id: t.bot.ownerUserId,
            to_user_id: t.bot.botId,
            message_type: 1,
            message_state: 2,
            context_token: "ctx-bad",
            item_list: [{ type: "text", text_item: { text: 42 } }]
          }
        })
        yield* t.inject("the good one")
        const actor = yield* t.start.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
        yield* t.awaitTurns(1)
        // the next poll carries a cursor past the batch
        yield* waitUntil("a poll with the advanced cursor", Effect.map(t.emulator.requests("getupdates"), (rs) =>
            rs.some((r) => {
              const body = JSON.parse(r.body) as { get_updates_buf?: string }
              return body.get_updates_buf !== undefined && body.get_updates_buf !== ""
            })), { timeoutMs: 10_000 })
        expect((yield* turnSummaries(t.host)).map((x) => x.text)).toEqual(["the good one"])
        const warning = warnings.find((w) => w.includes("mid:4242424242"))
        expect(warning).toContain("not passed to the agent")
        const journalFile = warning?.match(/in (\/\S+\.jsonl)/)?.[1]
        expect(journalFile).toBeDefined()
        expect(path.relative(t.stateDir, journalFile!).startsWith("..")).toBe(false)
        const journal = fs.readFileSync(journalFile!, "utf8")
        expect(journal).toMatch(/"t":"rejected","key":"mid:4242424242"/)
        yield* actor.stop
        expect((yield* turnSummaries(t.host)).length).toBe(1)
        expect(yield* t.emulator.violations()).toEqual([])
      })
    ), 30_000)
})
