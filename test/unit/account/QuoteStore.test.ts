import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Option, Stream, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { InboundMediaStore, makeMemoryInboundMediaStore } from "../../../src/account/InboundMediaStore.js"
import { QUOTE_WINDOW_MS, QuoteStore } from "../../../src/account/QuoteStore.js"
import { quotePolicyOf } from "../../../src/config/QuotePolicy.js"
import { QuoteJournal } from "../../../src/state/QuoteJournal.js"
import { State } from "../../../src/state/State.js"
import { StateError } from "../../../src/state/StateError.js"

const ACCOUNT = "b0f5860fdecb-im-bot"
const DAY = 24 * 60 * 60_000
const tempState = () => fs.mkdtempSync(path.join(os.tmpdir(), "quotes-"))

const world = (dir: string, media = makeMemoryInboundMediaStore()) => ({
  media,
  layer: Layer.merge(State.layerAt(dir), InboundMediaStore.layerFrom(media))
})

/** The real journal in `dir`, with each append seen by `onAppend` first (which may wait, or fail it). */
const spiedJournal = (dir: string, onAppend: (lines: ReadonlyArray<string>) => Effect.Effect<void, StateError>) =>
  Layer.merge(
    Layer.effect(
      QuoteJournal,
      Effect.map(QuoteJournal, (real) =>
        QuoteJournal.make({
          ...real,
          append: (rawId, lines) => Effect.zipRight(onAppend(lines), real.append(rawId, lines))
        }))
    ).pipe(Layer.provide(State.layerAt(dir))),
    InboundMediaStore.layerFrom(makeMemoryInboundMediaStore())
  )

const text = (found: Option.Option<{ readonly text: string }>) => Option.map(found, (q) => q.text)

describe("QuoteStore", () => {
  it.scoped("finds a message by any of its server ids, only in the conversation it was made in", () => {
    const w = world(tempState())
    return Effect.gen(function*() {
      const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      yield* store.record({ ids: ["100", "101"], peer: "alice@im.wechat", direction: "in", sender: "Alice@im.wechat", text: "hello" })
      expect(text(yield* store.lookup("alice@im.wechat", "100"))).toEqual(Option.some("hello"))
      expect(text(yield* store.lookup("alice@im.wechat", "101"))).toEqual(Option.some("hello"))
      // another user quoting the same id gets nothing of Alice's conversation
      expect(yield* store.lookup("bob@im.wechat", "100")).toEqual(Option.none())
      expect(yield* store.lookup("alice@im.wechat", "999")).toEqual(Option.none())
    }).pipe(Effect.provide(w.layer))
  })

  it.scoped("survives a restart, and a journal whose last line a crash cut short", () => {
    const dir = tempState()
    const w = world(dir)
    return Effect.gen(function*() {
      const first = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      yield* first.record({ ids: ["1"], peer: "p", direction: "out", sender: "bot", text: "the bot's answer" })
      yield* first.record({ ids: ["2"], peer: "p", direction: "in", sender: "P", text: "second" })
      yield* first.flush
      const file = (yield* QuoteJournal).path(ACCOUNT)
      fs.appendFileSync(file, '{"ids":["3"],"peer":"p","dir')
      const again = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      const answer = yield* again.lookup("p", "1")
      expect(Option.map(answer, (q) => [q.direction, q.text])).toEqual(Option.some(["out", "the bot's answer"]))
      expect(text(yield* again.lookup("p", "2"))).toEqual(Option.some("second"))
      expect(yield* again.lookup("p", "3")).toEqual(Option.none())
    }).pipe(Effect.provide(w.layer))
  })

  it.scoped("forgets messages past retentionDays and beyond maxMessagesPerAccount, oldest first", () => {
    const w = world(tempState())
    return Effect.gen(function*() {
      const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ retentionDays: 2, maxMessagesPerAccount: 3 }))
      for (const id of ["a", "b", "c", "d"]) yield* store.record({ ids: [id], peer: "p", direction: "in", sender: "P", text: id })
      expect(yield* store.lookup("p", "a")).toEqual(Option.none())
      expect(text(yield* store.lookup("p", "b"))).toEqual(Option.some("b"))
      yield* TestClock.adjust(2 * DAY)
      expect(yield* store.lookup("p", "d")).toEqual(Option.none())
      yield* store.flush
      // bounded on disk too: a restart loads only what is live
      const file = (yield* QuoteJournal).path(ACCOUNT)
      yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ retentionDays: 2, maxMessagesPerAccount: 3 }))
      expect(fs.readFileSync(file, "utf8")).toBe("")
    }).pipe(Effect.provide(w.layer))
  })

  it.scoped("enabled: false records nothing and finds nothing", () => {
    const dir = tempState()
    const w = world(dir)
    return Effect.gen(function*() {
      const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ enabled: false }))
      yield* store.record({ ids: ["1"], peer: "p", direction: "in", sender: "P", text: "x" })
      expect(yield* store.lookup("p", "1")).toEqual(Option.none())
      expect(fs.existsSync((yield* QuoteJournal).path(ACCOUNT))).toBe(false)
    }).pipe(Effect.provide(w.layer))
  })

  it.scoped("media: re-attached while it exists and is young; deleted, old, oversize or over budget counts as expired", () => {
    const w = world(tempState())
    const file = (p: string, size: number) => ({ path: p, size, kind: "image" as const, fileName: `${p.slice(-1)}.png` })
    return Effect.gen(function*() {
      const saved = yield* w.media.save({ chunks: Stream.make(new Uint8Array(4)), maxBytes: 100 })
      const gone = yield* w.media.save({ chunks: Stream.make(new Uint8Array(4)), maxBytes: 100 })
      w.media.remove(gone.path)
      const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ maxSingleMediaBytes: 10, maxMediaBytesPerAccount: 8 }))
      yield* store.record({ ids: ["m1"], peer: "p", direction: "in", sender: "P", text: "[图片]", media: [file(saved.path, 4), file(gone.path, 4)] })
      const first = Option.getOrThrow(yield* store.lookup("p", "m1"))
      expect(first.media.map((m) => m.path)).toEqual([saved.path])
      expect(first.expired.map((m) => m.path)).toEqual([gone.path])
      // a newer picture takes the budget: the older one is no longer re-attached
      const newer = yield* w.media.save({ chunks: Stream.make(new Uint8Array(8)), maxBytes: 100 })
      yield* store.record({ ids: ["m2"], peer: "p", direction: "in", sender: "P", text: "[图片]", media: [file(newer.path, 8), file("/big", 11)] })
      expect(Option.getOrThrow(yield* store.lookup("p", "m1")).media).toEqual([])
      const second = Option.getOrThrow(yield* store.lookup("p", "m2"))
      expect(second.media.map((m) => m.path)).toEqual([newer.path])
      // oversize media was never remembered
      expect(second.expired).toEqual([])
      yield* TestClock.adjust(7 * DAY)
      expect(Option.getOrThrow(yield* store.lookup("p", "m2")).media).toEqual([])
    }).pipe(Effect.provide(w.layer))
  })

  it.scoped("a record is found at once, without waiting for the disk; the records of a window share one append", () => {
    const dir = tempState()
    const appends: Array<number> = []
    return Effect.gen(function*() {
      const disk = yield* Deferred.make<void>()
      const layer = spiedJournal(dir, (lines) =>
        Effect.zipRight(Effect.sync(() => appends.push(lines.length)), appends.length === 1 ? Deferred.await(disk) : Effect.void))
      yield* Effect.gen(function*() {
        const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
        yield* store.record({ ids: ["1"], peer: "p", direction: "out", sender: "bot", text: "one" })
        expect(text(yield* store.lookup("p", "1"))).toEqual(Option.some("one"))
        // the writer waits out its window before it writes
        yield* Effect.repeatN(Effect.yieldNow(), 10)
        expect(appends).toEqual([])
        yield* TestClock.adjust(QUOTE_WINDOW_MS)
        yield* Effect.repeat(Effect.yieldNow(), { until: () => appends.length === 1 })
        // that append hangs on the disk; recording and lookups go on
        for (const id of ["2", "3", "4"]) yield* store.record({ ids: [id], peer: "p", direction: "in", sender: "P", text: `#${id}` })
        expect(text(yield* store.lookup("p", "4"))).toEqual(Option.some("#4"))
        yield* Deferred.succeed(disk, undefined)
        yield* store.flush
        expect(appends).toEqual([1, 3])
      }).pipe(Effect.provide(layer))
      const lines = fs.readFileSync(path.join(dir, "openclaw-weixin", "accounts", `${ACCOUNT}.ocw-quotes.jsonl`), "utf8").trim().split("\n")
      expect(lines.map((line) => JSON.parse(line).text)).toEqual(["one", "#2", "#3", "#4"])
    })
  })

  it.scoped("a failed append is logged and its records are written by the next write; closing the scope writes what is queued", () => {
    const dir = tempState()
    let failures = 1
    const layer = spiedJournal(dir, () =>
      failures-- > 0 ? Effect.fail(new StateError({ path: "quotes", operation: "append", message: "disk full" })) : Effect.void)
    return Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
        yield* store.record({ ids: ["1"], peer: "p", direction: "out", sender: "bot", text: "lost at first" })
        yield* store.flush
        // not flushed: the scope's close writes it, and the rewrite brings back the failed one
        yield* store.record({ ids: ["2"], peer: "p", direction: "in", sender: "P", text: "queued at the stop" })
      }))
      const again = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      expect(text(yield* again.lookup("p", "1"))).toEqual(Option.some("lost at first"))
      expect(text(yield* again.lookup("p", "2"))).toEqual(Option.some("queued at the stop"))
    }).pipe(Effect.provide(layer))
  })
})
