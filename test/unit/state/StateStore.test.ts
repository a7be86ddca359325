import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Redacted, Schema, TestClock } from "effect"
import * as Os from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { resolveStatePaths, StateStore } from "../../../src/state/StateStore.js"

const FIXTURE_DIR = fileURLToPath(new URL("../../fixtures/official-state", import.meta.url))
const OWNER = "b0f5860fdecb-im-bot"
const RAW_ONLY = "7c1e0a9d2f44-im-bot"

/** A fresh temp state dir (optionally a copy of the official fixture) with a StateStore rooted at it. */
const inStateDir = <A, E>(
  options: { readonly fixture: boolean },
  body: (stateDir: string) => Effect.Effect<A, E, StateStore | FileSystem.FileSystem>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stateDir = yield* fs.makeTempDirectoryScoped({ prefix: "ocw-state-" })
    if (options.fixture) yield* fs.copy(FIXTURE_DIR, stateDir, { overwrite: true })
    return yield* body(stateDir).pipe(Effect.provide(StateStore.layerAt(stateDir)))
  }).pipe(Effect.provide(NodeContext.layer))

const readText = (file: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file))
const modeOf = (file: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.stat(file)).pipe(Effect.map((info) => info.mode & 0o777))

describe("StateStore reads the official plugin's state", () => {
  it.scoped("lists the indexed accounts, skipping blank and non-string entries", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        expect(yield* store.listAccountIds()).toEqual([OWNER, RAW_ONLY])
      })))

  it.scoped("loads an account file with all four keys", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const account = Option.getOrThrow(yield* store.loadAccount(OWNER))
        expect(account.token && Redacted.value(account.token)).toBe("fixture-token-b0f5")
        expect(account.savedAt).toBe("2026-03-01T08:15:30.123Z")
        expect(account.baseUrl).toBe("https://ilinkai.weixin.qq.com")
        expect(account.userId).toBe("o9cq80_fixture_owner@im.wechat")
        // the raw id normalizes to the same account
        const viaRaw = Option.getOrThrow(yield* store.loadAccount("b0f5860fdecb@im.bot"))
        expect(viaRaw.userId).toBe("o9cq80_fixture_owner@im.wechat")
      })))

  it.scoped("falls back to the raw-id account file", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const account = Option.getOrThrow(yield* store.loadAccount(RAW_ONLY))
        expect(account.token && Redacted.value(account.token)).toBe("fixture-token-7c1e-raw")
        expect(account.userId).toBeUndefined()
      })))

  it.scoped("falls back to the legacy credentials.json with the token only, for any other id", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const account = Option.getOrThrow(yield* store.loadAccount("never-logged-in"))
        expect(Object.keys(account)).toEqual(["token"])
        expect(account.token && Redacted.value(account.token)).toBe("fixture-legacy-token")
      })))

  it.scoped("returns None when no account file and no legacy credentials exist", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        expect(yield* store.loadAccount(OWNER)).toEqual(Option.none())
        expect(yield* store.listAccountIds()).toEqual([])
      })))

  it.scoped("loads the cursor from the own file, then the raw-id file, then the legacy default file", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        expect(yield* store.loadCursor(OWNER)).toBe("CgQIARAB-fixture-cursor")
        expect(yield* store.loadCursor(RAW_ONLY)).toBe("raw-id-cursor")
        expect(yield* store.loadCursor("other")).toBe("legacy-default-cursor")
      })))

  it.scoped("starts from an empty cursor when no sync file exists", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        expect(yield* store.loadCursor(OWNER)).toBe("")
      })))

  it.scoped("restores only non-empty string context tokens", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        expect(yield* store.loadContextTokens(OWNER)).toEqual({
          "o9cq80_fixture_owner@im.wechat": "AARzJWAFAAABAAAAAAC-fixture-ctx"
        })
        expect(yield* store.loadContextTokens(RAW_ONLY)).toEqual({})
      })))
})

describe("StateStore writes files the official plugin can read", () => {
  it.scoped("writes the account file as 2-space JSON with mode 0600 and savedAt from the clock", () =>
    inStateDir({ fixture: false }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* TestClock.setTime(Date.UTC(2026, 10, 24, 1, 0, 0))
        yield* store.saveAccount("b0f5860fdecb@im.bot", {
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
        const loaded = Option.getOrThrow(yield* store.loadAccount(OWNER))
        expect(loaded.token && Redacted.value(loaded.token)).toBe("new-token")
        expect(loaded.userId).toBe("owner@im.wechat")
      })))

  it.scoped("merges a login into an existing account file as the official plugin does", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* TestClock.setTime(Date.UTC(2026, 10, 24, 2, 0, 0))
        // empty token and baseUrl keep the stored ones; userId not given is kept
        yield* store.saveAccount(OWNER, { token: Redacted.make(""), baseUrl: "" })
        const kept = Option.getOrThrow(yield* store.loadAccount(OWNER))
        expect(kept.token && Redacted.value(kept.token)).toBe("fixture-token-b0f5")
        expect(kept.baseUrl).toBe("https://ilinkai.weixin.qq.com")
        expect(kept.userId).toBe("o9cq80_fixture_owner@im.wechat")
        expect(kept.savedAt).toBe("2026-11-24T02:00:00.000Z")
        // a blank userId clears it; a new token and baseUrl overwrite
        yield* store.saveAccount(OWNER, { token: Redacted.make("rotated"), baseUrl: "https://x.example", userId: " " })
        const changed = Option.getOrThrow(yield* store.loadAccount(OWNER))
        expect(changed.token && Redacted.value(changed.token)).toBe("rotated")
        expect(changed.baseUrl).toBe("https://x.example")
        expect(changed.userId).toBeUndefined()
      })))

  it.scoped("writes accounts.json as 2-space JSON, appending once and removing on unregister", () =>
    inStateDir({ fixture: true }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const index = join(stateDir, "openclaw-weixin", "accounts.json")
        yield* store.registerAccount("NEW@im.bot")
        yield* store.registerAccount("new-im-bot")
        expect(yield* readText(index)).toBe(
          `[\n  "${OWNER}",\n  "${RAW_ONLY}",\n  "new-im-bot"\n]`
        )
        yield* store.unregisterAccount(RAW_ONLY)
        yield* store.unregisterAccount(RAW_ONLY)
        expect(yield* store.listAccountIds()).toEqual([OWNER, "new-im-bot"])
      })))

  it.scoped("writes the cursor and context tokens as compact JSON with mode 0600", () =>
    inStateDir({ fixture: false }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const accounts = join(stateDir, "openclaw-weixin", "accounts")
        yield* store.saveCursor(OWNER, "cursor-2")
        yield* store.saveContextTokens(OWNER, { "u1@im.wechat": "t1", "u2@im.wechat": "t2" })
        expect(yield* readText(join(accounts, `${OWNER}.sync.json`))).toBe("{\"get_updates_buf\":\"cursor-2\"}")
        expect(yield* readText(join(accounts, `${OWNER}.context-tokens.json`))).toBe(
          "{\"u1@im.wechat\":\"t1\",\"u2@im.wechat\":\"t2\"}"
        )
        expect(yield* modeOf(join(accounts, `${OWNER}.sync.json`))).toBe(0o600)
        expect(yield* store.loadCursor(OWNER)).toBe("cursor-2")
        expect(yield* store.loadContextTokens(OWNER)).toEqual({ "u1@im.wechat": "t1", "u2@im.wechat": "t2" })
      })))

  it.scoped("a context-token file with a __proto__ key cannot change the prototype of the loaded map", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const hostile = JSON.parse("{\"__proto__\":{\"polluted\":\"yes\"},\"u1\":\"t1\"}") as Record<string, string>
        yield* store.saveContextTokens(OWNER, hostile)
        const tokens = yield* store.loadContextTokens(OWNER)
        expect(Object.getPrototypeOf(tokens)).toBe(Object.prototype)
        expect(tokens).toEqual({ u1: "t1" })
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      })))
})

const Dedupe = Schema.Struct({ seen: Schema.Array(Schema.String), at: Schema.DateTimeUtc })

describe("StateStore own files", () => {
  it.scoped("round-trips a schema-encoded record under a name that cannot collide with official files", () =>
    inStateDir({ fixture: false }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const fs = yield* FileSystem.FileSystem
        expect(yield* store.readOwnJson(OWNER, "dedupe", Dedupe)).toEqual(Option.none())
        const value = { seen: ["m1", "m2"], at: (yield* Effect.orDie(Schema.decode(Schema.DateTimeUtc)("2026-11-24T00:00:00.000Z"))) }
        yield* store.writeOwnJson(OWNER, "dedupe", value, Dedupe)
        const read = Option.getOrThrow(yield* store.readOwnJson(OWNER, "dedupe", Dedupe))
        expect(read.seen).toEqual(["m1", "m2"])
        const names = yield* fs.readDirectory(join(stateDir, "openclaw-weixin", "accounts"))
        expect(names).toEqual([`${OWNER}.ocw-dedupe.json`])
        expect(yield* modeOf(join(stateDir, "openclaw-weixin", "accounts", names[0] ?? ""))).toBe(0o600)
      })))

  it.scoped("refuses a file name outside [a-z0-9-]", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const error = yield* Effect.flip(store.writeOwnJson(OWNER, "../escape", { seen: [] }, Schema.Struct({ seen: Schema.Array(Schema.String) })))
        expect(error._tag).toBe("StateError")
        expect(error.message).toContain("invalid state file name")
      })))
})

describe("StateStore.removeAccount", () => {
  it.scoped("deletes the account's official and own files and its index entry, and only those", () =>
    inStateDir({ fixture: true }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const fs = yield* FileSystem.FileSystem
        yield* store.appendJournal(OWNER, "inbox", ["{\"id\":1}"])
        yield* store.writeOwnJson(OWNER, "dedupe", { seen: [] }, Schema.Struct({ seen: Schema.Array(Schema.String) }))
        yield* store.saveCursor(RAW_ONLY, "other-account-cursor")
        yield* store.removeAccount(OWNER)
        yield* store.removeAccount(OWNER)
        const accounts = join(stateDir, "openclaw-weixin", "accounts")
        expect((yield* fs.readDirectory(accounts)).sort()).toEqual([
          "7c1e0a9d2f44-im-bot.sync.json",
          "7c1e0a9d2f44@im.bot.json",
          "7c1e0a9d2f44@im.bot.sync.json"
        ])
        expect(yield* fs.exists(join(stateDir, "credentials", `openclaw-weixin-${OWNER}-allowFrom.json`))).toBe(false)
        expect(yield* store.listAccountIds()).toEqual([RAW_ONLY])
        expect(yield* store.readJournal(OWNER, "inbox")).toEqual([])
        expect(yield* store.loadCursor(RAW_ONLY)).toBe("other-account-cursor")
      })))

  it.scoped("also deletes raw-id files so the account does not come back through the fallback", () =>
    inStateDir({ fixture: true }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const fs = yield* FileSystem.FileSystem
        yield* fs.remove(join(stateDir, "credentials", "openclaw-weixin", "credentials.json"))
        yield* store.removeAccount(RAW_ONLY)
        expect(yield* store.loadAccount(RAW_ONLY)).toEqual(Option.none())
        expect(yield* store.loadCursor(RAW_ONLY)).toBe("legacy-default-cursor")
      })))
})

describe("state dir resolution (ILINK §3.6)", () => {
  const resolveWith = (env: Record<string, string>) =>
    resolveStatePaths.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

  it.effect("prefers OPENCLAW_STATE_DIR (trimmed), then CLAWDBOT_STATE_DIR, then ~/.openclaw", () =>
    Effect.gen(function*() {
      const both = yield* resolveWith({ OPENCLAW_STATE_DIR: " /srv/oc ", CLAWDBOT_STATE_DIR: "/srv/cb" })
      expect(both).toEqual({
        stateDir: "/srv/oc",
        weixinDir: "/srv/oc/openclaw-weixin",
        accountsDir: "/srv/oc/openclaw-weixin/accounts",
        credentialsDir: "/srv/oc/credentials",
        accountsIndexFile: "/srv/oc/openclaw-weixin/accounts.json"
      })
      expect((yield* resolveWith({ OPENCLAW_STATE_DIR: "  ", CLAWDBOT_STATE_DIR: "/srv/cb" })).stateDir).toBe("/srv/cb")
      expect((yield* resolveWith({})).stateDir).toBe(join(Os.homedir(), ".openclaw"))
    }))

  it.effect("takes the credentials dir from OPENCLAW_OAUTH_DIR when set", () =>
    Effect.gen(function*() {
      const paths = yield* resolveWith({ OPENCLAW_STATE_DIR: "/srv/oc", OPENCLAW_OAUTH_DIR: " /srv/oauth " })
      expect(paths.credentialsDir).toBe("/srv/oauth")
    }))

  it.scoped("the Default layer reads the state dir from the ConfigProvider", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* fs.makeTempDirectoryScoped({ prefix: "ocw-state-" })
      yield* fs.copy(FIXTURE_DIR, stateDir, { overwrite: true })
      const ids = yield* Effect.flatMap(StateStore, (store) => store.listAccountIds()).pipe(
        Effect.provide(
          StateStore.Default.pipe(
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENCLAW_STATE_DIR", stateDir]]))))
          )
        )
      )
      expect(ids).toEqual([OWNER, RAW_ONLY])
    }).pipe(Effect.provide(NodeContext.layer)))
})
