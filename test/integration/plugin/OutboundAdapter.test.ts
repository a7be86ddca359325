/**
 * outbound.sendText as the CLI process (`openclaw message send`) calls it: no running actor, the account
 * and its context tokens come from the state dir. Sends go to the emulator over real HTTP on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { EmptyPeerIdError } from "../../../src/domain/PeerId.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { AccountAuthExpired, NoContextToken } from "../../../src/account/Receipt.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { normalizeTarget } from "../../../src/plugin/Messaging.js"
import {
  AmbiguousAccount,
  NoAccountForRecipient,
  NoAccountsRegistered,
  UnknownAccount
} from "../../../src/plugin/PluginErrors.js"
import type { OutboundContext } from "../../../src/plugin/SdkTypes.js"
import { makeTempDir } from "../../support/actorHarness.js"
import { hostCall, scopedDeps } from "../../support/pluginEmulator.js"
import { storeContextTokens, storeLogin, tempDir, testDeps } from "../../support/plugin.js"

const context = (to: string, text: string, accountId?: string): OutboundContext =>
  ({ cfg: {}, to, text, ...(accountId === undefined ? {} : { accountId }) }) as OutboundContext

/** Two bots on the emulator; the user wrote to `first` only (so only its context tokens know them). */
const setup = (options: { readonly bots?: 1 | 2 } = {}) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 300 })
    const dir = yield* makeTempDir("ocw-outbound-")
    const first = yield* emulator.addBot()
    const user = first.ownerUserId
    const injected = yield* emulator.injectInbound({ botId: first.botId, kind: "text", text: "hi", fromUserId: user })
    yield* storeLogin(dir, { id: first.botId, token: first.token, baseUrl: emulator.baseUrl })
    yield* storeContextTokens(dir, normalizeAccountId(first.botId), { [user]: injected.contextToken! })
    let second: typeof first | undefined
    if (options.bots === 2) {
      second = yield* emulator.addBot()
      yield* storeLogin(dir, { id: second.botId, token: second.token, baseUrl: emulator.baseUrl })
    }
    const plugin = makeWeixinChannelPlugin(yield* scopedDeps(dir))
    const outbound = plugin.outbound!
    const sendText = (ctx: OutboundContext) => hostCall(() => outbound.sendText!(ctx))
    return { emulator, dir, first, second, user, plugin, outbound, sendText }
  })

describe("outbound.sendText without a running actor (CLI process)", () => {
  it.live("sends through the only account, with the stored context token, and returns a receipt", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const result = yield* t.sendText(context(`user:${t.user}`, "cron says hi"))
      expect(result.channel).toBe("openclaw-weixin")
      expect(result.messageId).toMatch(/^openclaw-weixin:/)
      expect(result.target).toEqual({ kind: "chat", id: t.user })
      expect(result.meta?.["status"]).toBe("delivered")
      const sent = yield* t.emulator.sent(t.first.botId)
      expect(sent.map((s) => [s.toUserId, s.text, s.clientId])).toEqual([[t.user, "cron says hi", result.messageId]])
      expect(yield* t.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped))

  it.live("finds the recipient whatever the case and prefix of the target, sending to the id as the server spells it", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* t.sendText(context(`  openclaw-weixin:USER:${t.user.toUpperCase()} `, "shouted"))
      const sent = yield* t.emulator.sent(t.first.botId)
      expect(sent.map((s) => s.toUserId)).toEqual([t.user])
    }).pipe(Effect.scoped))

  it.live("infers the account whose context tokens know the recipient when several are logged in", () =>
    Effect.gen(function*() {
      const t = yield* setup({ bots: 2 })
      yield* t.sendText(context(t.user, "to the right bot"))
      expect((yield* t.emulator.sent(t.first.botId)).map((s) => s.text)).toEqual(["to the right bot"])
      expect(yield* t.emulator.sent(t.second!.botId)).toEqual([])
    }).pipe(Effect.scoped))

  it.live("names the accounts when several know the recipient", () =>
    Effect.gen(function*() {
      const t = yield* setup({ bots: 2 })
      yield* storeContextTokens(t.dir, normalizeAccountId(t.second!.botId), { [t.user]: "another-token" })
      const error = yield* Effect.flip(t.sendText(context(t.user, "which one?")))
      expect(error).toBeInstanceOf(AmbiguousAccount)
      expect((error as AmbiguousAccount).accountIds).toEqual([
        normalizeAccountId(t.first.botId),
        normalizeAccountId(t.second!.botId)
      ])
      expect((error as Error).message).toContain("accountId")
      expect(yield* t.emulator.sent()).toEqual([])
    }).pipe(Effect.scoped))

  it.live("refuses when several accounts exist and none knows the recipient", () =>
    Effect.gen(function*() {
      const t = yield* setup({ bots: 2 })
      const error = yield* Effect.flip(t.sendText(context("stranger@im.wechat", "hello?")))
      expect(error).toBeInstanceOf(NoAccountForRecipient)
    }).pipe(Effect.scoped))

  it.live("refuses a target that names nobody", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      for (const to of ["", "   ", "user:", "openclaw-weixin:user: "]) {
        const error = yield* Effect.flip(t.sendText(context(to, "x")))
        expect(error).toBeInstanceOf(EmptyPeerIdError)
      }
      expect(yield* t.emulator.sent()).toEqual([])
    }).pipe(Effect.scoped))

  it.live("answers an unknown account id with a typed error naming the known ones", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const error = yield* Effect.flip(t.sendText(context(t.user, "x", "ghost")))
      expect(error).toBeInstanceOf(UnknownAccount)
      expect((error as Error).message).toContain(normalizeAccountId(t.first.botId))
    }).pipe(Effect.scoped))

  it.live("refuses a recipient who never wrote to the account instead of sending without a token", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      const error = yield* Effect.flip(t.sendText(context("stranger@im.wechat", "x", t.first.botId)))
      expect(error).toBeInstanceOf(NoContextToken)
      expect(yield* t.emulator.sent()).toEqual([])
    }).pipe(Effect.scoped))

  it.live("turns the server's session-expired answer into the log-in-again error", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* t.emulator.expireSession(t.first.botId)
      const error = yield* Effect.flip(t.sendText(context(t.user, "x")))
      expect(error).toBeInstanceOf(AccountAuthExpired)
      expect((error as Error).message).toContain("log in again: openclaw channels login --channel openclaw-weixin")
    }).pipe(Effect.scoped))
})

describe("outbound without any account", () => {
  it.live("tells the user to log in when no account exists", () =>
    Effect.gen(function*() {
      const plugin = makeWeixinChannelPlugin(yield* scopedDeps(yield* makeTempDir("ocw-outbound-empty-")))
      const error = yield* Effect.flip(hostCall(() => plugin.outbound!.sendText!(context("a@im.wechat", "x"))))
      expect(error).toBeInstanceOf(NoAccountsRegistered)
      expect((error as Error).message).toContain("openclaw channels login --channel openclaw-weixin")
    }).pipe(Effect.scoped))
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

describe("outbound.sanitizeText (the host runs it on cron, message-tool and `message send` texts)", () => {
  const sanitize = makeWeixinChannelPlugin(testDeps(tempDir("ocw-sanitize-"))).outbound!.sanitizeText!
  const run = (text: string) => sanitize({ text, payload: { text } })

  it("filters like agent replies: emphasis around CJK and images go, code stays", () => {
    expect(run("English *中文* ![logo](x.png)")).toBe("English 中文 ")
    expect(run("***粗体*** and `*code*`")).toBe("粗体 and `*code*`")
    expect(run("```\n*中文*\n```")).toBe("```\n*中文*\n```")
    expect(run("plain *english* stays")).toBe("plain *english* stays")
  })

  it("changes nothing the second time (a reply filtered by the turn and again by the host reads the same)", () => {
    for (const text of ["a *中文* b", "***强调*** ![i](u) x", "##### 标题\n*中文*", "`x` **中** _文_"]) {
      expect(run(run(text))).toBe(run(text))
    }
  })
})
