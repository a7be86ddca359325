/**
 * outbound.sendText as the CLI process (`openclaw message send`) calls it: no running actor, the account
 * and its context tokens come from the state dir. Sends go to the emulator over real HTTP on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { EmptyPeerIdError } from "../../../src/domain/PeerId.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { AccountAuthExpired, NoContextToken } from "../../../src/account/Receipt.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { normalizeTarget } from "../../../src/plugin/Messaging.js"
import {
  AmbiguousAccount,
  MediaNotSupportedYet,
  NoAccountForRecipient,
  NoAccountsRegistered,
  UnknownAccount
} from "../../../src/plugin/PluginErrors.js"
import type { OutboundContext } from "../../../src/plugin/SdkTypes.js"
import { emulatorPerTest } from "../../support/pluginEmulator.js"
import { seedAccount, seedContextTokens, tempDir, testDeps } from "../../support/plugin.js"

const perTest = emulatorPerTest()

const context = (to: string, text: string, accountId?: string): OutboundContext =>
  ({ cfg: {}, to, text, ...(accountId === undefined ? {} : { accountId }) }) as OutboundContext

/** Two bots on the emulator; the user wrote to `first` only (so only its context tokens know them). */
const setup = async (options: { readonly bots?: 1 | 2 } = {}) => {
  const { emulator, run } = await perTest.start()
  const dir = tempDir("ocw-outbound-")
  const first = await run(emulator.addBot())
  const user = first.ownerUserId
  const injected = await run(emulator.injectInbound({ botId: first.botId, kind: "text", text: "hi", fromUserId: user }))
  await seedAccount(dir, { id: first.botId, token: first.token, baseUrl: emulator.baseUrl })
  await seedContextTokens(dir, normalizeAccountId(first.botId), { [user]: injected.contextToken! })
  let second: typeof first | undefined
  if (options.bots === 2) {
    second = await run(emulator.addBot())
    await seedAccount(dir, { id: second.botId, token: second.token, baseUrl: emulator.baseUrl })
  }
  const plugin = makeWeixinChannelPlugin(perTest.keep(testDeps(dir)))
  return { emulator, run, dir, first, second, user, plugin, outbound: plugin.outbound! }
}

describe("outbound.sendText without a running actor (CLI process)", () => {
  it.live("sends through the only account, with the stored context token, and returns a receipt", () =>
    Effect.promise(async () => {
      const t = await setup()
      const result = await t.outbound.sendText!(context(`user:${t.user}`, "cron says hi"))
      expect(result.channel).toBe("openclaw-weixin")
      expect(result.messageId).toMatch(/^openclaw-weixin:/)
      expect(result.target).toEqual({ kind: "chat", id: t.user })
      expect(result.meta?.["status"]).toBe("delivered")
      const sent = await t.run(t.emulator.sent(t.first.botId))
      expect(sent.map((s) => [s.toUserId, s.text, s.clientId])).toEqual([[t.user, "cron says hi", result.messageId]])
      expect(await t.run(t.emulator.violations())).toEqual([])
    }))

  it.live("finds the recipient whatever the case and prefix of the target, sending to the id as the server spells it", () =>
    Effect.promise(async () => {
      const t = await setup()
      await t.outbound.sendText!(context(`  openclaw-weixin:USER:${t.user.toUpperCase()} `, "shouted"))
      const sent = await t.run(t.emulator.sent(t.first.botId))
      expect(sent.map((s) => s.toUserId)).toEqual([t.user])
    }))

  it.live("infers the account whose context tokens know the recipient when several are logged in", () =>
    Effect.promise(async () => {
      const t = await setup({ bots: 2 })
      await t.outbound.sendText!(context(t.user, "to the right bot"))
      expect((await t.run(t.emulator.sent(t.first.botId))).map((s) => s.text)).toEqual(["to the right bot"])
      expect(await t.run(t.emulator.sent(t.second!.botId))).toEqual([])
    }))

  it.live("names the accounts when several know the recipient", () =>
    Effect.promise(async () => {
      const t = await setup({ bots: 2 })
      await seedContextTokens(t.dir, normalizeAccountId(t.second!.botId), { [t.user]: "another-token" })
      const error = await t.outbound.sendText!(context(t.user, "which one?")).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AmbiguousAccount)
      expect((error as AmbiguousAccount).accountIds).toEqual([
        normalizeAccountId(t.first.botId),
        normalizeAccountId(t.second!.botId)
      ])
      expect((error as Error).message).toContain("accountId")
      expect(await t.run(t.emulator.sent())).toEqual([])
    }))

  it.live("refuses when several accounts exist and none knows the recipient", () =>
    Effect.promise(async () => {
      const t = await setup({ bots: 2 })
      const error = await t.outbound.sendText!(context("stranger@im.wechat", "hello?")).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NoAccountForRecipient)
    }))

  it.live("refuses a target that names nobody", () =>
    Effect.promise(async () => {
      const t = await setup()
      for (const to of ["", "   ", "user:", "openclaw-weixin:user: "]) {
        const error = await t.outbound.sendText!(context(to, "x")).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(EmptyPeerIdError)
      }
      expect(await t.run(t.emulator.sent())).toEqual([])
    }))

  it.live("answers an unknown account id with a typed error naming the known ones", () =>
    Effect.promise(async () => {
      const t = await setup()
      const error = await t.outbound.sendText!(context(t.user, "x", "ghost")).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UnknownAccount)
      expect((error as Error).message).toContain(normalizeAccountId(t.first.botId))
    }))

  it.live("refuses a recipient who never wrote to the account instead of sending without a token", () =>
    Effect.promise(async () => {
      const t = await setup()
      const error = await t.outbound.sendText!(context("stranger@im.wechat", "x", t.first.botId)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NoContextToken)
      expect(await t.run(t.emulator.sent())).toEqual([])
    }))

  it.live("turns the server's session-expired answer into the log-in-again error", () =>
    Effect.promise(async () => {
      const t = await setup()
      await t.run(t.emulator.expireSession(t.first.botId))
      const error = await t.outbound.sendText!(context(t.user, "x")).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AccountAuthExpired)
      expect((error as Error).message).toContain("log in again: openclaw channels login --channel openclaw-weixin")
    }))

  it.live("answers sendMedia with the not-yet-available error", () =>
    Effect.promise(async () => {
      const t = await setup()
      const error = await t.outbound.sendMedia!({ ...context(t.user, "pic"), mediaUrl: "/tmp/x.png" }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MediaNotSupportedYet)
    }))
})

describe("outbound without any account", () => {
  it("tells the user to log in when no account exists", async () => {
    const plugin = makeWeixinChannelPlugin(perTest.keep(testDeps(tempDir("ocw-outbound-empty-"))))
    const error = await plugin.outbound!.sendText!(context("a@im.wechat", "x")).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoAccountsRegistered)
    expect((error as Error).message).toContain("openclaw channels login --channel openclaw-weixin")
  })
})

describe("messaging.normalizeTarget", () => {
  it("strips user: and channel prefixes, keeps the id's case, and rejects empty targets", () => {
    expect(normalizeTarget("user:o9Cq8Abc@im.wechat")).toBe("o9Cq8Abc@im.wechat")
    expect(normalizeTarget(" openclaw-weixin:User:o9Cq8Abc@im.wechat ")).toBe("o9Cq8Abc@im.wechat")
    expect(normalizeTarget("user:")).toBeUndefined()
    expect(normalizeTarget("")).toBeUndefined()
  })

  it("takes ids ending in @im.wechat (any case) as ids without a directory lookup", () => {
    const plugin = makeWeixinChannelPlugin(testDeps(tempDir("ocw-msg-")))
    const looksLikeId = plugin.messaging!.targetResolver!.looksLikeId!
    expect(looksLikeId("user:abc@IM.WECHAT")).toBe(true)
    expect(looksLikeId("alice")).toBe(false)
    expect(looksLikeId("abc@im.bot")).toBe(false)
  })
})
