/**
 * Per-account `dmPolicy`, `allowFrom` and `textChunkLimit` (the account's own over the section's), the chunk
 * limit checked against the host's own `resolveTextChunkLimit`, and the dmScope the channel routes with.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import { resolveTextChunkLimit } from "openclaw/plugin-sdk/reply-chunking"
import { decodeChannelConfig } from "../../../src/config/ChannelConfig.js"
import { DEFAULT_TEXT_CHUNK_LIMIT } from "../../../src/config/Defaults.js"
import { channelDmScope, configuredDmScope, sharesMainSession } from "../../../src/config/DmScope.js"
import { resolveWeixinAccount } from "../../../src/config/ResolvedAccount.js"

const config = (section: unknown) => Either.getOrThrow(decodeChannelConfig(section))
const resolve = (section: unknown, id: string) => resolveWeixinAccount(config(section), id, Option.none())

describe("per-account access settings", () => {
  it("takes dmPolicy and allowFrom from the account entry, else from the section", () => {
    const section = { dmPolicy: "allowlist", allowFrom: ["s@im.wechat"], accounts: { "b-im-bot": { dmPolicy: "open" }, c: { allowFrom: [] } } }
    expect(resolve(section, "a-im-bot").access).toEqual({ dmPolicy: "allowlist", allowFrom: ["s@im.wechat"] })
    expect(resolve(section, "b-im-bot").access).toEqual({ dmPolicy: "open", allowFrom: ["s@im.wechat"] })
    // an empty list of the account's own replaces the section's
    expect(resolve(section, "c").access).toEqual({ dmPolicy: "allowlist", allowFrom: [] })
    expect(resolve({}, "a").access).toEqual({ dmPolicy: "pairing", allowFrom: [] })
  })

  it("rejects a bad per-account policy or chunk limit, naming the account's path", () => {
    const bad = decodeChannelConfig({ accounts: { b: { dmPolicy: "friends", textChunkLimit: 0 } } })
    expect(Either.isLeft(bad)).toBe(true)
    const paths = Either.isLeft(bad) ? bad.left.issues.map((issue) => issue.path) : []
    expect(paths).toContain("channels.openclaw-weixin.accounts.b.dmPolicy")
    expect(paths).toContain("channels.openclaw-weixin.accounts.b.textChunkLimit")
  })
})

describe("textChunkLimit per account", () => {
  const sections: ReadonlyArray<Record<string, unknown>> = [
    {},
    { textChunkLimit: 900 },
    { textChunkLimit: 900, accounts: { "b-im-bot": { textChunkLimit: 300 } } },
    { accounts: { "b-im-bot": { textChunkLimit: 300 } } }
  ]
  it.each(sections)("agrees with the host's resolveTextChunkLimit for %j", (section) => {
    for (const id of ["a-im-bot", "b-im-bot"]) {
      const host = resolveTextChunkLimit({ channels: { "openclaw-weixin": section } } as never, "openclaw-weixin", id, {
        fallbackLimit: DEFAULT_TEXT_CHUNK_LIMIT
      })
      expect(resolve(section, id).actor.chunkLimit).toBe(host)
    }
  })
})

describe("an account entry under its raw id", () => {
  it("applies to the account (the host's resolveTextChunkLimit does not match it; our own Outbox chunks with it)", () => {
    const section = { textChunkLimit: 900, accounts: { "b@im.bot": { textChunkLimit: 250 } } }
    expect(resolve(section, "b-im-bot").actor.chunkLimit).toBe(250)
  })
})

describe("the dmScope the channel routes with", () => {
  it("isolates accounts when several exist and session.dmScope is unset", () => {
    expect(channelDmScope({}, 2)).toBe("per-account-channel-peer")
    expect(channelDmScope({ session: {} }, 3)).toBe("per-account-channel-peer")
  })
  it("leaves a single account, and any dmScope the operator set, to the host", () => {
    expect(channelDmScope({}, 1)).toBeUndefined()
    expect(channelDmScope({}, 0)).toBeUndefined()
    expect(channelDmScope({ session: { dmScope: "main" } }, 2)).toBeUndefined()
    expect(channelDmScope({ session: { dmScope: "per-channel-peer" } }, 2)).toBeUndefined()
    expect(configuredDmScope({ session: { dmScope: " " } })).toBeUndefined()
  })
  it("calls an explicit main with several accounts a shared session (the doctor warns about it)", () => {
    expect(sharesMainSession({ session: { dmScope: "main" } }, 2)).toBe(true)
    expect(sharesMainSession({ session: { dmScope: "main" } }, 1)).toBe(false)
    expect(sharesMainSession({}, 2)).toBe(false)
  })
})

describe("uiHints", () => {
  it("names only keys the schema accepts (accounts.* for per-account ones)", async () => {
    const { CHANNEL_UI_HINTS } = await import("../../../src/config/UiHints.js")
    const { ChannelConfig, AccountConfig } = await import("../../../src/config/ChannelConfig.js")
    const top = Object.keys(ChannelConfig.fields)
    const perAccount = Object.keys(AccountConfig.fields)
    for (const key of Object.keys(CHANNEL_UI_HINTS)) {
      if (key.startsWith("accounts.*.")) expect(perAccount).toContain(key.slice("accounts.*.".length))
      // a nested key (`quoteCache.retentionDays`) names a field of a top-level key
      else expect(top).toContain(key.split(".")[0])
    }
    for (const key of perAccount) expect(Object.keys(CHANNEL_UI_HINTS)).toContain(`accounts.*.${key}`)
  })
})
