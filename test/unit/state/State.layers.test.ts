/**
 * The same observable behaviour from the real state dir and from `layerMemory`: every test here runs
 * against both, so a unit test of another folder that uses the memory layers sees what production sees.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option, Redacted, TestClock } from "effect"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import { InboxJournal } from "../../../src/state/InboxJournal.js"
import { State, type StateServices } from "../../../src/state/State.js"
import { accountFiles, StateDir } from "../../../src/state/StatePaths.js"
import { StateFiles } from "../../../src/state/StateFiles.js"

const ACCOUNT = "b0f5860fdecb-im-bot"

type Kind = "disk" | "memory"

/** Runs `body` on the state services of `kind`, collecting warnings. */
const on = <A, E>(kind: Kind, body: (warnings: ReadonlyArray<string>) => Effect.Effect<A, E, StateServices>) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const layer = kind === "memory"
      ? State.layerMemory
      : State.layerAt(yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "ocw-layers-" })))
    return yield* body(warnings).pipe(Effect.provide(layer), Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
  }).pipe(Effect.provide(NodeContext.layer))

describe.each<Kind>(["disk", "memory"])("the state services (%s)", (kind) => {
  it.scoped("save, merge, list, load and remove accounts", () =>
    on(kind, () =>
      Effect.gen(function*() {
        const accounts = yield* AccountStore
        yield* TestClock.setTime(Date.UTC(2026, 0, 1))
        yield* accounts.save("B0F5860FDECB@im.bot", { token: Redacted.make("t1"), userId: " u@im.wechat " })
        yield* accounts.save(ACCOUNT, { token: Redacted.make(""), baseUrl: "https://x.example" })
        yield* accounts.register("B0F5860FDECB@im.bot")
        yield* accounts.register(ACCOUNT)
        expect(yield* accounts.list()).toEqual([ACCOUNT])
        const stored = Option.getOrThrow(yield* accounts.load(ACCOUNT))
        expect({ ...stored, token: stored.token && Redacted.value(stored.token) }).toEqual({
          token: "t1",
          savedAt: "2026-01-01T00:00:00.000Z",
          baseUrl: "https://x.example",
          userId: "u@im.wechat"
        })
        yield* accounts.remove(ACCOUNT)
        expect(yield* accounts.list()).toEqual([])
        expect(yield* accounts.load(ACCOUNT)).toEqual(Option.none())
      })))

  it.scoped("removing an account deletes the files the other stores wrote for it, and only those", () =>
    on(kind, () =>
      Effect.gen(function*() {
        const cursors = yield* CursorStore
        const tokens = yield* ContextTokenStore
        const journal = yield* InboxJournal
        for (const id of [ACCOUNT, "other-im-bot"]) {
          yield* cursors.save(id, `cursor-${id}`)
          yield* tokens.saveTokens(id, { "u@im.wechat": "t" })
          yield* tokens.saveActivity(id, { version: 1, peers: { "u@im.wechat": { repliesSince: 1 } } })
          yield* journal.append(id, ["line"])
        }
        yield* (yield* AccountStore).remove(ACCOUNT)
        expect(yield* cursors.load(ACCOUNT)).toBe("")
        expect(yield* tokens.loadTokens(ACCOUNT)).toEqual({})
        expect(yield* tokens.loadActivity(ACCOUNT)).toEqual(Option.none())
        expect(yield* journal.read(ACCOUNT)).toEqual([])
        expect(yield* cursors.load("other-im-bot")).toBe("cursor-other-im-bot")
        expect(yield* tokens.loadTokens("other-im-bot")).toEqual({ "u@im.wechat": "t" })
        expect(yield* journal.read("other-im-bot")).toEqual(["line"])
      })))

  it.scoped("reads a corrupt file as missing with one warning naming it", () =>
    on(kind, (warnings) =>
      Effect.gen(function*() {
        const files = yield* StateFiles
        const names = accountFiles(yield* StateDir, ACCOUNT)
        yield* files.writeText(names.contextTokens, "{\"u\":")
        yield* files.writeText(names.cursor, "[]")
        const tokens = yield* ContextTokenStore
        expect(yield* tokens.loadTokens(ACCOUNT)).toEqual({})
        expect(yield* tokens.loadTokens(ACCOUNT)).toEqual({})
        expect(yield* (yield* CursorStore).load(ACCOUNT)).toBe("")
        expect(warnings.filter((w) => w.includes(names.contextTokens))).toHaveLength(1)
        expect(warnings.filter((w) => w.includes(names.cursor))).toHaveLength(1)
      })))

  it.scoped("journals: append, a torn last line dropped with a warning, later lines whole, replace", () =>
    on(kind, (warnings) =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        const files = yield* StateFiles
        yield* journal.append(ACCOUNT, ["a", "b"])
        yield* files.writeText(journal.path(ACCOUNT), "a\nb\n{torn")
        expect(yield* journal.read(ACCOUNT)).toEqual(["a", "b"])
        expect(warnings.some((w) => w.includes(journal.path(ACCOUNT)))).toBe(true)
        yield* journal.append(ACCOUNT, ["c"])
        expect(yield* journal.read(ACCOUNT)).toEqual(["a", "b", "{torn", "c"])
        yield* journal.replace(ACCOUNT, ["c"])
        expect(yield* journal.read(ACCOUNT)).toEqual(["c"])
        expect(yield* Effect.flip(journal.append(ACCOUNT, ["x\ny"]))).toMatchObject({ _tag: "StateError" })
      })))
})

describe("layerMemory", () => {
  it.effect("the memory layers of several stores provided together share one set of files", () =>
    Effect.gen(function*() {
      yield* (yield* InboxJournal).append(ACCOUNT, ["line"])
      yield* (yield* AccountStore).remove(ACCOUNT)
      expect(yield* (yield* InboxJournal).read(ACCOUNT)).toEqual([])
    }).pipe(Effect.provide(Layer.merge(AccountStore.layerMemory, InboxJournal.layerMemory))))

  it.effect("each build of a memory layer starts empty", () =>
    Effect.gen(function*() {
      const write = Effect.flatMap(CursorStore, (store) => store.save(ACCOUNT, "c1")).pipe(Effect.provide(CursorStore.layerMemory))
      const read = Effect.flatMap(CursorStore, (store) => store.load(ACCOUNT)).pipe(Effect.provide(CursorStore.layerMemory))
      yield* write
      expect(yield* read).toBe("")
    }))
})
