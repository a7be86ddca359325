import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { DEFAULT_DISPATCH_CONCURRENCY } from "../../../src/config/Defaults.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { ChannelConfigError, decodeChannelConfig } from "../../../src/config/ChannelConfig.js"
import { makeTempDir } from "../../support/actorHarness.js"
import { hostConfig, storeLogin, testDeps } from "../../support/plugin.js"

const setup = Effect.gen(function*() {
  const dir = yield* makeTempDir("ocw-config-")
  yield* storeLogin(dir, { id: "aaa@im.bot", token: "tok-aaa-123456", baseUrl: "https://login.example/", userId: "u1@im.wechat" })
  yield* storeLogin(dir, { id: "bbb@im.bot", token: "tok-bbb-123456" })
  const plugin = makeWeixinChannelPlugin(testDeps(dir))
  return { dir, plugin, config: plugin.config }
})

describe("config adapter on a state dir", () => {
  it.scoped("lists the accounts of accounts.json, normalized", () =>
    Effect.gen(function*() {
      const { config } = yield* setup
      expect(config.listAccountIds({})).toEqual(["aaa-im-bot", "bbb-im-bot"])
      expect(config.defaultAccountId!({})).toBe("aaa-im-bot")
    }))

  it.scoped("resolves an account with its stored token and login base URL", () =>
    Effect.gen(function*() {
      const { config } = yield* setup
      const account = config.resolveAccount({}, "aaa@im.bot")
      expect(account.accountId).toBe("aaa-im-bot")
      expect(account.configured).toBe(true)
      expect(Redacted.value(account.token!)).toBe("tok-aaa-123456")
      expect(account.baseUrl).toBe("https://login.example/")
      expect(account.baseUrlSource).toBe("login")
      expect(account.userId).toBe("u1@im.wechat")
      expect(config.isConfigured!(account, {})).toBe(true)
    }))

  it.scoped("takes the base URL from the account config, then the section, then the default when the login stored none", () =>
    Effect.gen(function*() {
      const { config } = yield* setup
      const perAccount = hostConfig({ baseUrl: "https://section.example", accounts: { "bbb-im-bot": { baseUrl: "https://acct.example" } } })
      expect(config.resolveAccount(perAccount, "bbb-im-bot").baseUrl).toBe("https://acct.example")
      expect(config.resolveAccount(hostConfig({ baseUrl: "https://section.example" }), "bbb-im-bot").baseUrl).toBe(
        "https://section.example"
      )
      expect(config.resolveAccount({}, "bbb-im-bot").baseUrlSource).toBe("default")
      // a login's stored server wins over config
      expect(config.resolveAccount(perAccount, "aaa-im-bot").baseUrl).toBe("https://login.example/")
    }))

  it.scoped("reads name and enabled from the account entry (keyed by raw or normalized id)", () =>
    Effect.gen(function*() {
      const { config } = yield* setup
      const cfg = hostConfig({ name: "Section", accounts: { "aaa@im.bot": { name: " Support bot ", enabled: false } } })
      const account = config.resolveAccount(cfg, "aaa-im-bot")
      expect(account.name).toBe("Support bot")
      expect(config.isEnabled!(account, cfg)).toBe(false)
      expect(config.describeAccount!(account, cfg)).toEqual({
        accountId: "aaa-im-bot",
        name: "Support bot",
        enabled: false,
        configured: true,
        baseUrl: "https://login.example/"
      })
      expect(config.resolveAccount(cfg, "bbb-im-bot").name).toBe("Section")
    }))

  it.scoped("resolves an unknown account id as not configured instead of throwing", () =>
    Effect.gen(function*() {
      const { config } = yield* setup
      const account = config.resolveAccount({}, "ghost")
      expect(account.configured).toBe(false)
      expect(account.token).toBeUndefined()
      expect(config.isConfigured!(account, {})).toBe(false)
    }))

  it.scoped("treats a corrupt index as no accounts", () =>
    Effect.gen(function*() {
      const { dir, config } = yield* setup
      fs.writeFileSync(path.join(dir, "openclaw-weixin", "accounts.json"), "{not json")
      expect(config.listAccountIds({})).toEqual([])
    }))

  it.scoped("rejects config with wrong types, naming the host path of each problem", () =>
    Effect.gen(function*() {
      const { config } = yield* setup
      const bad = hostConfig({ accounts: { x: { enabled: "yes" } }, dispatchConcurrency: 0, dmPolicy: "everyone" })
      expect(() => config.resolveAccount(bad, "aaa-im-bot")).toThrow(ChannelConfigError)
      try {
        config.resolveAccount(bad, "aaa-im-bot")
      } catch (error) {
        const message = (error as Error).message
        expect(message).toContain("channels.openclaw-weixin.accounts.x.enabled: Expected boolean")
        expect(message).toContain("channels.openclaw-weixin.dispatchConcurrency: must be a whole number from 1 to 64")
        expect(message).toContain("channels.openclaw-weixin.dmPolicy")
      }
    }))

  it("rejects a base URL that is not an absolute http(s) URL when the config is read, naming the path and the value", () => {
    const decoded = decodeChannelConfig({ baseUrl: "ilinkai.weixin.qq.com", accounts: { x: { baseUrl: "ftp://h/" } } })
    expect(Either.isLeft(decoded)).toBe(true)
    const message = Either.isLeft(decoded) ? decoded.left.message : ""
    expect(message).toContain(`channels.openclaw-weixin.baseUrl: baseUrl "ilinkai.weixin.qq.com"`)
    expect(message).toContain(`channels.openclaw-weixin.accounts.x.baseUrl: baseUrl "ftp://h/"`)
    expect(Either.isRight(decodeChannelConfig({ baseUrl: " http://127.0.0.1:9/prefix " }))).toBe(true)
  })

  it("applies defaults to an empty section, taking dispatch concurrency and chunk size from the actor's own defaults", () => {
    const decoded = decodeChannelConfig({})
    expect(DEFAULT_DISPATCH_CONCURRENCY).toBe(8)
    expect(Either.getOrThrow(decoded)).toEqual({
      dispatchConcurrency: 8,
      textChunkLimit: 2000,
      replyProgressMessages: true,
      dmPolicy: "pairing"
    })
  })

  it("accepts the keys an official install writes (channelConfigUpdatedAt, quoteCache)", () => {
    const decoded = decodeChannelConfig({
      channelConfigUpdatedAt: "2026-01-01T00:00:00.000Z",
      quoteCache: { enabled: true, retentionDays: 30 },
      routeTag: 7
    })
    expect(Either.isRight(decoded)).toBe(true)
  })

  it.scoped("the channel configSchema validator reports paths relative to the section", () =>
    Effect.gen(function*() {
      const { plugin } = yield* setup
      const result = plugin.configSchema!.runtime!.safeParse({ textChunkLimit: "long" })
      expect(result.success).toBe(false)
      if (!result.success) expect(result.issues[0]?.path).toEqual(["textChunkLimit"])
      expect(plugin.configSchema!.runtime!.safeParse({ textChunkLimit: 1200 })).toEqual({
        success: true,
        data: { textChunkLimit: 1200 }
      })
    }))
})
