import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { hostConfig, tempDir, testDeps } from "../../support/plugin.js"

const plugin = makeWeixinChannelPlugin(testDeps(tempDir("ocw-plugin-")))
const account = plugin.config.resolveAccount({}, "a")

describe("the channel plugin object", () => {
  it("declares a direct-chat channel with media (both ways), no block streaming (turns disable it), reloaded on its config prefix", () => {
    expect(plugin.id).toBe("openclaw-weixin")
    expect(plugin.capabilities).toEqual({ chatTypes: ["direct"], media: true })
    expect(plugin.streaming).toBeUndefined()
    expect(plugin.reload).toEqual({ configPrefixes: ["channels.openclaw-weixin"] })
    expect(plugin.meta).toMatchObject({ id: "openclaw-weixin", docsPath: "/channels/wechat", aliases: ["weixin", "wechat", "微信"], order: 75 })
    expect(plugin.outbound!.deliveryMode).toBe("direct")
  })
})

describe("security.resolveDmPolicy", () => {
  const resolve = (section: Record<string, unknown>, accountId = "a") => {
    const cfg = hostConfig(section)
    return plugin.security!.resolveDmPolicy!({ cfg, accountId, account: plugin.config.resolveAccount(cfg, accountId) })!
  }

  it("defaults to pairing, pointing at the host config paths and the approve command", () => {
    const policy = resolve({})
    expect(policy.policy).toBe("pairing")
    // a prefix: the host appends "allowFrom" itself (its audit prints `${allowFromPath}allowFrom`)
    expect(policy.allowFromPath).toBe("channels.openclaw-weixin.")
    expect(policy.policyPath).toBe("channels.openclaw-weixin.dmPolicy")
    expect(policy.approveHint).toContain("openclaw pairing approve openclaw-weixin <CODE>")
  })

  it("passes allowlist, open and disabled through with the allow list", () => {
    expect(resolve({ dmPolicy: "allowlist", allowFrom: ["A@im.wechat"] })).toMatchObject({
      policy: "allowlist",
      allowFrom: ["A@im.wechat"]
    })
    expect(resolve({ dmPolicy: "open" }).policy).toBe("open")
    expect(resolve({ dmPolicy: "disabled" }).policy).toBe("disabled")
  })

  it("reports open as admitting everyone, so the host's audit says only that DMs are open", () => {
    expect(resolve({ dmPolicy: "open", allowFrom: ["u1@im.wechat"] }).allowFrom).toEqual(["u1@im.wechat", "*"])
    expect(resolve({ dmPolicy: "open", allowFrom: ["*"] }).allowFrom).toEqual(["*"])
  })

  it("resolves each account's own dmPolicy and allowFrom, with the account's config path", () => {
    const section = { dmPolicy: "pairing", allowFrom: ["s@im.wechat"], accounts: { b: { dmPolicy: "open" }, c: { allowFrom: ["c1@im.wechat"] } } }
    expect(resolve(section, "a")).toMatchObject({ policy: "pairing", allowFrom: ["s@im.wechat"], policyPath: "channels.openclaw-weixin.dmPolicy" })
    expect(resolve(section, "b")).toMatchObject({
      policy: "open",
      allowFrom: ["s@im.wechat", "*"],
      policyPath: "channels.openclaw-weixin.accounts.b.dmPolicy",
      allowFromPath: "channels.openclaw-weixin.accounts.b."
    })
    expect(resolve(section, "c")).toMatchObject({ policy: "pairing", allowFrom: ["c1@im.wechat"] })
  })

  it("rejects an unknown policy with the config path in the message", () => {
    expect(() => resolve({ dmPolicy: "friends" })).toThrow(/channels\.openclaw-weixin\.dmPolicy/)
  })
})

describe("pairing", () => {
  it("compares allow entries without prefixes, spaces or case", () => {
    const normalize = plugin.pairing!.normalizeAllowEntry!
    expect(normalize(" user:O9Abc@IM.wechat ")).toBe("o9abc@im.wechat")
    expect(normalize("openclaw-weixin:o9abc@im.wechat")).toBe("o9abc@im.wechat")
    expect(plugin.pairing!.idLabel).toBe("WeChat user id")
  })
})

describe("agentPrompt.messageToolHints", () => {
  it("tells the agent how to address a user and that cron deliveries need to and accountId", () => {
    const hints = plugin.agentPrompt!.messageToolHints!({ cfg: {} }).join("\n")
    expect(hints).toContain("@im.wechat")
    expect(hints).toContain("delivery.to")
    expect(hints).toContain("delivery.accountId")
  })

  it("tells the agent to check readiness with the directory before an unprompted send, and no longer says media is unavailable", () => {
    const hints = plugin.agentPrompt!.messageToolHints!({ cfg: {} }).join("\n")
    expect(hints).toContain("openclaw directory peers list --channel openclaw-weixin")
    expect(hints).toContain("raw.sendable")
    expect(hints).not.toMatch(/not available yet/)
  })
})

describe("onboarding adapters are declared", () => {
  it("has a setup wizard with a DM policy step, a directory, an allowlist and an approval notice", () => {
    expect(plugin.setupWizard).toMatchObject({ channel: "openclaw-weixin" })
    expect(typeof (plugin.setupWizard as { configure?: unknown }).configure).toBe("function")
    expect((plugin.setupWizard as { dmPolicy?: { policyKey: string } }).dmPolicy?.policyKey).toBe("channels.openclaw-weixin.dmPolicy")
    expect(typeof plugin.directory?.listPeers).toBe("function")
    expect(typeof plugin.allowlist?.applyConfigEdit).toBe("function")
    expect(typeof plugin.pairing?.notifyApproval).toBe("function")
  })
})

describe("status.buildAccountSnapshot", () => {
  it.effect("adds the account's identity, configuration state and DM policy to the runtime snapshot", () =>
    Effect.gen(function*() {
      const snapshot = yield* Effect.promise(async () =>
        plugin.status!.buildAccountSnapshot!({
          account: plugin.config.resolveAccount(hostConfig({ dmPolicy: "open" }), "a"),
          cfg: hostConfig({ dmPolicy: "open" }),
          runtime: { accountId: "a", running: true, statusState: "running" }
        })
      )
      expect(snapshot).toMatchObject({
        accountId: "a",
        running: true,
        statusState: "running",
        configured: false,
        enabled: true,
        dmPolicy: "open",
        baseUrl: "https://ilinkai.weixin.qq.com"
      })
    }))
})
