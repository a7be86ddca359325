import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, TestClock } from "effect"
import { join } from "node:path"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import { InboxJournal } from "../../../src/state/InboxJournal.js"
import { StateDir } from "../../../src/state/StatePaths.js"
import { StateFiles } from "../../../src/state/StateFiles.js"
import { inStateDir, modeOf, OWNER, RAW_ONLY, readText } from "../../support/StateSupport.js"

describe("AccountStore reads the official plugin's state", () => {
  it.scoped("lists the indexed accounts, skipping blank and non-string entries", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        expect(yield* store.list()).toEqual([OWNER, RAW_ONLY])
      })))

  it.scoped("loads an account file with all four keys", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const account = Option.getOrThrow(yield* store.load(OWNER))
        expect(account.token && Redacted.value(account.token)).toBe("fixture-token-b0f5")
        expect(account.savedAt).toBe("2026-03-01T08:15:30.123Z")
        expect(account.baseUrl).toBe("https://ilinkai.weixin.qq.com")
        expect(account.userId).toBe("o9cq80_fixture_owner@im.wechat")
        // the raw id normalizes to the same account
        const viaRaw = Option.getOrThrow(yield* store.load("b0f5860fdecb@im.bot"))
        expect(viaRaw.userId).toBe("o9cq80_fixture_owner@im.wechat")
      })))

  it.scoped("falls back to the raw-id account file", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const account = Option.getOrThrow(yield* store.load(RAW_ONLY))
        expect(account.token && Redacted.value(account.token)).toBe("fixture-token-7c1e-raw")
        expect(account.userId).toBeUndefined()
      })))

  it.scoped("falls back to the legacy credentials.json with the token only, for any other id", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const account = Option.getOrThrow(yield* store.load("never-logged-in"))
        expect(Object.keys(account)).toEqual(["token"])
        expect(account.token && Redacted.value(account.token)).toBe("fixture-legacy-token")
      })))

  it.scoped("returns None when no account file and no legacy credentials exist", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        expect(yield* store.load(OWNER)).toEqual(Option.none())
        expect(yield* store.list()).toEqual([])
      })))
})

describe("AccountStore writes files the official plugin can read", () => {
  it.scoped("writes the account file as 2-space JSON with mode 0600 and savedAt from the clock", () =>
    inStateDir({ fixture: false }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        yield* TestClock.setTime(Date.UTC(2026, 10, 24, 1, 0, 0))
        yield* store.save("b0f5860fdecb@im.bot", {
          token: Redacted.make("new-token"),
          baseUrl: "https://ilinkai.weixin.qq.com",
          userId: "  owner@im.wechat "
        })
        const file = join(stateDir, "openclaw-weixin", "accounts", `${OWNER}.json`)
        expect(yield* readText(file)).toBe(
          "{\n  \"token\": \"new-token\",\n  \"savedAt\": \"2026-11-24T01:00:00.000Z\",\n" +
            "  \"baseUrl\": \"https://ilinkai.weixin.qq.com\",\n  \"userId\": \"owner@im.wechat\"\n}"
        )
        expect(yield* modeOf(file)).toBe(0o600)
        expect(yield* modeOf(join(stateDir, "openclaw-weixin"))).toBe(0o700)
        expect(yield* modeOf(join(stateDir, "openclaw-weixin", "accounts"))).toBe(0o700)
        const loaded = Option.getOrThrow(yield* store.load(OWNER))
        expect(loaded.token && Redacted.value(loaded.token)).toBe("new-token")
        expect(loaded.userId).toBe("owner@im.wechat")
      })))

  it.scoped("merges a login into an existing account file as the official plugin does", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        yield* TestClock.setTime(Date.UTC(2026, 10, 24, 2, 0, 0))
        // empty token and baseUrl keep the stored ones; userId not given is kept
        yield* store.save(OWNER, { token: Redacted.make(""), baseUrl: "" })
        const kept = Option.getOrThrow(yield* store.load(OWNER))
        expect(kept.token && Redacted.value(kept.token)).toBe("fixture-token-b0f5")
        expect(kept.baseUrl).toBe("https://ilinkai.weixin.qq.com")
        expect(kept.userId).toBe("o9cq80_fixture_owner@im.wechat")
        expect(kept.savedAt).toBe("2026-11-24T02:00:00.000Z")
        // a blank userId clears it; a new token and baseUrl overwrite
        yield* store.save(OWNER, { token: Redacted.make("rotated"), baseUrl: "https://x.example", userId: " " })
        const changed = Option.getOrThrow(yield* store.load(OWNER))
        expect(changed.token && Redacted.value(changed.token)).toBe("rotated")
        expect(changed.baseUrl).toBe("https://x.example")
        expect(changed.userId).toBeUndefined()
      })))

  it.scoped("writes accounts.json as 2-space JSON, appending once and removing on unregister", () =>
    inStateDir({ fixture: true }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const index = join(stateDir, "openclaw-weixin", "accounts.json")
        yield* store.register("NEW@im.bot")
        yield* store.register("new-im-bot")
        expect(yield* readText(index)).toBe(
          `[\n  "${OWNER}",\n  "${RAW_ONLY}",\n  "new-im-bot"\n]`
        )
        yield* store.unregister(RAW_ONLY)
        yield* store.unregister(RAW_ONLY)
        expect(yield* store.list()).toEqual([OWNER, "new-im-bot"])
      })))
})

describe("AccountStore.remove", () => {
  it.scoped("deletes the account's official and own files and its index entry, and only those", () =>
    inStateDir({ fixture: true }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const fs = yield* FileSystem.FileSystem
        const files = yield* StateFiles
        const paths = yield* StateDir
        yield* (yield* InboxJournal).append(OWNER, ["{\"id\":1}"])
        yield* (yield* ContextTokenStore).saveActivity(OWNER, { version: 1, peers: {} })
        // a temp file left by a crash in the middle of an atomic write
        yield* files.appendLines(join(paths.accountsDir, `.${OWNER}.json.tmp-1-abc`), ["torn"])
        yield* (yield* CursorStore).save(RAW_ONLY, "other-account-cursor")
        yield* store.remove(OWNER)
        yield* store.remove(OWNER)
        const accounts = join(stateDir, "openclaw-weixin", "accounts")
        expect((yield* fs.readDirectory(accounts)).sort()).toEqual([
          "7c1e0a9d2f44-im-bot.sync.json",
          "7c1e0a9d2f44@im.bot.json",
          "7c1e0a9d2f44@im.bot.sync.json"
        ])
        expect(yield* fs.exists(join(stateDir, "credentials", `openclaw-weixin-${OWNER}-allowFrom.json`))).toBe(false)
        expect(yield* store.list()).toEqual([RAW_ONLY])
        expect(yield* (yield* InboxJournal).read(OWNER)).toEqual([])
        expect(yield* (yield* CursorStore).load(RAW_ONLY)).toBe("other-account-cursor")
      })))

  it.scoped("also deletes raw-id files so the account does not come back through the fallback", () =>
    inStateDir({ fixture: true }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const fs = yield* FileSystem.FileSystem
        yield* fs.remove(join(stateDir, "credentials", "openclaw-weixin", "credentials.json"))
        yield* store.remove(RAW_ONLY)
        expect(yield* store.load(RAW_ONLY)).toEqual(Option.none())
        expect(yield* (yield* CursorStore).load(RAW_ONLY)).toBe("legacy-default-cursor")
      })))
})
