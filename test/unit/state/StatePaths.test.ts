import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as Os from "node:os"
import { join, relative, resolve } from "node:path"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { State } from "../../../src/state/State.js"
import {
  accountFiles,
  isTempFileName,
  ownFileName,
  resolveStatePaths,
  statePathsFor,
  tempFileNameFor
} from "../../../src/state/StatePaths.js"
import { FIXTURE_DIR, OWNER, RAW_ONLY } from "../../support/StateSupport.js"

describe("state dir resolution (PROTOCOL §3.6)", () => {
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

  it.effect("resolves the way the host does: OPENCLAW_HOME, `~` and relative paths", () =>
    Effect.gen(function*() {
      expect((yield* resolveWith({ OPENCLAW_HOME: "/nowhere/oc-home" })).stateDir).toBe("/nowhere/oc-home/.openclaw")
      expect((yield* resolveWith({ HOME: "/nowhere/h", OPENCLAW_STATE_DIR: "~/state" })).stateDir).toBe("/nowhere/h/state")
      expect((yield* resolveWith({ OPENCLAW_HOME: "/nowhere/oh", HOME: "/nowhere/h", OPENCLAW_STATE_DIR: "~/s" })).stateDir)
        .toBe("/nowhere/oh/s")
      expect((yield* resolveWith({ OPENCLAW_STATE_DIR: "rel/state" })).stateDir).toBe(resolve("rel/state"))
      // the official plugin's variable names the dir explicitly, with the same rules
      expect((yield* resolveWith({ HOME: "/nowhere/h", CLAWDBOT_STATE_DIR: "~/cb" })).stateDir).toBe("/nowhere/h/cb")
      expect((yield* resolveWith({ HOME: "/nowhere/h", CLAWDBOT_STATE_DIR: "~/cb" })).credentialsDir).toBe("/nowhere/h/cb/credentials")
    }))

  it.effect("takes the credentials dir from OPENCLAW_OAUTH_DIR when set", () =>
    Effect.gen(function*() {
      const paths = yield* resolveWith({ OPENCLAW_STATE_DIR: "/srv/oc", OPENCLAW_OAUTH_DIR: " /srv/oauth " })
      expect(paths.credentialsDir).toBe("/srv/oauth")
    }))

  it.scoped("the live layers read the state dir from the ConfigProvider", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const stateDir = yield* fs.makeTempDirectoryScoped({ prefix: "ocw-state-" })
      yield* fs.copy(FIXTURE_DIR, stateDir, { overwrite: true })
      const env = Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENCLAW_STATE_DIR", stateDir]])))
      const list = Effect.flatMap(AccountStore, (store) => store.list())
      expect(yield* list.pipe(Effect.provide(AccountStore.Default.pipe(Layer.provide(env))))).toEqual([OWNER, RAW_ONLY])
      expect(yield* list.pipe(Effect.provide(State.layer.pipe(Layer.provide(env))))).toEqual([OWNER, RAW_ONLY])
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("file-name rules", () => {
  const paths = statePathsFor("/state")

  it("names every file of an account from its normalized id, with the raw-id fallbacks", () => {
    const files = accountFiles(paths, "B0F5860FDECB@im.bot")
    expect(files.accountId).toBe("b0f5860fdecb-im-bot")
    expect(files.credentialSources).toEqual([
      "/state/openclaw-weixin/accounts/b0f5860fdecb-im-bot.json",
      "/state/openclaw-weixin/accounts/b0f5860fdecb@im.bot.json"
    ])
    expect(files.cursorSources).toEqual([
      "/state/openclaw-weixin/accounts/b0f5860fdecb-im-bot.sync.json",
      "/state/openclaw-weixin/accounts/b0f5860fdecb@im.bot.sync.json",
      "/state/agents/default/sessions/.openclaw-weixin-sync/default.json"
    ])
    expect(files.contextTokens).toBe("/state/openclaw-weixin/accounts/b0f5860fdecb-im-bot.context-tokens.json")
    expect(files.contextActivity).toBe("/state/openclaw-weixin/accounts/b0f5860fdecb-im-bot.ocw-context-activity.json")
    expect(files.inboxJournal).toBe("/state/openclaw-weixin/accounts/b0f5860fdecb-im-bot.ocw-inbox.jsonl")
    expect(files.allowFrom).toEqual([
      "/state/credentials/openclaw-weixin-b0f5860fdecb-im-bot-allowFrom.json",
      "/state/credentials/openclaw-weixin-b0f5860fdecb@im.bot-allowFrom.json"
    ])
  })

  it("keeps every name of hostile ids inside the accounts dir", () => {
    for (const id of ["../../etc", "a/b", "..", "CON", "__proto__", "/abs/path", "x\u0000y", ""]) {
      const files = accountFiles(paths, id)
      for (const file of [...files.credentialSources, files.cursor, files.contextTokens, files.inboxJournal]) {
        expect(relative(paths.accountsDir, file).includes("/")).toBe(false)
        expect(relative(paths.accountsDir, file).startsWith("..")).toBe(false)
      }
    }
  })

  it("claims only the account's own files and its temp files when it is removed", () => {
    const files = accountFiles(paths, "a-im-bot")
    expect(files.ownsName("a-im-bot.ocw-inbox.jsonl")).toBe(true)
    expect(files.ownsName(tempFileNameFor("a-im-bot.json", "1-ab"))).toBe(true)
    expect(files.ownsName("a-im-bot.json")).toBe(false) // in `removable` instead
    expect(files.ownsName("aa-im-bot.ocw-inbox.jsonl")).toBe(false)
    expect(files.ownsName(tempFileNameFor("a-im-bot-2.json", "1-ab"))).toBe(false)
    expect(isTempFileName(tempFileNameFor("x.json", "1-ab"))).toBe(true)
    expect(isTempFileName("x.json")).toBe(false)
  })

  it("refuses a name of our own files outside [a-z0-9-]", () => {
    expect(ownFileName("quotes")).toBe("quotes")
    expect(() => ownFileName("../escape")).toThrow("invalid state file name")
    expect(() => ownFileName("Upper")).toThrow("invalid state file name")
    expect(accountFiles(paths, "a").own(ownFileName("quotes"), ".json")).toBe("/state/openclaw-weixin/accounts/a.ocw-quotes.json")
  })
})
