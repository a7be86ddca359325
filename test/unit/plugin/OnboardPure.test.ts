/**
 * The pure parts of issue 12 items 4 and 5: a peer's send readiness (the Outbox's own refusal rule) and
 * the allow-list edits the host's `/allowlist` command and Control UI make through `allowlist`.
 */
import { describe, expect, it } from "@effect/vitest"
import { allowlistAdapter, applyAllowlistEdit } from "../../../src/plugin/Allowlist.js"
import { byReadiness, describeReadiness, peerReadiness } from "../../../src/plugin/PeerReadiness.js"

const limits = { budget: 10, windowMs: 24 * 3_600_000 }
const now = Date.parse("2026-12-05T10:00:00Z")
const hoursAgo = (h: number) => now - h * 3_600_000

describe("peerReadiness", () => {
  it("open window with budget left: sendable until 24 h after the last message", () => {
    const r = peerReadiness("a@im.wechat", "t", { lastInboundAt: hoursAgo(2), repliesSince: 4 }, now, limits)
    expect(r).toMatchObject({ sendable: true, blockedBy: undefined, repliesLeft: 6, windowClosesAt: hoursAgo(2) + limits.windowMs })
    expect(describeReadiness(r, limits)).toBe("can send until 2026-12-06T08:00Z, 6 of 10 replies left")
  })

  it("closed window at exactly 24 h, as the Outbox refuses", () => {
    const r = peerReadiness("a@im.wechat", "t", { lastInboundAt: hoursAgo(24), repliesSince: 0 }, now, limits)
    expect(r).toMatchObject({ sendable: false, blockedBy: "window-closed" })
    expect(describeReadiness(r, limits)).toBe("cannot send: reply window closed at 2026-12-05T10:00Z; the user must write first")
  })

  it("budget spent", () => {
    const r = peerReadiness("a@im.wechat", "t", { lastInboundAt: hoursAgo(1), repliesSince: 10 }, now, limits)
    expect(r).toMatchObject({ sendable: false, blockedBy: "budget-spent", repliesLeft: 0 })
    expect(describeReadiness(r, limits)).toMatch(/^cannot send: reply budget spent/)
  })

  it("a token without activity (from the official plugin's file) may be tried; its window is unknown", () => {
    const r = peerReadiness("a@im.wechat", "t", undefined, now, limits)
    expect(r).toMatchObject({ sendable: true, windowClosesAt: undefined, repliesLeft: 10 })
    expect(describeReadiness(r, limits)).toBe("can send (window unknown: token from before this plugin), 10 of 10 replies left")
  })

  it("orders sendable peers first, most recent writer first", () => {
    const old = peerReadiness("old@im.wechat", "t", { lastInboundAt: hoursAgo(30), repliesSince: 0 }, now, limits)
    const recent = peerReadiness("recent@im.wechat", "t", { lastInboundAt: hoursAgo(1), repliesSince: 0 }, now, limits)
    const earlier = peerReadiness("earlier@im.wechat", "t", { lastInboundAt: hoursAgo(5), repliesSince: 0 }, now, limits)
    expect([old, earlier, recent].sort(byReadiness).map((r) => r.userId)).toEqual(["recent@im.wechat", "earlier@im.wechat", "old@im.wechat"])
  })
})

describe("allowlist adapter", () => {
  it("adds an id in the server's spelling once, whatever case or prefix it is given in", () => {
    const parsedConfig: Record<string, unknown> = {}
    const first = applyAllowlistEdit({ parsedConfig, scope: "dm", action: "add", entry: "user:Abc@im.wechat" })
    expect(first).toEqual({
      kind: "ok",
      changed: true,
      pathLabel: "channels.openclaw-weixin.allowFrom",
      writeTarget: { kind: "channel", scope: { channelId: "openclaw-weixin" } }
    })
    expect(applyAllowlistEdit({ parsedConfig, scope: "dm", action: "add", entry: "abc@IM.wechat" })).toMatchObject({ changed: false })
    expect(parsedConfig).toEqual({ channels: { "openclaw-weixin": { allowFrom: ["Abc@im.wechat"] } } })
  })

  it("removes an id in any case, keeps the rest of the section", () => {
    const parsedConfig = { channels: { "openclaw-weixin": { dmPolicy: "allowlist", allowFrom: ["Abc@im.wechat", "x@im.wechat"] } } }
    expect(applyAllowlistEdit({ parsedConfig, scope: "dm", action: "remove", entry: "ABC@im.wechat" })).toMatchObject({ changed: true })
    expect(parsedConfig.channels["openclaw-weixin"]).toEqual({ dmPolicy: "allowlist", allowFrom: ["x@im.wechat"] })
    expect(applyAllowlistEdit({ parsedConfig, scope: "dm", action: "remove", entry: "nobody@im.wechat" })).toMatchObject({ changed: false })
  })

  it("refuses what is not a WeChat user id, and groups (the channel has none)", () => {
    const parsedConfig: Record<string, unknown> = {}
    expect(applyAllowlistEdit({ parsedConfig, scope: "dm", action: "add", entry: "alice" })).toEqual({ kind: "invalid-entry" })
    expect(applyAllowlistEdit({ parsedConfig, scope: "dm", action: "add", entry: "user:" })).toEqual({ kind: "invalid-entry" })
    expect(applyAllowlistEdit({ parsedConfig, scope: "group", action: "add", entry: "a@im.wechat" })).toBeNull()
    expect(parsedConfig).toEqual({})
    expect(allowlistAdapter.supportsScope!({ scope: "group" })).toBe(false)
    expect(allowlistAdapter.supportsScope!({ scope: "dm" })).toBe(true)
  })

  it("reads the policy and list dmPolicy uses, with its default", () => {
    expect(allowlistAdapter.readConfig!({ cfg: {} as never })).toEqual({ dmAllowFrom: [], dmPolicy: "pairing" })
    const cfg = { channels: { "openclaw-weixin": { dmPolicy: "allowlist", allowFrom: ["a@im.wechat"] } } } as never
    expect(allowlistAdapter.readConfig!({ cfg })).toEqual({ dmAllowFrom: ["a@im.wechat"], dmPolicy: "allowlist" })
  })

  it("an account with its own allowFrom: reads and edits that list, the section's is left alone", () => {
    const parsedConfig: Record<string, unknown> = {
      channels: {
        "openclaw-weixin": {
          allowFrom: ["a@im.wechat"],
          accounts: { "Bot-1": { dmPolicy: "allowlist", allowFrom: ["b@im.wechat"] }, other: { name: "x" } }
        }
      }
    }
    const added = applyAllowlistEdit({ parsedConfig, scope: "dm", action: "add", entry: "c@im.wechat", accountId: "bot-1" })
    expect(added).toEqual({
      kind: "ok",
      changed: true,
      pathLabel: "channels.openclaw-weixin.accounts.Bot-1.allowFrom",
      writeTarget: { kind: "account", scope: { channelId: "openclaw-weixin", accountId: "Bot-1" } }
    })
    const section = (parsedConfig["channels"] as Record<string, any>)["openclaw-weixin"]
    expect(section.accounts["Bot-1"].allowFrom).toEqual(["b@im.wechat", "c@im.wechat"])
    expect(section.allowFrom).toEqual(["a@im.wechat"])
    // an account without a list of its own edits the section's, which is the one it reads
    expect(applyAllowlistEdit({ parsedConfig, scope: "dm", action: "add", entry: "d@im.wechat", accountId: "other" }))
      .toMatchObject({ changed: true, pathLabel: "channels.openclaw-weixin.allowFrom" })
    expect(section.allowFrom).toEqual(["a@im.wechat", "d@im.wechat"])
    expect(allowlistAdapter.readConfig!({ cfg: parsedConfig as never, accountId: "bot-1" }))
      .toEqual({ dmAllowFrom: ["b@im.wechat", "c@im.wechat"], dmPolicy: "allowlist" })
  })
})
