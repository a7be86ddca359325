import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import {
  type ContextTokenStateStore,
  contextTokenStorageFromStateStore,
  ContextTokens,
  memoryContextTokenStorage
} from "../../../src/account/ContextTokens.js"
import { StateStore } from "../../../src/state/StateStore.js"

// StateStore must keep satisfying the narrow interface ContextTokens is written against.
const stateStoreFits = (store: StateStore): ContextTokenStateStore => store
void stateStoreFits

/** ContextTokens over in-memory storage whose `gatedWrite`-th token write waits for `gate`. */
const withGatedTokenWrite = (gatedWrite: number) =>
  Effect.gen(function* () {
    const memory = memoryContextTokenStorage()
    const gate = yield* Deferred.make<void>()
    let tokenWrites = 0
    const tokens = yield* ContextTokens.make({
      accountId: "a",
      storage: {
        ...memory,
        saveTokens: (next) =>
          Effect.suspend(() => (++tokenWrites === gatedWrite ? Deferred.await(gate) : Effect.void)).pipe(
            Effect.zipRight(memory.saveTokens(next))
          )
      }
    })
    return { memory, gate, tokens, tokenWrites: () => tokenWrites }
  })

describe("ContextTokens", () => {
  it.scoped("writes the token to the official file, keyed by the id as the server sent it", () =>
    Effect.gen(function* () {
      const storage = memoryContextTokenStorage()
      const tokens = yield* ContextTokens.make({ accountId: "bot-im-bot", storage })
      yield* tokens.remember("o9cQ8Abc@im.wechat", "ctx-1", 1_000)
      yield* tokens.flush
      expect(storage.tokensOnDisk()).toEqual({ "o9cQ8Abc@im.wechat": "ctx-1" })
      expect(storage.activityOnDisk()).toEqual({
        version: 1,
        peers: { "o9cQ8Abc@im.wechat": { lastInboundAt: 1_000, repliesSince: 0 } }
      })
    }))

  it.scoped("looks peers up case-insensitively and without a user: prefix, returning the original id", () =>
    Effect.gen(function* () {
      const tokens = yield* ContextTokens.make({ accountId: "a", storage: memoryContextTokenStorage() })
      yield* tokens.remember("o9cQ8Abc@im.wechat", "ctx-1", 5)
      const found = yield* tokens.lookup("user:O9CQ8ABC@IM.WECHAT")
      expect(Option.getOrThrow(found)).toEqual({
        userId: "o9cQ8Abc@im.wechat",
        token: "ctx-1",
        lastInboundAt: 5,
        repliesSince: 0
      })
      expect(Option.isNone(yield* tokens.lookup("someone-else@im.wechat"))).toBe(true)
    }))

  it.scoped("counts replies since the last inbound and starts over when the peer writes again", () =>
    Effect.gen(function* () {
      const storage = memoryContextTokenStorage()
      const tokens = yield* ContextTokens.make({ accountId: "a", storage })
      yield* tokens.remember("u@im.wechat", "ctx-1", 5)
      yield* tokens.noteReply("u@im.wechat")
      yield* tokens.noteReply("u@im.wechat")
      expect(Option.getOrThrow(yield* tokens.lookup("u@im.wechat")).repliesSince).toBe(2)
      yield* tokens.flush
      expect(storage.activityOnDisk()?.peers["u@im.wechat"]?.repliesSince).toBe(2)
      yield* tokens.noteRejected("u@im.wechat", 10)
      expect(Option.getOrThrow(yield* tokens.lookup("u@im.wechat")).repliesSince).toBe(10)
      yield* tokens.remember("u@im.wechat", "ctx-2", 9)
      expect(Option.getOrThrow(yield* tokens.lookup("u@im.wechat"))).toMatchObject({ token: "ctx-2", repliesSince: 0 })
    }))

  it.scoped("restores tokens and activity at start, skipping unusable entries", () =>
    Effect.gen(function* () {
      const storage = memoryContextTokenStorage(
        { "A@im.wechat": "ctx-a", "b@im.wechat": "ctx-b", "c@im.wechat": "", "d@im.wechat": 42 },
        { version: 1, peers: { "A@im.wechat": { lastInboundAt: 77, repliesSince: 3 } } }
      )
      const tokens = yield* ContextTokens.make({ accountId: "a", storage })
      expect(Option.getOrThrow(yield* tokens.lookup("a@im.wechat"))).toEqual({
        userId: "A@im.wechat",
        token: "ctx-a",
        lastInboundAt: 77,
        repliesSince: 3
      })
      // a token from the official plugin's file has no inbound time: the window is unknown, not closed
      expect(Option.getOrThrow(yield* tokens.lookup("b@im.wechat")).lastInboundAt).toBeUndefined()
      expect(Option.isNone(yield* tokens.lookup("c@im.wechat"))).toBe(true)
      expect(Option.isNone(yield* tokens.lookup("d@im.wechat"))).toBe(true)
    }))

  it.scoped("remember never waits for the disk; tokenOnDisk waits, and concurrent remembers share writes", () =>
    Effect.gen(function* () {
      const { memory, gate: firstWriteGate, tokenWrites: writes, tokens } = yield* withGatedTokenWrite(1)
      // the first write hangs on the gate; remember returns anyway
      yield* tokens.remember("p0@im.wechat", "ctx-0", 1)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      for (let i = 1; i < 6; i++) yield* tokens.remember(`p${i}@im.wechat`, `ctx-${i}`, 1)
      const durable = yield* Effect.fork(tokens.tokenOnDisk("p5@im.wechat"))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(durable.unsafePoll()).toBeNull()
      expect(memory.tokensOnDisk()).toEqual({})
      yield* Deferred.succeed(firstWriteGate, undefined)
      yield* Fiber.join(durable)
      expect(Object.keys(memory.tokensOnDisk())).toHaveLength(6)
      // one write for the first remember, one shared by the five that queued behind it
      expect(writes()).toBe(2)
    }))

  it.scoped("tokenOnDisk for a token already written does not wait behind another peer's write", () =>
    Effect.gen(function* () {
      const { gate: secondWriteGate, tokens } = yield* withGatedTokenWrite(2)
      yield* tokens.remember("p0@im.wechat", "ctx-0", 1)
      yield* tokens.tokenOnDisk("p0@im.wechat")
      // p1's write hangs on the gate while holding the writer
      yield* tokens.remember("p1@im.wechat", "ctx-1", 1)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      const p0 = yield* Effect.fork(tokens.tokenOnDisk("p0@im.wechat"))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(p0.unsafePoll()).not.toBeNull()
      const p1 = yield* Effect.fork(tokens.tokenOnDisk("p1@im.wechat"))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(p1.unsafePoll()).toBeNull()
      yield* Deferred.succeed(secondWriteGate, undefined)
      yield* Fiber.join(p1)
    }))

  it.scoped("writes what is still pending when the account stops", () =>
    Effect.gen(function* () {
      const storage = memoryContextTokenStorage()
      yield* Effect.scoped(
        Effect.gen(function* () {
          const tokens = yield* ContextTokens.make({ accountId: "a", storage })
          yield* tokens.remember("u@im.wechat", "ctx-1", 1)
          yield* tokens.noteReply("u@im.wechat")
        })
      )
      expect(storage.tokensOnDisk()).toEqual({ "u@im.wechat": "ctx-1" })
      expect(storage.activityOnDisk()?.peers["u@im.wechat"]).toEqual({ lastInboundAt: 1, repliesSince: 1 })
    }))

  it.scoped("keeps working in memory when the state directory cannot be written", () =>
    Effect.gen(function* () {
      const tokens = yield* ContextTokens.make({
        accountId: "a",
        storage: {
          loadTokens: Effect.fail("EACCES"),
          saveTokens: () => Effect.fail("EACCES"),
          loadActivity: Effect.die(new Error("corrupt")),
          saveActivity: () => Effect.fail("ENOSPC")
        }
      })
      yield* tokens.remember("u@im.wechat", "ctx-1", 1)
      yield* tokens.noteReply("u@im.wechat")
      expect(Option.getOrThrow(yield* tokens.lookup("u@im.wechat"))).toMatchObject({ token: "ctx-1", repliesSince: 1 })
    }))

  it.scoped("ignores an inbound without a usable peer or token", () =>
    Effect.gen(function* () {
      const storage = memoryContextTokenStorage()
      const tokens = yield* ContextTokens.make({ accountId: "a", storage })
      yield* tokens.remember("  ", "ctx", 1)
      yield* tokens.remember("u@im.wechat", "", 1)
      expect(storage.tokensOnDisk()).toEqual({})
      expect(Option.isNone(yield* tokens.lookup("u@im.wechat"))).toBe(true)
    }))

  it.scoped("round-trips through the real StateStore in the official file format", () =>
    Effect.gen(function* () {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ctx-tokens-"))
      const program = Effect.gen(function* () {
        const store = yield* StateStore
        const storage = contextTokenStorageFromStateStore(store, "bot-im-bot")
        const first = yield* ContextTokens.make({ accountId: "bot-im-bot", storage })
        yield* first.remember("o9cQ8Abc@im.wechat", "ctx-1", 1_000)
        yield* first.noteReply("o9cQ8Abc@im.wechat")
        yield* first.flush
        const second = yield* ContextTokens.make({ accountId: "bot-im-bot", storage })
        return Option.getOrThrow(yield* second.lookup("o9cq8abc@im.wechat"))
      })
      const restored = yield* program.pipe(Effect.scoped, Effect.provide(StateStore.layerAt(dir)))
      expect(restored).toEqual({ userId: "o9cQ8Abc@im.wechat", token: "ctx-1", lastInboundAt: 1_000, repliesSince: 1 })
      const official = Path.join(dir, "openclaw-weixin", "accounts", "bot-im-bot.context-tokens.json")
      expect(JSON.parse(Fs.readFileSync(official, "utf8"))).toEqual({ "o9cQ8Abc@im.wechat": "ctx-1" })
      Fs.rmSync(dir, { recursive: true, force: true })
    }))
})
