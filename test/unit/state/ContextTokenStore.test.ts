import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { join } from "node:path"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { inStateDir, modeOf, OWNER, RAW_ONLY, readText } from "../../support/StateSupport.js"

describe("ContextTokenStore", () => {
  it.scoped("restores only non-empty string context tokens from the official file", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* ContextTokenStore
        expect(yield* store.loadTokens(OWNER)).toEqual({
          "o9cq80_fixture_owner@im.wechat": "AARzJWAFAAABAAAAAAC-fixture-ctx"
        })
        expect(yield* store.loadTokens(RAW_ONLY)).toEqual({})
      })))

  it.scoped("writes the context tokens as compact JSON with mode 0600", () =>
    inStateDir({ fixture: false }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* ContextTokenStore
        const file = join(stateDir, "openclaw-weixin", "accounts", `${OWNER}.context-tokens.json`)
        yield* store.saveTokens(OWNER, { "u1@im.wechat": "t1", "u2@im.wechat": "t2" })
        expect(yield* readText(file)).toBe("{\"u1@im.wechat\":\"t1\",\"u2@im.wechat\":\"t2\"}")
        expect(yield* modeOf(file)).toBe(0o600)
        expect(yield* store.loadTokens(OWNER)).toEqual({ "u1@im.wechat": "t1", "u2@im.wechat": "t2" })
      })))

  it.scoped("a context-token file with a __proto__ key cannot change the prototype of the loaded map", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* ContextTokenStore
        const hostile = JSON.parse("{\"__proto__\":{\"polluted\":\"yes\"},\"u1\":\"t1\"}") as Record<string, string>
        yield* store.saveTokens(OWNER, hostile)
        const tokens = yield* store.loadTokens(OWNER)
        expect(Object.getPrototypeOf(tokens)).toBe(Object.prototype)
        expect(tokens).toEqual({ u1: "t1" })
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      })))

  it.scoped("keeps the activity in a file of our own that cannot collide with the official files", () =>
    inStateDir({ fixture: false }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* ContextTokenStore
        const fs = yield* FileSystem.FileSystem
        expect(yield* store.loadActivity(OWNER)).toEqual(Option.none())
        const activity = { version: 1 as const, peers: { "u@im.wechat": { lastInboundAt: 5, repliesSince: 2 } } }
        yield* store.saveActivity(OWNER, activity)
        expect(Option.getOrThrow(yield* store.loadActivity(OWNER))).toEqual(activity)
        const names = yield* fs.readDirectory(join(stateDir, "openclaw-weixin", "accounts"))
        expect(names).toEqual([`${OWNER}.ocw-context-activity.json`])
        expect(yield* modeOf(join(stateDir, "openclaw-weixin", "accounts", names[0] ?? ""))).toBe(0o600)
      })))

  it.scoped("refuses to write an activity value that does not match its schema", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* ContextTokenStore
        const bad = { version: 2, peers: {} } as unknown as Parameters<typeof store.saveActivity>[1]
        const error = yield* Effect.flip(store.saveActivity(OWNER, bad))
        expect(error._tag).toBe("StateError")
        expect(error.message).toContain("does not match its schema")
        expect(yield* store.loadActivity(OWNER)).toEqual(Option.none())
      })))
})
