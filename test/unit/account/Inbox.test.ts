import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, TestClock } from "effect"
import * as fs from "node:fs"
import { dedupeKey, makeInbox } from "../../../src/account/Inbox.js"
import type { InboxStore } from "../../../src/account/Inbox.js"
import { makeFileStore, makeMemoryStore, makeTempDir, textMessage } from "../../support/actorHarness.js"

const accountId = "bot1-im-bot"

/**
 * An in-memory store whose journal appends take 10 ms of virtual time each, recording the lines of each
 * append as it completes; "durable" means "in `journal()`".
 */
const slowJournalStore = () => {
  const memory = makeMemoryStore()
  const appends: Array<ReadonlyArray<string>> = []
  const store: InboxStore = {
    ...memory.store,
    appendJournal: (id, name, lines) =>
      Effect.sleep(Duration.millis(10)).pipe(
        Effect.zipRight(memory.store.appendJournal(id, name, lines)),
        Effect.tap(() => void appends.push(lines))
      )
  }
  const doneKeys = (lines: ReadonlyArray<string>) =>
    lines.map((line) => JSON.parse(line) as { t: string; key: string }).filter((r) => r.t === "done").map((r) => r.key)
  return { memory, store, appends, doneKeys }
}

const setup = Effect.gen(function*() {
  const dir = yield* makeTempDir("inbox-")
  return yield* makeFileStore(dir)
})

describe("Inbox", () => {
  it.scoped("drops a message_id already seen, in a later batch or repeated within the batch", () =>
    Effect.gen(function*() {
      const { store } = yield* setup
      const inbox = yield* makeInbox({ accountId, store })
      const first = yield* inbox.claim([textMessage({ message_id: "1" }), textMessage({ message_id: "1" })], "c1")
      expect(first.map((c) => c.key)).toEqual(["mid:1"])
      const second = yield* inbox.claim([textMessage({ message_id: "1" }), textMessage({ message_id: "2" })], "c2")
      expect(second.map((c) => c.key)).toEqual(["mid:2"])
    }))

  it.scoped("falls back to client_id, then seq, then a content fingerprint for the dedupe key", () =>
    Effect.gen(function*() {
      const { store } = yield* setup
      const inbox = yield* makeInbox({ accountId, store })
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
      expect(claimed[0]?.peer).toBe("alice@im.wechat")
    }))

  it.scoped("commits the cursor only after the batch is durably claimed", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* makeInbox({ accountId, store: files.store })
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      files.failing.set("appendJournal", "disk full")
      const failed = yield* inbox.claim([textMessage({ message_id: "2" })], "c2").pipe(Effect.flip)
      expect(failed._tag).toBe("InboxStorageError")
      expect(failed.operation).toBe("appendJournal")
      expect(yield* inbox.cursor).toBe("c1")
      expect(JSON.parse(fs.readFileSync(files.cursorPath(accountId), "utf8"))).toEqual({ get_updates_buf: "c1" })
      // the server redelivers the same batch; once the disk recovers it is claimed, not lost as "seen"
      files.failing.delete("appendJournal")
      const retried = yield* inbox.claim([textMessage({ message_id: "2" })], "c2")
      expect(retried.map((c) => c.key)).toEqual(["mid:2"])
      expect(yield* inbox.cursor).toBe("c2")
    }))

  it.scoped("replays claims without a done record after a restart, in claim order", () =>
    Effect.gen(function*() {
      const { store } = yield* setup
      const inbox = yield* makeInbox({ accountId, store })
      yield* inbox.claim([textMessage({ message_id: "1" }), textMessage({ message_id: "2" })], "c1")
      yield* inbox.claim([textMessage({ message_id: "3", text: "third" })], "c2")
      yield* inbox.markDone("mid:2")
      const restarted = yield* makeInbox({ accountId, store })
      expect(restarted.unfinished.map((c) => c.key)).toEqual(["mid:1", "mid:3"])
      expect(restarted.unfinished[1]?.message.item_list).toEqual([{ type: 1, text_item: { text: "third" } }])
      expect(yield* restarted.cursor).toBe("c2")
    }))

  it.scoped("remembers seen keys across a restart and forgets them after 24 hours", () =>
    Effect.gen(function*() {
      const { store } = yield* setup
      const inbox = yield* makeInbox({ accountId, store })
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      yield* inbox.markDone("mid:1")
      yield* TestClock.adjust(Duration.hours(23))
      const restarted = yield* makeInbox({ accountId, store })
      expect(yield* restarted.claim([textMessage({ message_id: "1" })], "c2")).toEqual([])
      yield* TestClock.adjust(Duration.hours(1))
      const later = yield* makeInbox({ accountId, store })
      expect((yield* later.claim([textMessage({ message_id: "1" })], "c3")).map((c) => c.key)).toEqual(["mid:1"])
    }))

  it.scoped("compacts the journal so it stays bounded, keeping unfinished claims and fresh seen keys", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const limits = { maxRecords: 20, maxBytes: 1024 * 1024 }
      const inbox = yield* makeInbox({ accountId, store: files.store, limits })
      for (let i = 0; i < 200; i++) {
        yield* inbox.claim([textMessage({ message_id: String(i) })], `c${i}`)
        if (i !== 5) yield* inbox.markDone(`mid:${i}`)
        // keys older than 24 h may be dropped by compaction
        yield* TestClock.adjust(Duration.minutes(30))
      }
      const lines = fs.readFileSync(files.journalPath(accountId, "inbox"), "utf8").split("\n").filter((l) => l !== "")
      // 48 half-hours of live keys, at most doubled before the next compaction
      expect(lines.length).toBeLessThanOrEqual(2 * 50 + 2)
      const restarted = yield* makeInbox({ accountId, store: files.store, limits })
      expect(restarted.unfinished.map((c) => c.key)).toEqual(["mid:5"])
      expect(yield* restarted.claim([textMessage({ message_id: "199" })], "x")).toEqual([])
      expect((yield* restarted.claim([textMessage({ message_id: "10" })], "y")).length).toBe(1)
    }))

  it.scoped("skips corrupt and truncated journal lines and keeps the rest", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* makeInbox({ accountId, store: files.store })
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      fs.appendFileSync(files.journalPath(accountId, "inbox"), "{not json\n{\"t\":\"claim\",\"key\":5}\n")
      const again = yield* makeInbox({ accountId, store: files.store })
      yield* again.claim([textMessage({ message_id: "2" })], "c2")
      fs.appendFileSync(files.journalPath(accountId, "inbox"), "{\"t\":\"done\",\"ke")
      const restarted = yield* makeInbox({ accountId, store: files.store })
      expect(restarted.unfinished.map((c) => c.key)).toEqual(["mid:1", "mid:2"])
    }))

  it.scoped("claims and replays a message with a 1 MB text", () =>
    Effect.gen(function*() {
      const { store } = yield* setup
      const inbox = yield* makeInbox({ accountId, store })
      const big = "x".repeat(1024 * 1024)
      const claimed = yield* inbox.claim([textMessage({ text: big })], "c1")
      expect(claimed[0]?.key.startsWith("fp:")).toBe(true)
      const restarted = yield* makeInbox({ accountId, store })
      expect(restarted.unfinished[0]?.message.item_list).toEqual([{ type: 1, text_item: { text: big } }])
    }))

  it.scoped("records undecodable messages durably with the cursor commit, never dispatches them, keeps them 24 h", () =>
    Effect.gen(function*() {
      const files = yield* setup
      const inbox = yield* makeInbox({
        accountId,
        store: files.store,
        journalLocation: files.journalPath(accountId, "inbox"),
        limits: { maxRecords: 4, maxBytes: 1024 * 1024 }
      })
      const rejected = [
        { index: 1, message_id: "9", problem: "item_list.0.type: Expected number, actual \"x\"" },
        { index: 2, problem: "from_user_id: Expected string, actual 42" }
      ]
      const claimed = yield* inbox.claim([textMessage({ message_id: "1" })], "c1", rejected)
      expect(claimed.map((c) => c.key)).toEqual(["mid:1"])
      expect(yield* inbox.cursor).toBe("c1")
      const onDisk = fs.readFileSync(files.journalPath(accountId, "inbox"), "utf8")
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
      const restarted = yield* makeInbox({ accountId, store: files.store })
      expect(restarted.unfinished).toEqual([])
      expect((yield* restarted.rejections).map((r) => r.key)).toEqual(["mid:9", "rej:#2"])
      yield* TestClock.adjust(Duration.hours(24))
      yield* restarted.claim([textMessage({ message_id: "100" })], "c100")
      expect(yield* restarted.rejections).toEqual([])
    }))

  it.effect("group-commits done marks: marks arriving during a journal write share the next one", () =>
    Effect.gen(function*() {
      const slow = slowJournalStore()
      const inbox = yield* makeInbox({ accountId, store: slow.store })
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
      const restarted = yield* makeInbox({ accountId, store: slow.memory.store })
      expect(restarted.unfinished).toEqual([])
    }))

  it.effect("returns from markDone only once its mark is durable, and writes a repeated mark once", () =>
    Effect.gen(function*() {
      const slow = slowJournalStore()
      const inbox = yield* makeInbox({ accountId, store: slow.memory.store })
      yield* inbox.claim([textMessage({ message_id: "1" })], "c1")
      const slowInbox = yield* makeInbox({ accountId, store: slow.store })
      const twice = yield* Effect.fork(
        Effect.all([slowInbox.markDone("mid:1"), slowInbox.markDone("mid:1")], { concurrency: "unbounded" })
      )
      yield* TestClock.adjust(Duration.millis(9))
      expect(twice.unsafePoll()).toBeNull()
      expect((yield* makeInbox({ accountId, store: slow.memory.store })).unfinished.map((c) => c.key)).toEqual(["mid:1"])
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(twice)
      expect(slow.appends.map(slow.doneKeys)).toEqual([["mid:1"]])
      expect((yield* makeInbox({ accountId, store: slow.memory.store })).unfinished).toEqual([])
    }))

  it.effect("fails every mark of a failed group write and leaves those turns to be re-dispatched", () =>
    Effect.gen(function*() {
      const slow = slowJournalStore()
      const inbox = yield* makeInbox({ accountId, store: slow.store })
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
      slow.memory.failing.set("appendJournal", "disk full")
      yield* TestClock.adjust(Duration.millis(10))
      const outcomes = yield* Fiber.join(others)
      expect(outcomes.map((o) => (o._tag === "Left" ? o.left._tag : "ok"))).toEqual(["InboxStorageError", "InboxStorageError"])
      // a crash now re-dispatches the two whose marks failed; nothing is lost
      expect((yield* makeInbox({ accountId, store: slow.memory.store })).unfinished.map((c) => c.key)).toEqual([
        "mid:2",
        "mid:3"
      ])
      // once the disk recovers, marking again works
      slow.memory.failing.delete("appendJournal")
      const retry = yield* Effect.fork(inbox.markDone("mid:2"))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(retry)
      expect((yield* makeInbox({ accountId, store: slow.memory.store })).unfinished.map((c) => c.key)).toEqual(["mid:3"])
    }))

  it.effect("writes a queued mark even when the fiber that queued it is interrupted", () =>
    Effect.gen(function*() {
      const slow = slowJournalStore()
      const inbox = yield* makeInbox({ accountId, store: slow.store })
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
      expect((yield* makeInbox({ accountId, store: slow.memory.store })).unfinished).toEqual([])
    }))

  it.effect("does not hold a done mark behind a claim's cursor commit, and commits that cursor after its claims", () =>
    Effect.gen(function*() {
      const memory = makeMemoryStore()
      const order: Array<string> = []
      const store: InboxStore = {
        ...memory.store,
        appendJournal: (id, name, lines) =>
          Effect.tap(memory.store.appendJournal(id, name, lines), () => void order.push(`append ${lines.length}`)),
        // the cursor's atomic rename takes 50 ms of virtual time
        saveCursor: (id, buf) =>
          Effect.sleep(Duration.millis(50)).pipe(
            Effect.zipRight(memory.store.saveCursor(id, buf)),
            Effect.tap(() => void order.push(`cursor ${buf}`))
          )
      }
      const inbox = yield* makeInbox({ accountId, store })
      const first = yield* Effect.fork(inbox.claim([textMessage({ message_id: "1" })], "c1"))
      yield* TestClock.adjust(Duration.millis(50))
      yield* Fiber.join(first)
      const second = yield* Effect.fork(inbox.claim([textMessage({ message_id: "2" })], "c2"))
      yield* TestClock.adjust(Duration.millis(1)) // claim 2 is durable, its cursor is being written
      expect(order).toEqual(["append 1", "cursor c1", "append 1"])
      const marked = yield* Effect.fork(inbox.markDone("mid:1"))
      yield* TestClock.adjust(Duration.millis(1))
      // the mark went through while the cursor write was still running
      expect(marked.unsafePoll()).not.toBeNull()
      expect(order).toEqual(["append 1", "cursor c1", "append 1", "append 1"])
      expect(second.unsafePoll()).toBeNull()
      expect(memory.cursors.get(accountId)).toBe("c1")
      yield* TestClock.adjust(Duration.millis(48))
      yield* Fiber.join(second)
      expect(memory.cursors.get(accountId)).toBe("c2")
      expect((yield* makeInbox({ accountId, store: memory.store })).unfinished.map((c) => c.key)).toEqual(["mid:2"])
    }))
})
