/**
 * The one function that resolves an account: endpoint, HTTP settings and actor settings from the channel
 * config, the stored login and the tuning of tests.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Redacted } from "effect"
import { decodeChannelConfig } from "../../../src/config/ChannelConfig.js"
import { DEFAULT_CDN_BASE_URL, DEFAULT_ILINK_BASE_URL } from "../../../src/config/Defaults.js"
import { loginSettingsOf, resolveWeixinAccount } from "../../../src/config/ResolvedAccount.js"
import { defaultActorSettings } from "../../../src/config/Tuning.js"

const config = (section: unknown) => Either.getOrThrow(decodeChannelConfig(section))
const login = (fields: { token?: string; baseUrl?: string; userId?: string }) =>
  Option.some({
    ...(fields.token === undefined ? {} : { token: Redacted.make(fields.token) }),
    ...(fields.baseUrl === undefined ? {} : { baseUrl: fields.baseUrl }),
    ...(fields.userId === undefined ? {} : { userId: fields.userId })
  })

describe("resolveWeixinAccount", () => {
  it("takes the base URL from the account entry, then the login, then the section, then the default", () => {
    const section = config({ baseUrl: "https://section.example", accounts: { "a@im.bot": { baseUrl: "https://acct.example" } } })
    // the operator named this account's server: it wins over the one its login stored
    expect(resolveWeixinAccount(section, "a@im.bot", login({ token: "t", baseUrl: "https://login.example/" })))
      .toMatchObject({ accountId: "a-im-bot", baseUrl: "https://acct.example", baseUrlSource: "account-config", configured: true })
    expect(resolveWeixinAccount(section, "b-im-bot", login({ token: "t", baseUrl: "https://login.example/" })))
      .toMatchObject({ baseUrl: "https://login.example/", baseUrlSource: "login" })
    expect(resolveWeixinAccount(section, "b-im-bot", Option.none()))
      .toMatchObject({ baseUrl: "https://section.example", baseUrlSource: "channel-config", configured: false })
    expect(resolveWeixinAccount(config({}), "b-im-bot", Option.none()))
      .toMatchObject({ baseUrl: DEFAULT_ILINK_BASE_URL, baseUrlSource: "default", cdnBaseUrl: DEFAULT_CDN_BASE_URL })
  })

  it("treats a blank stored token as not logged in", () => {
    const account = resolveWeixinAccount(config({}), "a", login({ token: "  " }))
    expect(account.configured).toBe(false)
    expect(account.token).toBeUndefined()
  })

  it("derives the HTTP settings: the section's bot agent, the account's route tag over the section's", () => {
    const section = config({ botAgent: "Shop/1.0", routeTag: 7, accounts: { a: { routeTag: "east" } } })
    expect(resolveWeixinAccount(section, "a", Option.none()).http)
      .toEqual({ botAgent: "Shop/1.0", routeTag: "east", protocolVersion: "2.4.9" })
    expect(resolveWeixinAccount(section, "b", Option.none()).http)
      .toEqual({ botAgent: "Shop/1.0", routeTag: 7, protocolVersion: "2.4.9" })
  })

  it("announces protocol level 2.4.9 unless protocolVersion says otherwise; refuses a malformed level", () => {
    expect(resolveWeixinAccount(config({ protocolVersion: "2.5.0" }), "a", Option.none()).http.protocolVersion).toBe("2.5.0")
    expect(loginSettingsOf(config({ protocolVersion: "2.5.0" })).http.protocolVersion).toBe("2.5.0")
    expect(loginSettingsOf(config({})).http.protocolVersion).toBe("2.4.9")
    for (const bad of ["2.4", "2.4.9.1", "v2.4.9", "2.256.0", "", 249]) {
      const decoded = decodeChannelConfig({ protocolVersion: bad })
      expect(Either.isLeft(decoded), String(bad)).toBe(true)
      if (Either.isLeft(decoded)) expect(decoded.left.message).toContain("channels.openclaw-weixin.protocolVersion")
    }
  })

  it("derives the actor settings: the section's concurrency and chunk limit over the tuned defaults", () => {
    const section = config({ dispatchConcurrency: 3, textChunkLimit: 500 })
    expect(resolveWeixinAccount(section, "a", Option.none()).actor).toEqual({
      ...defaultActorSettings,
      dispatchConcurrency: 3,
      chunkLimit: 500
    })
    // tuning reaches what a user cannot set, never what the config says
    const tuned = resolveWeixinAccount(section, "a", Option.none(), {
      backoffBaseMs: 10,
      dispatchCapacity: 5,
      dispatchConcurrency: 99
    }).actor
    expect(tuned).toMatchObject({ backoffBaseMs: 10, dispatchCapacity: 5, dispatchConcurrency: 3, chunkLimit: 500 })
  })
})

describe("mediaMaxMb", () => {
  it("resolves to bytes: the account's own, else the section's, else 100 MB", () => {
    const section = config({ mediaMaxMb: 20, accounts: { a: { mediaMaxMb: 5 } } })
    expect(resolveWeixinAccount(section, "a", Option.none()).mediaMaxBytes).toBe(5 * 1024 * 1024)
    expect(resolveWeixinAccount(section, "b", Option.none()).mediaMaxBytes).toBe(20 * 1024 * 1024)
    expect(resolveWeixinAccount(config({}), "b", Option.none()).mediaMaxBytes).toBe(100 * 1024 * 1024)
  })

  it("refuses a value that is not a whole number from 1 to 2048, naming the config path", () => {
    for (const bad of [0, -1, 1.5, 2049, "10"]) {
      const decoded = decodeChannelConfig({ mediaMaxMb: bad })
      expect(Either.isLeft(decoded), String(bad)).toBe(true)
      if (Either.isLeft(decoded)) expect(decoded.left.message).toContain("channels.openclaw-weixin.mediaMaxMb")
    }
    const perAccount = decodeChannelConfig({ accounts: { a: { mediaMaxMb: 0 } } })
    expect(Either.isLeft(perAccount) && perAccount.left.message).toContain("channels.openclaw-weixin.accounts.a.mediaMaxMb")
  })
})

describe("loginSettingsOf", () => {
  it("fetches the QR from the section's base URL with the section's HTTP settings", () => {
    expect(loginSettingsOf(config({ baseUrl: " http://127.0.0.1:9 ", botAgent: "X/1", routeTag: "r" }))).toEqual({
      qrBaseUrl: "http://127.0.0.1:9",
      http: { botAgent: "X/1", routeTag: "r", protocolVersion: "2.4.9" }
    })
    expect(loginSettingsOf(config({})).qrBaseUrl).toBeUndefined()
  })
})
