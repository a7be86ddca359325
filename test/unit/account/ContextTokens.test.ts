import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber, Option, Scope, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { ACTIVITY_WINDOW_MS, ContextTokens } from "../../../src/account/ContextTokens.js"
import { normalizePeerId, type Peer } from "../../../src/domain/PeerId.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { State } from "../../../src/state/State.js"
import { StateError } from "../../../src/state/StateError.js"

/** A peer as the Inbox makes it. */
const peer = (raw: string): Peer => Either.getOrThrow(normalizePeerId(raw))

/** The in-memory token store; what it holds is "on disk". */
const memoryStore = Effect.provide(ContextTokenStore, ContextTokenStore.layerMemory)

/** ContextTokens over `store` (default: a fresh in-memory one), with its writers in the current scope. */
const tokensOver = (store: ContextTokenStore, accountId = "a") =>
  ContextTokens.make({ accountId }).pipe(Effect.provideService(ContextTokenStore, store))

/** A store whose `gatedWrite`-th write of `file` waits for `gate` (writes are counted per file). */
const gatedStore = (memory: ContextTokenStore, file: "tokens" | "activity", gatedWrite: number) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    let writes = 0
    const wait = Effect.suspend(() => (++writes === gatedWrite ? Deferred.await(gate) : Effect.void))
    const store = ContextTokenStore.make({
      ...memory,
      ...(file === "tokens"
        ? { saveTokens: (id, next) => Effect.zipRight(wait, memory.saveTokens(id, next)) }
        : { saveActivity: (id, next) => Effect.zipRight(wait, memory.saveActivity(id, next)) })
    })
    return { gate, store, writes: () => writes }
  })

/** ContextTokens over in-memory storage whose `gatedWrite`-th token write waits for `gate`. */
const withGatedTokenWrite = (gatedWrite: number) =>
  Effect.gen(function*() {
    const memory = yield* memoryStore
    const gated = yield* gatedStore(memory, "tokens", gatedWrite)
    const tokens = yield* tokensOver(gated.store)
    return { memory, gate: gated.gate, tokens, tokenWrites: gated.writes }
  })

describe("ContextTokens", () => {
  it.scoped("writes the token to the official file, keyed by the id as the server sent it", () =>
    Effect.gen(function*() {
      const memory = yield* memoryStore
      const tokens = yield* tokensOver(memory, "bot-im-bot")
      yield* tokens.remember(peer("o9cQ8Abc@im.wechat"), "ctx-1", 1_000)
      yield* tokens.flush
      expect(yield* memory.loadTokens("bot-im-bot")).toEqual({ "o9cQ8Abc@im.wechat": "ctx-1" })
      expect(Option.getOrThrow(yield* memory.loadActivity("bot-im-bot"))).toEqual({
        version: 1,
        peers: { "o9cQ8Abc@im.wechat": { lastInboundAt: 1_000, repliesSince: 0 } }
      })
    }))

  it.scoped("looks peers up case-insensitively and without a user: prefix, returning the original id", () =>
    Effect.gen(function*() {
      const tokens = yield* tokensOver(yield* memoryStore)
      yield* tokens.remember(peer("o9cQ8Abc@im.wechat"), "ctx-1", 5)
      const found = yield* tokens.lookup(peer("user:O9CQ8ABC@IM.WECHAT"))
      expect(Option.getOrThrow(found)).toEqual({
        userId: "o9cQ8Abc@im.wechat",
        token: "ctx-1",
        lastInboundAt: 5,
        repliesSince: 0
      })
      expect(Option.isNone(yield* tokens.lookup(peer("someone-else@im.wechat")))).toBe(true)
    }))

  it.scoped("counts replies since the last inbound and starts over when the peer writes again", () =>
    Effect.gen(function*() {
      const memory = yield* memoryStore
      const tokens = yield* tokensOver(memory)
      const u = peer("u@im.wechat")
      yield* tokens.remember(u, "ctx-1", 5)
      yield* tokens.noteReply(u)
      yield* tokens.noteReply(u)
      expect(Option.getOrThrow(yield* tokens.lookup(u)).repliesSince).toBe(2)
      yield* tokens.flush
      expect(Option.getOrThrow(yield* memory.loadActivity("a")).peers["u@im.wechat"]?.repliesSince).toBe(2)
      yield* tokens.noteRejected(u, 10)
      expect(Option.getOrThrow(yield* tokens.lookup(u)).repliesSince).toBe(10)
      yield* tokens.remember(u, "ctx-2", 9)
      expect(Option.getOrThrow(yield* tokens.lookup(u))).toMatchObject({ token: "ctx-2", repliesSince: 0 })
    }))

  it.scoped("restores tokens and activity at start, skipping unusable entries", () =>
    Effect.gen(function*() {
      const memory = yield* memoryStore
      // written as the files would hold them (the official file may hold anything)
      yield* memory.saveTokens("a", JSON.parse(
        "{\"A@im.wechat\":\"ctx-a\",\"b@im.wechat\":\"ctx-b\",\"c@im.wechat\":\"\",\"d@im.wechat\":42,\"  \":\"ctx-e\"}"
      ) as Record<string, string>)
      yield* memory.saveActivity("a", { version: 1, peers: { "A@im.wechat": { lastInboundAt: 77, repliesSince: 3 } } })
      const tokens = yield* tokensOver(memory)
      expect(Option.getOrThrow(yield* tokens.lookup(peer("a@im.wechat")))).toEqual({
        userId: "A@im.wechat",
        token: "ctx-a",
        lastInboundAt: 77,
        repliesSince: 3
      })
      // a token from the official plugin's file has no inbound time: the window is unknown, not closed
      expect(Option.getOrThrow(yield* tokens.lookup(peer("b@im.wechat"))).lastInboundAt).toBeUndefined()
      expect(Option.isNone(yield* tokens.lookup(peer("c@im.wechat")))).toBe(true)
      expect(Option.isNone(yield* tokens.lookup(peer("d@im.wechat")))).toBe(true)
    }))

  it.scoped("remember never waits for the disk; tokenOnDisk waits, and concurrent remembers share writes", () =>
    Effect.gen(function*() {
      const { memory, gate: firstWriteGate, tokenWrites: writes, tokens } = yield* withGatedTokenWrite(1)
      // the first write hangs on the gate; remember returns anyway
      yield* tokens.remember(peer("p0@im.wechat"), "ctx-0", 1)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      for (let i = 1; i < 6; i++) yield* tokens.remember(peer(`p${i}@im.wechat`), `ctx-${i}`, 1)
      const durable = yield* Effect.fork(tokens.tokenOnDisk(peer("p5@im.wechat")))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(durable.unsafePoll()).toBeNull()
      expect(yield* memory.loadTokens("a")).toEqual({})
      yield* Deferred.succeed(firstWriteGate, undefined)
      yield* Fiber.join(durable)
      expect(Object.keys(yield* memory.loadTokens("a"))).toHaveLength(6)
      // one write for the first remember, one shared by the five that queued behind it
      expect(writes()).toBe(2)
    }))

  it.scoped("tokenOnDisk for a token already written does not wait behind another peer's write", () =>
    Effect.gen(function*() {
      const { gate: secondWriteGate, tokens } = yield* withGatedTokenWrite(2)
      yield* tokens.remember(peer("p0@im.wechat"), "ctx-0", 1)
      yield* tokens.tokenOnDisk(peer("p0@im.wechat"))
      // p1's write hangs on the gate while holding the writer
      yield* tokens.remember(peer("p1@im.wechat"), "ctx-1", 1)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      const p0 = yield* Effect.fork(tokens.tokenOnDisk(peer("p0@im.wechat")))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(p0.unsafePoll()).not.toBeNull()
      const p1 = yield* Effect.fork(tokens.tokenOnDisk(peer("p1@im.wechat")))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(p1.unsafePoll()).toBeNull()
      yield* Deferred.succeed(secondWriteGate, undefined)
      yield* Fiber.join(p1)
    }))

  it.scoped("writes what is still pending when the account stops", () =>
    Effect.gen(function*() {
      const memory = yield* memoryStore
      yield* Effect.scoped(
        Effect.gen(function*() {
          const tokens = yield* tokensOver(memory)
          yield* tokens.remember(peer("u@im.wechat"), "ctx-1", 1)
          yield* tokens.noteReply(peer("u@im.wechat"))
        })
      )
      expect(yield* memory.loadTokens("a")).toEqual({ "u@im.wechat": "ctx-1" })
      expect(Option.getOrThrow(yield* memory.loadActivity("a")).peers["u@im.wechat"]).toEqual({
        lastInboundAt: 1,
        repliesSince: 1
      })
    }))

  it.scoped("writes a burst's activity once a window, and at once on a flush; token writes do not wait", () =>
    Effect.gen(function*() {
      const memory = yield* memoryStore
      // gated on a write that never comes: only counts the writes
      const counted = yield* gatedStore(memory, "activity", 0)
      const tokens = yield* tokensOver(counted.store)
      const peers = ["u@im.wechat", "v@im.wechat", "w@im.wechat"].map(peer)
      for (const [i, p] of peers.entries()) {
        yield* tokens.remember(p, `ctx-${i}`, i)
        yield* tokens.noteReply(p)
      }
      // the tokens are written without a window: the Outbox waits for them
      yield* tokens.tokenOnDisk(peers[2]!)
      expect(Object.keys(yield* memory.loadTokens("a"))).toHaveLength(3)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(counted.writes()).toBe(0)
      yield* TestClock.adjust(ACTIVITY_WINDOW_MS)
      yield* Effect.repeat(Effect.yieldNow(), { until: () => counted.writes() === 1 })
      expect(Object.keys(Option.getOrThrow(yield* memory.loadActivity("a")).peers)).toHaveLength(3)
      // a flush does not wait out the window
      yield* tokens.noteReply(peers[0]!)
      yield* tokens.flush
      expect(counted.writes()).toBe(2)
      expect(Option.getOrThrow(yield* memory.loadActivity("a")).peers["u@im.wechat"]?.repliesSince).toBe(2)
    }))

  it.scoped("closing its scope waits for a running write, then writes the reply noted meanwhile, then stops the writers", () =>
    Effect.gen(function*() {
      const memory = yield* memoryStore
      // the first activity write (for the remember) hangs until the gate opens
      const gated = yield* gatedStore(memory, "activity", 1)
      const scope = yield* Scope.make()
      const tokens = yield* tokensOver(gated.store).pipe(Scope.extend(scope))
      const u = peer("u@im.wechat")
      yield* tokens.remember(u, "ctx-1", 1)
      // the writer waits out its window, then starts the write that hangs
      yield* TestClock.adjust(ACTIVITY_WINDOW_MS)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      // the Outbox's last send, noted during its stop grace, while the first write still runs
      yield* tokens.noteReply(u)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(closing.unsafePoll()).toBeNull()
      yield* Deferred.succeed(gated.gate, undefined)
      yield* Fiber.join(closing)
      expect(Option.getOrThrow(yield* memory.loadActivity("a")).peers["u@im.wechat"]).toEqual({
        lastInboundAt: 1,
        repliesSince: 1
      })
      // the running write and one more for the change made during it
      expect(gated.writes()).toBe(2)
    }))

  it.scoped("keeps working in memory when the state directory cannot be written", () =>
    Effect.gen(function*() {
      const refused = (operation: "read" | "write") =>
        new StateError({ path: "/state/a.context-tokens.json", operation, message: "EACCES" })
      const tokens = yield* tokensOver(ContextTokenStore.make({
        loadTokens: () => Effect.die(new Error("unreadable")),
        saveTokens: () => Effect.fail(refused("write")),
        loadActivity: () => Effect.fail(refused("read")),
        saveActivity: () => Effect.fail(refused("write"))
      }))
      const u = peer("u@im.wechat")
      yield* tokens.remember(u, "ctx-1", 1)
      yield* tokens.noteReply(u)
      expect(Option.getOrThrow(yield* tokens.lookup(u))).toMatchObject({ token: "ctx-1", repliesSince: 1 })
      // a failed write is logged, not waited on forever
      yield* tokens.tokenOnDisk(u)
      yield* tokens.flush
    }))

  it.scoped("ignores an inbound without a token", () =>
    Effect.gen(function*() {
      const memory = yield* memoryStore
      const tokens = yield* tokensOver(memory)
      yield* tokens.remember(peer("u@im.wechat"), "", 1)
      yield* tokens.flush
      expect(yield* memory.loadTokens("a")).toEqual({})
      expect(Option.isNone(yield* tokens.lookup(peer("u@im.wechat")))).toBe(true)
    }))

  it.scoped("round-trips through the real state files in the official file format", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ctx-tokens-"))
      const program = Effect.gen(function*() {
        const store = yield* ContextTokenStore
        const first = yield* tokensOver(store, "bot-im-bot")
        yield* first.remember(peer("o9cQ8Abc@im.wechat"), "ctx-1", 1_000)
        yield* first.noteReply(peer("o9cQ8Abc@im.wechat"))
        yield* first.flush
        const second = yield* tokensOver(store, "bot-im-bot")
        return Option.getOrThrow(yield* second.lookup(peer("o9cq8abc@im.wechat")))
      })
      const restored = yield* program.pipe(Effect.scoped, Effect.provide(State.layerAt(dir)))
      expect(restored).toEqual({ userId: "o9cQ8Abc@im.wechat", token: "ctx-1", lastInboundAt: 1_000, repliesSince: 1 })
      const official = Path.join(dir, "openclaw-weixin", "accounts", "bot-im-bot.context-tokens.json")
      expect(JSON.parse(Fs.readFileSync(official, "utf8"))).toEqual({ "o9cQ8Abc@im.wechat": "ctx-1" })
      Fs.rmSync(dir, { recursive: true, force: true })
    }))
})
