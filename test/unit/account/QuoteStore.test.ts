import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Stream, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { InboundMediaStore, makeMemoryInboundMediaStore } from "../../../src/account/InboundMediaStore.js"
import { QuoteStore } from "../../../src/account/QuoteStore.js"
import { quotePolicyOf } from "../../../src/config/QuotePolicy.js"
import { QuoteJournal } from "../../../src/state/QuoteJournal.js"
import { State } from "../../../src/state/State.js"

const ACCOUNT = "b0f5860fdecb-im-bot"
const DAY = 24 * 60 * 60_000
const tempState = () => fs.mkdtempSync(path.join(os.tmpdir(), "quotes-"))

const world = (dir: string, media = makeMemoryInboundMediaStore()) => ({
  media,
  layer: Layer.merge(State.layerAt(dir), InboundMediaStore.layerFrom(media))
})

const text = (found: Option.Option<{ readonly text: string }>) => Option.map(found, (q) => q.text)

describe("QuoteStore", () => {
  it.effect("finds a message by any of its server ids, only in the conversation it was made in", () => {
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

  it.effect("survives a restart, and a journal whose last line a crash cut short", () => {
    const dir = tempState()
    const w = world(dir)
    return Effect.gen(function*() {
      const first = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      yield* first.record({ ids: ["1"], peer: "p", direction: "out", sender: "bot", text: "the bot's answer" })
      yield* first.record({ ids: ["2"], peer: "p", direction: "in", sender: "P", text: "second" })
      const file = (yield* QuoteJournal).path(ACCOUNT)
      fs.appendFileSync(file, '{"ids":["3"],"peer":"p","dir')
      const again = yield* QuoteStore.make(ACCOUNT, quotePolicyOf(undefined))
      const answer = yield* again.lookup("p", "1")
      expect(Option.map(answer, (q) => [q.direction, q.text])).toEqual(Option.some(["out", "the bot's answer"]))
      expect(text(yield* again.lookup("p", "2"))).toEqual(Option.some("second"))
      expect(yield* again.lookup("p", "3")).toEqual(Option.none())
    }).pipe(Effect.provide(w.layer))
  })

  it.effect("forgets messages past retentionDays and beyond maxMessagesPerAccount, oldest first", () => {
    const w = world(tempState())
    return Effect.gen(function*() {
      const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ retentionDays: 2, maxMessagesPerAccount: 3 }))
      for (const id of ["a", "b", "c", "d"]) yield* store.record({ ids: [id], peer: "p", direction: "in", sender: "P", text: id })
      expect(yield* store.lookup("p", "a")).toEqual(Option.none())
      expect(text(yield* store.lookup("p", "b"))).toEqual(Option.some("b"))
      yield* TestClock.adjust(2 * DAY)
      expect(yield* store.lookup("p", "d")).toEqual(Option.none())
      // bounded on disk too: a restart loads only what is live
      const file = (yield* QuoteJournal).path(ACCOUNT)
      yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ retentionDays: 2, maxMessagesPerAccount: 3 }))
      expect(fs.readFileSync(file, "utf8")).toBe("")
    }).pipe(Effect.provide(w.layer))
  })

  it.effect("enabled: false records nothing and finds nothing", () => {
    const dir = tempState()
    const w = world(dir)
    return Effect.gen(function*() {
      const store = yield* QuoteStore.make(ACCOUNT, quotePolicyOf({ enabled: false }))
      yield* store.record({ ids: ["1"], peer: "p", direction: "in", sender: "P", text: "x" })
      expect(yield* store.lookup("p", "1")).toEqual(Option.none())
      expect(fs.existsSync((yield* QuoteJournal).path(ACCOUNT))).toBe(false)
    }).pipe(Effect.provide(w.layer))
  })

  it.effect("media: re-attached while it exists and is young; deleted, old, oversize or over budget counts as expired", () => {
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
})
