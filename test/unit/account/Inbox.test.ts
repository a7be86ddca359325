import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Logger, Scope, TestClock } from "effect"
import * as fs from "node:fs"
import { CURSOR_WINDOW_MS, dedupeKey, Inbox, type InboxLimits, seenRetention } from "../../../src/account/Inbox.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import { InboxJournal } from "../../../src/state/InboxJournal.js"
import { makeTempDir, textMessage } from "../../support/actorHarness.js"
import { fileInboxStorage, type InboxStorage, memoryInboxStorage } from "../../support/StateSupport.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"

const accountId = "bot1-im-bot"

/**
 * In-memory stores whose journal appends take 10 ms of virtual time each, recording the lines of each
 * append as it completes (and of each attempt as it starts); "durable" means "in `storage.lines()`". `inbox()` runs on the slow journal,
 * `restarted()` on the same stores without the delay.
 */
const slowJournal = Effect.gen(function*() {
  const storage = yield* memoryInboxStorage
  const appends: Array<ReadonlyArray<string>> = []
  const attempts: Array<ReadonlyArray<string>> = []
  const journal = InboxJournal.make({
    ...storage.journal,
    append: (id, lines) =>
      Effect.sync(() => void attempts.push(lines)).pipe(
        Effect.zipRight(Effect.sleep(Duration.millis(10))),
        Effect.zipRight(storage.journal.append(id, lines)),
        Effect.tap(() => void appends.push(lines))
      )
  })
  const doneKeys = (lines: ReadonlyArray<string>) =>
    lines.map((line) => JSON.parse(line) as { t: string; key: string }).filter((r) => r.t === "done").map((r) => r.key)
  return {
    storage,
    appends,
    attempts,
    doneKeys,
    inbox: () => storage.provide(Inbox.make({ accountId }), { journal }),
    restarted: () => storage.provide(Inbox.make({ accountId }))
  }
})

const setup = Effect.gen(function*() {
  const dir = yield* makeTempDir("inbox-")
  const files = yield* fileInboxStorage(dir)
  return { ...files, make: (limits?: InboxLimits) => makeOn(files, limits) }
})

const makeOn = (storage: InboxStorage, limits?: InboxLimits) =>
  storage.provide(Inbox.make(limits === undefined ? { accountId } : { accountId, limits }))

describe("Inbox", () => {
  it.scoped("drops a message_id already seen, in a later batch or repeated within the batch", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      const first = yield* inbox.claim([textMessage({ message_id: "1" }), textMessage({ message_id: "1" })], "c1")
      expect(first.map((c) => c.key)).toEqual(["mid:1"])
      const second = yield* inbox.claim([textMessage({ message_id: "1" }), textMessage({ message_id: "2" })], "c2")
      expect(second.map((c) => c.key)).toEqual(["mid:2"])
    }))

  it.scoped("falls back to client_id, then seq, then a content fingerprint for the dedupe key", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      const noIds = { ...textMessage({ text: "same" }) }
      const batch = [
        textMessage({ client_id: "c-9" }),
        textMessage({ client_id: "c-9", text: "other text" }),
        textMessage({ seq: 7 }),
        textMessage({ seq: 7, text: "other text" }),
        noIds,
        { ...noIds },
        textMessage({ text: "different" })
      ]
      const claimed = yield* inbox.claim(batch, "c1")
      expect(claimed.map((c) => c.key.split(":")[0])).toEqual(["cid", "seq", "fp", "fp"])
      expect(claimed[0]?.key).toBe("cid:c-9")
      expect(claimed[1]?.key).toBe("seq:7")
      expect(claimed[2]?.key).toBe(dedupeKey(noIds))
      expect(claimed[2]?.key).not.toBe(claimed[3]?.key)
      expect(claimed[0]?.peer).toEqual({ id: "alice@im.wechat", key: "alice@im.wechat" })
    }))

  it.scoped("commits the cursor only after the batch is durably claimed", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      yield* inbox.cursorOnDisk
      files.failing.set("append", "disk full")
      const failed = yield* inbox.claim([textMessage({ message_id: "2" })], "c2").pipe(Effect.flip)
      expect(failed._tag).toBe("StateError")
      expect(failed.operation).toBe("append")
      expect(yield* inbox.cursor).toBe("c1")
      expect(JSON.parse(fs.readFileSync(files.cursorPath(accountId), "utf8"))).toEqual({ get_updates_buf: "c1" })
      // the server redelivers the same batch; once the disk recovers it is claimed, not lost as "seen"
      files.failing.delete("append")
      const retried = yield* inbox.claim([textMessage({ message_id: "2" })], "c2")
      expect(retried.map((c) => c.key)).toEqual(["mid:2"])
      expect(yield* inbox.cursor).toBe("c2")
    }))

  it.scoped("replays claims without a done record after a restart, in claim order", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      yield* inbox.claim([textMessage({ message_id: "1" }), textMessage({ message_id: "2" })], "c1")
      yield* inbox.claim([textMessage({ message_id: "3", text: "third" })], "c2")
      yield* inbox.markDone("mid:2")
      yield* inbox.cursorOnDisk
      const restarted = yield* files.make()
      expect(restarted.unfinished.map((c) => c.key)).toEqual(["mid:1", "mid:3"])
      expect(restarted.unfinished[1]?.message.item_list).toEqual([{ type: 1, text_item: { text: "third" } }])
      expect(yield* restarted.cursor).toBe("c2")
    }))

  it.scoped("remembers seen keys across a restart and forgets them after 24 hours", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      yield* inbox.markDone("mid:1")
      yield* TestClock.adjust(Duration.hours(23))
      const restarted = yield* files.make()
      expect(yield* restarted.claim([textMessage({ message_id: "1" })], "c2")).toEqual([])
      yield* TestClock.adjust(Duration.hours(1))
      const later = yield* files.make()
      expect((yield* later.claim([textMessage({ message_id: "1" })], "c3")).map((c) => c.key)).toEqual(["mid:1"])
    }))

  it.scoped("compacts the journal so it stays bounded, keeping unfinished claims and fresh seen keys", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const limits = { maxRecords: 20, maxBytes: 1024 * 1024 }
      const inbox = yield* files.make(limits)
      for (let i = 0; i < 200; i++) {
        yield* inbox.claim([textMessage({ message_id: String(i) })], `c${i}`)
        if (i !== 5) yield* inbox.markDone(`mid:${i}`)
        // keys older than 24 h may be dropped by compaction
        yield* TestClock.adjust(Duration.minutes(30))
      }
      const lines = fs.readFileSync(files.journalPath(accountId), "utf8").split("\n").filter((l) => l !== "")
      // 48 half-hours of live keys, at most doubled before the next compaction
      expect(lines.length).toBeLessThanOrEqual(2 * 50 + 2)
      const restarted = yield* files.make(limits)
      expect(restarted.unfinished.map((c) => c.key)).toEqual(["mid:5"])
      expect(yield* restarted.claim([textMessage({ message_id: "199" })], "x")).toEqual([])
      expect((yield* restarted.claim([textMessage({ message_id: "10" })], "y")).length).toBe(1)
    }))

  it.scoped("skips corrupt and truncated journal lines and keeps the rest", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      fs.appendFileSync(files.journalPath(accountId), "{not json\n{\"t\":\"claim\",\"key\":5}\n")
      const again = yield* files.make()
      yield* again.claim([textMessage({ message_id: "2" })], "c2")
      fs.appendFileSync(files.journalPath(accountId), "{\"t\":\"done\",\"ke")
      const restarted = yield* files.make()
      expect(restarted.unfinished.map((c) => c.key)).toEqual(["mid:1", "mid:2"])
    }))

  it.scoped("claims and replays a message with a 1 MB text", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      const big = "x".repeat(1024 * 1024)
      const claimed = yield* inbox.claim([textMessage({ text: big })], "c1")
      expect(claimed[0]?.key.startsWith("fp:")).toBe(true)
      const restarted = yield* files.make()
      expect(restarted.unfinished[0]?.message.item_list).toEqual([{ type: 1, text_item: { text: big } }])
    }))

  it.scoped("normalises each sender once at the claim: the claim carries the branded peer, original case kept", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      const [claimed] = yield* inbox.claim([textMessage({ message_id: "1", from: " user:O9cQ8Abc@im.wechat " })], "c1")
      expect(claimed?.peer).toEqual({ id: "O9cQ8Abc@im.wechat", key: "o9cq8abc@im.wechat" })
      const restarted = yield* files.make()
      expect(restarted.unfinished[0]?.peer).toEqual({ id: "O9cQ8Abc@im.wechat", key: "o9cq8abc@im.wechat" })
    }))

  it.scoped("records a message without a sender as rejected with its position in the batch, never claims it, warns once", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const files = yield* setup
      const inbox = yield* files.make()
      const { from_user_id: _, ...anonymous } = textMessage({ message_id: "2" })
      const blank = textMessage({ message_id: "3", from: "  " })
      // the server's batch: [mid:1, <undecodable>, anonymous, blank]
      const batch = [textMessage({ message_id: "1" }), anonymous, blank]
      const undecodable = [{ index: 1, message_id: "9", problem: "item_list.0.type: Expected number, actual \"x\"" }]
      const claimed = yield* inbox.claim(batch, "c1", undecodable).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      expect(claimed.map((c) => c.key)).toEqual(["mid:1"])
      expect(yield* inbox.cursor).toBe("c1")
      const rejections = yield* inbox.rejections
      expect(rejections.map((r) => [r.key, r.index])).toEqual([["mid:2", 2], ["mid:3", 3], ["mid:9", 1]])
      expect(rejections[0]?.problem).toContain("no sender id")
      const senderless = warnings.filter((w) => w.includes("cannot be answered"))
      expect(senderless).toHaveLength(2)
      expect(senderless[0]).toContain("mid:2")
      expect(senderless[0]).toContain("not passed to the agent")
      expect(senderless[0]).toContain(files.journalPath(accountId))
      // redelivered: not recorded again, not warned about again, still never claimed
      warnings.length = 0
      const again = yield* inbox.claim([anonymous], "c2").pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      expect(again).toEqual([])
      expect(warnings).toEqual([])
      const restarted = yield* files.make()
      expect(restarted.unfinished.map((c) => c.key)).toEqual(["mid:1"])
      expect((yield* restarted.rejections).map((r) => r.key)).toEqual(["mid:2", "mid:3", "mid:9"])
    }))

  it.scoped("replays a journal of the previous version: raw peer strings become peers, a senderless claim is skipped", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const files = yield* setup
      const msg = (id: string, from?: string) => {
        const { from_user_id: _, ...rest } = textMessage({ message_id: id })
        return JSON.stringify(from === undefined ? rest : { ...rest, from_user_id: from })
      }
      // lines exactly as the previous version wrote them: `peer` was the raw from_user_id, "" without one
      fs.mkdirSync(files.journalPath(accountId).replace(/\/[^/]+$/, ""), { recursive: true })
      fs.writeFileSync(
        files.journalPath(accountId),
        `{"t":"claim","key":"mid:1","at":5,"peer":"Alice@im.wechat","msg":${msg("1", "Alice@im.wechat")}}\n` +
          `{"t":"claim","key":"mid:2","at":6,"peer":"","msg":${msg("2")}}\n` +
          `{"t":"claim","key":"mid:3","at":7,"peer":"bob@im.wechat","msg":${msg("3", "bob@im.wechat")}}\n` +
          `{"t":"done","key":"mid:3","at":8}\n`
      )
      const inbox = yield* files.make().pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      expect(inbox.unfinished.map((c) => [c.key, c.peer])).toEqual([
        ["mid:1", { id: "Alice@im.wechat", key: "alice@im.wechat" }]
      ])
      expect(warnings.filter((w) => w.includes("mid:2") && w.includes("no sender id"))).toHaveLength(1)
      // it was seen: a redelivery is still deduplicated
      expect(yield* inbox.claim([textMessage({ message_id: "2" })], "c9")).toEqual([])
    }))

  it.scoped("records undecodable messages durably with the cursor commit, never dispatches them, keeps them 24 h", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make({ maxRecords: 4, maxBytes: 1024 * 1024 })
      expect(inbox.journalLocation).toBe(files.journalPath(accountId))
      const rejected = [
        { index: 1, message_id: "9", problem: "item_list.0.type: Expected number, actual \"x\"" },
        { index: 2, problem: "from_user_id: Expected string, actual 42" }
      ]
      const claimed = yield* inbox.claim([textMessage({ message_id: "1" })], "c1", rejected)
      expect(claimed.map((c) => c.key)).toEqual(["mid:1"])
      expect(yield* inbox.cursor).toBe("c1")
      const onDisk = fs.readFileSync(files.journalPath(accountId), "utf8")
      expect(onDisk).toContain('"t":"rejected","key":"mid:9"')
      expect(onDisk).toContain('"key":"rej:#2"')
      expect(onDisk).toContain("from_user_id: Expected string, actual 42")
      // the same undecodable message delivered again is not recorded twice
      yield* inbox.claim([], "c2", [rejected[0]!])
      expect((yield* inbox.rejections).map((r) => r.key)).toEqual(["mid:9", "rej:#2"])
      // compaction and a restart keep them; nothing is handed back for dispatch
      for (let i = 2; i <= 6; i++) {
        yield* inbox.claim([textMessage({ message_id: String(i) })], `c${i + 1}`)
        yield* inbox.markDone(`mid:${i}`)
      }
      yield* inbox.markDone("mid:1")
      const restarted = yield* files.make()
      expect(restarted.unfinished).toEqual([])
      expect((yield* restarted.rejections).map((r) => r.key)).toEqual(["mid:9", "rej:#2"])
      yield* TestClock.adjust(Duration.hours(24))
      yield* restarted.claim([textMessage({ message_id: "100" })], "c100")
      expect(yield* restarted.rejections).toEqual([])
    }))

  it.scoped("group-commits done marks: marks arriving during a journal write share the next one", () =>
    Effect.gen(function*() {
      const slow = yield* slowJournal
      const inbox = yield* slow.inbox()
      const batch = ["1", "2", "3", "4"].map((id) => textMessage({ message_id: id }))
      const claimDone = yield* Effect.fork(inbox.claim(batch, "c1"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(claimDone)
      slow.appends.length = 0

      const first = yield* Effect.fork(inbox.markDone("mid:1"))
      yield* TestClock.adjust(Duration.millis(1)) // the write carrying mid:1 is running
      const others = yield* Effect.fork(
        Effect.all([inbox.markDone("mid:2"), inbox.markDone("mid:3"), inbox.markDone("mid:4")], { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.millis(9))
      yield* Fiber.join(first)
      // the first write carried mid:1 only; the three that came meanwhile are not durable yet, nor returned
      expect(slow.appends.map(slow.doneKeys)).toEqual([["mid:1"]])
      expect(others.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(others)
      expect(slow.appends.map(slow.doneKeys)).toEqual([["mid:1"], ["mid:2", "mid:3", "mid:4"]])
      const restarted = yield* slow.restarted()
      expect(restarted.unfinished).toEqual([])
    }))

  it.scoped("an idle long-poll's end (nothing new, the same cursor) returns at once, even while a write holds the journal", () =>
    Effect.gen(function*() {
      const slow = yield* slowJournal
      const inbox = yield* slow.inbox()
      const claimDone = yield* Effect.fork(inbox.claim([textMessage({ message_id: "1" })], "c1"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(claimDone)
      slow.attempts.length = 0
      const mark = yield* Effect.fork(inbox.markDone("mid:1"))
      yield* TestClock.adjust(Duration.millis(1)) // the mark's write holds the journal's lock
      expect(slow.attempts.length).toBe(1)
      const idle = yield* Effect.fork(Effect.all([inbox.claim([], "c1"), inbox.claim([], undefined), inbox.claim([], "")]))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      const polled = idle.unsafePoll()
      expect(polled !== null && Exit.isSuccess(polled) ? polled.value : "still waiting").toEqual([[], [], []])
      expect(yield* inbox.cursor).toBe("c1")
      expect(slow.attempts.length).toBe(1)
      // an empty answer with a new cursor still moves it, under the lock
      const moved = yield* Effect.fork(inbox.claim([], "c2"))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(moved.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(9))
      yield* Fiber.join(mark)
      expect(yield* Fiber.join(moved)).toEqual([])
      expect(yield* inbox.cursor).toBe("c2")
      // idle ends still let seen keys expire, so an idle account does not hold them past the 24 h
      expect(yield* inbox.seenCount).toBe(1)
      yield* TestClock.adjust(seenRetention)
      expect(yield* inbox.claim([], "c2")).toEqual([])
      expect(yield* inbox.seenCount).toBe(0)
    }))

  it.scoped("returns from markDone only once its mark is durable, and writes a repeated mark once", () =>
    Effect.gen(function*() {
      const slow = yield* slowJournal
      const inbox = yield* slow.restarted()
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      const slowInbox = yield* slow.inbox()
      const twice = yield* Effect.fork(
        Effect.all([slowInbox.markDone("mid:1"), slowInbox.markDone("mid:1")], { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.millis(9))
      expect(twice.unsafePoll()).toBeNull()
      expect((yield* slow.restarted()).unfinished.map((c) => c.key)).toEqual(["mid:1"])
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(twice)
      expect(slow.appends.map(slow.doneKeys)).toEqual([["mid:1"]])
      expect((yield* slow.restarted()).unfinished).toEqual([])
    }))

  it.scoped("fails every mark of a failed group write and leaves those turns to be re-dispatched", () =>
    Effect.gen(function*() {
      const slow = yield* slowJournal
      const inbox = yield* slow.inbox()
      const claimed = yield* Effect.fork(inbox.claim([1, 2, 3].map((i) => textMessage({ message_id: String(i) })), "c1"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(claimed)
      const first = yield* Effect.fork(inbox.markDone("mid:1"))
      yield* TestClock.adjust(Duration.millis(1))
      const others = yield* Effect.fork(
        Effect.all([inbox.markDone("mid:2"), inbox.markDone("mid:3")], { concurrency: "unbounded", mode: "either" })
      )
      yield* TestClock.adjust(Duration.millis(9))
      yield* Fiber.join(first)
      // the disk fills up while the second write (mid:2 and mid:3 together) is running
      slow.storage.failing.set("append", "disk full")
      yield* TestClock.adjust(Duration.millis(10))
      const outcomes = yield* Fiber.join(others)
      expect(outcomes.map((o) => (o._tag === "Left" ? o.left._tag : "ok"))).toEqual(["StateError", "StateError"])
      expect(outcomes.map((o) => (o._tag === "Left" ? o.left.message : "ok"))).toEqual(["disk full", "disk full"])
      // one write carried both marks: its one failure failed both callers
      expect(slow.attempts.map(slow.doneKeys)).toEqual([[], ["mid:1"], ["mid:2", "mid:3"]])
      // a crash now re-dispatches the two whose marks failed; nothing is lost
      expect((yield* slow.restarted()).unfinished.map((c) => c.key)).toEqual(["mid:2", "mid:3"])
      // once the disk recovers, marking again works
      slow.storage.failing.delete("append")
      const retry = yield* Effect.fork(inbox.markDone("mid:2"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(retry)
      expect((yield* slow.restarted()).unfinished.map((c) => c.key)).toEqual(["mid:3"])
    }))

  it.scoped("queueDone returns before the write; the mark is group-committed, and a failed write is logged naming the journal", () =>
    Effect.gen(function*() {
      const slow = yield* slowJournal
      const logged: Array<string> = []
      const capture = Logger.make(({ message }) => void logged.push((Array.isArray(message) ? message : [message]).map(String).join(" ")))
      const inbox = yield* slow.inbox().pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      const claimed = yield* Effect.fork(inbox.claim([1, 2].map((i) => textMessage({ message_id: String(i) })), "c1"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(claimed)
      // returns at once, with no virtual time passed; the mark is not durable yet
      yield* inbox.queueDone("mid:1")
      expect((yield* slow.restarted()).unfinished.map((c) => c.key)).toEqual(["mid:1", "mid:2"])
      yield* TestClock.adjust(Duration.millis(10))
      yield* waitUntil("the mark written", Effect.map(slow.restarted(), (next) => next.unfinished.length === 1))
      expect(slow.appends.slice(1).map(slow.doneKeys)).toEqual([["mid:1"]])
      // the disk is full: nobody waits, so the writer says what failed and what follows
      slow.storage.failing.set("append", "disk full")
      yield* inbox.queueDone("mid:2")
      yield* TestClock.adjust(Duration.millis(10))
      yield* waitUntil("the failure logged", Effect.sync(() => logged.some((line) => line.includes("could not be written"))))
      const line = logged.find((l) => l.includes("could not be written"))!
      expect(line).toContain("the done marks of 1 finished message(s)")
      expect(line).toContain("disk full")
      expect(line).toContain("dispatched again after a restart")
      expect((yield* slow.restarted()).unfinished.map((c) => c.key)).toEqual(["mid:2"])
    }))

  it.scoped("writes a queued mark even when the fiber that queued it is interrupted", () =>
    Effect.gen(function*() {
      const slow = yield* slowJournal
      const inbox = yield* slow.inbox()
      const claimed = yield* Effect.fork(inbox.claim([textMessage({ message_id: "1" }), textMessage({ message_id: "2" })], "c1"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(claimed)
      const first = yield* Effect.fork(inbox.markDone("mid:1"))
      yield* TestClock.adjust(Duration.millis(1))
      const second = yield* Effect.fork(inbox.markDone("mid:2"))
      yield* TestClock.adjust(Duration.millis(1))
      const interrupted = yield* Effect.fork(Fiber.interrupt(second))
      yield* TestClock.adjust(Duration.millis(20))
      yield* Fiber.join(first)
      yield* Fiber.join(interrupted)
      expect(slow.appends.slice(1).map(slow.doneKeys)).toEqual([["mid:1"], ["mid:2"]])
      expect((yield* slow.restarted()).unfinished).toEqual([])
    }))

  it.scoped("closing the Inbox's scope writes the marks still queued, then refuses new ones", () =>
    Effect.gen(function*() {
      const slow = yield* slowJournal
      const scope = yield* Scope.make()
      const inbox = yield* slow.inbox().pipe(Scope.extend(scope))
      const claimed = yield* Effect.fork(inbox.claim([1, 2, 3].map((i) => textMessage({ message_id: String(i) })), "c1"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(claimed)
      const first = yield* Effect.fork(inbox.markDone("mid:1"))
      yield* TestClock.adjust(Duration.millis(1)) // mid:1 is being written
      const second = yield* Effect.fork(inbox.markDone("mid:2")) // queued behind it
      yield* TestClock.adjust(Duration.millis(1))
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust(Duration.millis(8))
      yield* Fiber.join(first)
      expect(closing.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(closing)
      yield* Fiber.join(second)
      expect(slow.appends.slice(1).map(slow.doneKeys)).toEqual([["mid:1"], ["mid:2"]])
      // after the stop, a mark is refused (its turn runs again after a restart) and never hangs
      const late = yield* Effect.exit(inbox.markDone("mid:3"))
      expect(Exit.isInterrupted(late)).toBe(true)
      expect((yield* slow.restarted()).unfinished.map((c) => c.key)).toEqual(["mid:3"])
    }))

  it.scoped("neither the claims nor the done marks wait for the cursor's file; a second of cursors shares one write of the newest", () =>
    Effect.gen(function*() {
      const storage = yield* memoryInboxStorage
      const order: Array<string> = []
      const journal = InboxJournal.make({
        ...storage.journal,
        append: (id, lines) => Effect.tap(storage.journal.append(id, lines), () => void order.push(`append ${lines.length}`))
      })
      // the cursor's atomic rename takes 50 ms of virtual time
      const cursors = CursorStore.make({
        ...storage.cursors,
        save: (id, buf) =>
          Effect.sleep(Duration.millis(50)).pipe(
            Effect.zipRight(storage.cursors.save(id, buf)),
            Effect.tap(() => void order.push(`cursor ${buf}`))
          )
      })
      const inbox = yield* storage.provide(Inbox.make({ accountId }), { journal, cursors })
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      // the cursor writer starts with c1
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      const second = yield* inbox.claim([textMessage({ message_id: "2" })], "c2")
      expect(second.map((c) => c.key)).toEqual(["mid:2"])
      expect(yield* inbox.cursor).toBe("c2")
      yield* inbox.markDone("mid:1")
      // both claims durable and the mark written, while the cursor file is still being written
      expect(order).toEqual(["append 1", "append 1", "append 1"])
      expect(yield* storage.cursor(accountId)).toBe("")
      // the writer waits out its window before it writes
      yield* TestClock.adjust(Duration.millis(CURSOR_WINDOW_MS - 1))
      expect(order.slice(3)).toEqual([])
      // then one write (50 ms) of the newest cursor covers both claims
      yield* TestClock.adjust(Duration.millis(1 + 50))
      expect(order.slice(3)).toEqual(["cursor c2"])
      expect(yield* storage.cursor(accountId)).toBe("c2")
      expect((yield* makeOn(storage)).unfinished.map((c) => c.key)).toEqual(["mid:2"])
      // waiting for the cursor to be on disk (a stop, a test) ends the window at once
      yield* inbox.claim([textMessage({ message_id: "3" })], "c3")
      const onDisk = yield* Effect.fork(inbox.cursorOnDisk)
      yield* TestClock.adjust(Duration.millis(49))
      expect(onDisk.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(onDisk)
      expect(order.slice(4)).toEqual(["append 1", "cursor c3"])
      expect(yield* storage.cursor(accountId)).toBe("c3")
    }))

  it.scoped("a cursor that cannot be written is logged, polling goes on, and the next claim writes it", () => {
    const logs: Array<string> = []
    return Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* files.make()
      files.failing.set("saveCursor", "disk full")
      const claimed = yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      yield* inbox.cursorOnDisk
      expect(claimed.map((c) => c.key)).toEqual(["mid:1"])
      expect(yield* inbox.cursor).toBe("c1")
      expect(fs.existsSync(files.cursorPath(accountId))).toBe(false)
      expect(logs.filter((line) => line.startsWith("could not save the poll cursor"))).toHaveLength(1)
      files.failing.delete("saveCursor")
      yield* inbox.claim([textMessage({ message_id: "2" })], "c2")
      yield* inbox.cursorOnDisk
      expect(JSON.parse(fs.readFileSync(files.cursorPath(accountId), "utf8"))).toEqual({ get_updates_buf: "c2" })
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void logs.push(String(message))))))
  })
})
