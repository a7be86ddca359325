/**
 * Onboarding, directory and pairing-notice adapters (issue 12 items 3–5) against the real host types and
 * the emulator over real HTTP on 127.0.0.1: `directory.listPeers` / `self` from the state dir,
 * `pairing.notifyApproval` (sent, and skipped with a reason), and the setup wizard's QR login through a
 * scripted prompter, cancelled at each step.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { APPROVAL_NOTICE } from "../../../src/plugin/PairingNotice.js"
import type { SetupConfigureContext, WizardPrompter } from "../../../src/plugin/SdkTypes.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { State } from "../../../src/state/State.js"
import { listAccountIdsSync } from "../../../src/state/AccountFilesSync.js"
import { statePathsFor } from "../../../src/state/StatePaths.js"
import { makeTempDir } from "../../support/actorHarness.js"
import { hostCall, scopedDeps } from "../../support/pluginEmulator.js"
import { captureLogs, hostConfig, storeContextTokens, storeLogin, waitFor } from "../../support/plugin.js"

const HOUR = 3_600_000

const storeActivity = (dir: string, accountId: string, peers: Record<string, { lastInboundAt?: number; repliesSince: number }>) =>
  Effect.flatMap(ContextTokenStore, (store) => store.saveActivity(accountId, { version: 1, peers })).pipe(
    Effect.provide(State.layerAt(dir)),
    Effect.orDie
  )

/** One bot on the emulator, logged in; `user` wrote to it (a real context token), the state as a turn leaves it. */
const setup = (options: { readonly lastInboundAgoMs: number; readonly repliesSince?: number }) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 300 })
    const dir = yield* makeTempDir("ocw-onboard-")
    const bot = yield* emulator.addBot()
    const user = bot.ownerUserId
    const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "hi", fromUserId: user })
    const accountId = normalizeAccountId(bot.botId)
    yield* storeLogin(dir, { id: bot.botId, token: bot.token, baseUrl: emulator.baseUrl, userId: user })
    yield* storeContextTokens(dir, accountId, { [user]: injected.contextToken! })
    yield* storeActivity(dir, accountId, {
      [user]: { lastInboundAt: Date.now() - options.lastInboundAgoMs, repliesSince: options.repliesSince ?? 1 }
    })
    const deps = yield* scopedDeps(dir)
    const logs = captureLogs("host")
    deps.runtime.sinks.fallback = logs.sink
    const plugin = makeWeixinChannelPlugin(deps)
    return { emulator, dir, bot, user, accountId, deps, plugin, logs, cfg: hostConfig({ baseUrl: emulator.baseUrl }) }
  })

const runtimeEnv = (printed: Array<string>) =>
  ({ log: (...args: Array<unknown>) => void printed.push(args.join(" ")), error: () => {}, exit: () => {} }) as never

describe("directory peers (openclaw directory peers list)", () => {
  it.live("lists a user who wrote an hour ago as sendable, with when the window closes and the replies left", () =>
    Effect.gen(function*() {
      const t = yield* setup({ lastInboundAgoMs: HOUR, repliesSince: 3 })
      const peers = yield* hostCall(() =>
        t.plugin.directory!.listPeers!({ cfg: t.cfg, accountId: t.accountId, runtime: runtimeEnv([]) } as never)
      )
      expect(peers).toHaveLength(1)
      const [peer] = peers
      expect(peer?.id).toBe(t.user)
      expect(peer?.name).toMatch(/^can send until \d{4}-\d\d-\d\dT\d\d:\d\dZ, 7 of 10 replies left$/)
      const raw = peer?.raw as Record<string, unknown>
      expect(raw["sendable"]).toBe(true)
      const closes = Date.parse(String(raw["windowClosesAt"]))
      expect(closes - Date.now()).toBeGreaterThan(22 * HOUR)
      expect(closes - Date.now()).toBeLessThanOrEqual(23 * HOUR)
      const self = yield* hostCall(() => t.plugin.directory!.self!({ cfg: t.cfg, accountId: t.accountId, runtime: runtimeEnv([]) } as never))
      expect(self).toEqual({ kind: "user", id: t.accountId, name: `WeChat bot (logged in by ${t.user})` })
    }).pipe(Effect.scoped))

  it.live("says a user whose window closed cannot be sent to, and filters by --query", () =>
    Effect.gen(function*() {
      const t = yield* setup({ lastInboundAgoMs: 25 * HOUR })
      const peers = yield* hostCall(() =>
        t.plugin.directory!.listPeers!({ cfg: t.cfg, accountId: t.accountId, query: t.user.slice(0, 6).toUpperCase(), runtime: runtimeEnv([]) } as never)
      )
      expect(peers[0]?.name).toMatch(/^cannot send: reply window closed at .*; the user must write first$/)
      expect((peers[0]?.raw as Record<string, unknown>)["blockedBy"]).toBe("window-closed")
      const none = yield* hostCall(() =>
        t.plugin.directory!.listPeers!({ cfg: t.cfg, accountId: t.accountId, query: "nobody-like-this", runtime: runtimeEnv([]) } as never)
      )
      expect(none).toEqual([])
    }).pipe(Effect.scoped))

  it.live("a logged-out or unknown account gets an error that says to log in, not a crash or an empty list", () =>
    Effect.gen(function*() {
      const dir = yield* makeTempDir("ocw-onboard-empty-")
      const plugin = makeWeixinChannelPlugin(yield* scopedDeps(dir))
      const error = yield* Effect.flip(
        hostCall(() => plugin.directory!.listPeers!({ cfg: {}, accountId: "default", runtime: runtimeEnv([]) } as never))
      )
      expect((error as Error).message).toMatch(/there is no WeChat account default \(none is logged in\); run `openclaw channels login/)
      // an account in the index whose credentials are gone (logged out by hand)
      yield* storeLogin(dir, { id: "gone-bot@im.bot" })
      const loggedOut = yield* Effect.flip(
        hostCall(() => plugin.directory!.listPeers!({ cfg: {}, accountId: "gone-bot@im.bot", runtime: runtimeEnv([]) } as never))
      )
      expect((loggedOut as Error).message).toMatch(/is not logged in; run `openclaw channels login/)
    }).pipe(Effect.scoped))
})

describe("pairing approval notice (pairing.notifyApproval)", () => {
  it.live("tells the approved user in WeChat, on the context token of their request", () =>
    Effect.gen(function*() {
      const t = yield* setup({ lastInboundAgoMs: 60_000 })
      yield* hostCall(() =>
        t.plugin.pairing!.notifyApproval!({ cfg: t.cfg, id: t.user, meta: { accountId: t.accountId } })
      )
      const sent = yield* t.emulator.sent(t.bot.botId)
      expect(sent.map((s) => [s.toUserId, s.text])).toEqual([[t.user, APPROVAL_NOTICE]])
      expect(yield* t.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped))

  it.live("skips the notice for a user whose reply window expired, and logs why; the call still succeeds", () =>
    Effect.gen(function*() {
      const t = yield* setup({ lastInboundAgoMs: 30 * HOUR })
      yield* hostCall(() => t.plugin.pairing!.notifyApproval!({ cfg: t.cfg, id: t.user, accountId: t.accountId }))
      expect(yield* t.emulator.sent(t.bot.botId)).toEqual([])
      const line = t.logs.lines.find((l) => l.includes("approval notice was not sent"))
      expect(line).toMatch(/warn .*more than 24 h ago/)
    }).pipe(Effect.scoped))
})

/** A prompter that answers from a script and records what it showed; `cancelAt` throws as the host's does. */
const scriptedPrompter = (options: { readonly cancelAt?: "note" | "text" | "select"; readonly text?: string }) => {
  const shown: Array<string> = []
  const cancel = (what: string) => {
    const error = new Error(`cancelled at ${what}`)
    error.name = "WizardCancelledError"
    return error
  }
  const prompter = {
    intro: async () => {},
    outro: async () => {},
    note: async (message: string) => {
      if (options.cancelAt === "note") throw cancel("note")
      shown.push(message)
    },
    text: async (params: { message: string; validate?: (v: string) => string | undefined }) => {
      if (options.cancelAt === "text") throw cancel("text")
      shown.push(params.message)
      const answer = options.text ?? ""
      const invalid = params.validate?.(answer)
      if (invalid !== undefined) throw new Error(`invalid: ${invalid}`)
      return answer
    },
    select: async () => {
      if (options.cancelAt === "select") throw cancel("select")
      return "pairing"
    },
    multiselect: async () => [],
    confirm: async () => true,
    progress: () => ({ update: () => {}, stop: () => {} })
  } as unknown as WizardPrompter
  return { prompter, shown }
}

const wizardSetup = (options: { readonly autoConfirmQr: boolean; readonly verifyCode?: boolean }) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 300, autoConfirmQr: options.autoConfirmQr })
    const dir = yield* makeTempDir("ocw-wizard-")
    const deps = yield* scopedDeps(dir)
    const plugin = makeWeixinChannelPlugin(deps)
    const cfg = hostConfig({ baseUrl: emulator.baseUrl })
    const printed: Array<string> = []
    const context = (prompter: WizardPrompter, extra: Partial<SetupConfigureContext> = {}) =>
      ({ cfg, runtime: runtimeEnv(printed), prompter, accountOverrides: {}, shouldPromptAccountIds: false, forceAllowFrom: false, ...extra }) as SetupConfigureContext
    const wizard = plugin.setupWizard as NonNullable<typeof plugin.setupWizard> & { configure: (ctx: SetupConfigureContext) => Promise<unknown>; getStatus: (ctx: unknown) => Promise<{ configured: boolean; statusLines: Array<string> }> }
    return { emulator, dir, plugin, cfg, printed, context, wizard }
  })

describe("setup wizard (openclaw onboard / channels add)", () => {
  it.live("runs the QR login in the terminal, saves the account and reports it configured", () =>
    Effect.gen(function*() {
      const t = yield* wizardSetup({ autoConfirmQr: true })
      expect((yield* hostCall(() => t.wizard.getStatus({ cfg: t.cfg }))).configured).toBe(false)
      const { prompter, shown } = scriptedPrompter({})
      const result = (yield* hostCall(() => t.wizard.configure(t.context(prompter)))) as { accountId?: string; cfg: unknown }
      const ids = listAccountIdsSync(statePathsFor(t.dir))
      expect(ids).toHaveLength(1)
      expect(result.accountId).toBe(ids[0])
      expect(t.printed.join("\n")).toContain("Scan")
      expect(shown.at(-1)).toContain(ids[0]!)
      const status = yield* hostCall(() => t.wizard.getStatus({ cfg: t.cfg }))
      expect(status.configured).toBe(true)
      expect(status.statusLines[0]).toContain(ids[0]!)
    }).pipe(Effect.scoped))

  it.live("defers the QR to the Control UI when the host asks, without drawing one", () =>
    Effect.gen(function*() {
      const t = yield* wizardSetup({ autoConfirmQr: true })
      const { prompter, shown } = scriptedPrompter({})
      const result = yield* hostCall(() => t.wizard.configure(t.context(prompter, { options: { deferDeviceLinkToClient: true } })))
      expect(result).toEqual({ cfg: t.cfg })
      expect(shown[0]).toContain("Control UI")
      expect(t.printed).toEqual([])
      expect(listAccountIdsSync(statePathsFor(t.dir))).toEqual([])
    }).pipe(Effect.scoped))

  it.live("a prompt cancelled before the QR passes the host's cancel error on; nothing is saved", () =>
    Effect.gen(function*() {
      const t = yield* wizardSetup({ autoConfirmQr: true })
      const { prompter } = scriptedPrompter({ cancelAt: "note" })
      const error = yield* Effect.flip(hostCall(() => t.wizard.configure(t.context(prompter))))
      expect((error as Error).name).toBe("WizardCancelledError")
      expect(listAccountIdsSync(statePathsFor(t.dir))).toEqual([])
    }).pipe(Effect.scoped))

  it.live("a QR login that ends without a scan leaves the setup paused with what to run later", () =>
    Effect.gen(function*() {
      const t = yield* wizardSetup({ autoConfirmQr: false })
      const { prompter, shown } = scriptedPrompter({})
      // Ctrl-C while the QR waits: the login's own cancel (SIGINT) ends it as Cancelled
      const fiber = yield* Effect.fork(hostCall(() => t.wizard.configure(t.context(prompter))))
      const before = process.listenerCount("SIGINT")
      yield* Effect.promise(() => waitFor(() => t.printed.length > 0 && process.listenerCount("SIGINT") > 0, "the QR on the terminal"))
      expect(before + process.listenerCount("SIGINT")).toBeGreaterThan(0)
      process.emit("SIGINT")
      const result = yield* fiber.await.pipe(Effect.flatten)
      expect(result).toEqual({ cfg: t.cfg, completion: "paused" })
      expect(shown.at(-1)).toMatch(/openclaw channels login --channel openclaw-weixin/)
    }).pipe(Effect.scoped))

  it.live("the DM policy step writes dmPolicy; the allow-list prompt stores ids and refuses what is not one", () =>
    Effect.gen(function*() {
      const t = yield* wizardSetup({ autoConfirmQr: true })
      const dm = t.wizard.dmPolicy!
      expect(dm.getCurrent(t.cfg as never)).toBe("pairing")
      const allowlisted = dm.setPolicy(t.cfg as never, "allowlist")
      expect(dm.getCurrent(allowlisted)).toBe("allowlist")
      const ok = scriptedPrompter({ text: "user:Abc@im.wechat, def@im.wechat abc@im.wechat" })
      const next = yield* Effect.promise(() => dm.promptAllowFrom!({ cfg: allowlisted, prompter: ok.prompter }))
      expect((next as { channels: Record<string, { allowFrom: Array<string> }> }).channels["openclaw-weixin"]!.allowFrom).toEqual([
        "Abc@im.wechat",
        "def@im.wechat",
        "abc@im.wechat"
      ])
      const bad = scriptedPrompter({ text: "abc@im.wechat, alice" })
      const refused = yield* Effect.flip(Effect.tryPromise(() => dm.promptAllowFrom!({ cfg: allowlisted, prompter: bad.prompter })))
      expect(String(refused.cause)).toContain("not a WeChat user id: alice")
      const cancelled = scriptedPrompter({ cancelAt: "text" })
      const error = yield* Effect.flip(Effect.tryPromise(() => dm.promptAllowFrom!({ cfg: allowlisted, prompter: cancelled.prompter })))
      expect(String(error.cause)).toContain("cancelled at text")
      expect(t.cfg).toEqual(hostConfig({ baseUrl: t.emulator.baseUrl }))
    }).pipe(Effect.scoped))
})

describe("channels capabilities (status.buildCapabilitiesDiagnostics)", () => {
  const diagnose = (t: { readonly plugin: ReturnType<typeof makeWeixinChannelPlugin>; readonly cfg: unknown }, accountId: string) =>
    hostCall(() => {
      const account = t.plugin.config.resolveAccount(t.cfg as never, accountId)
      return t.plugin.status!.buildCapabilitiesDiagnostics!({ account, timeoutMs: 5_000, cfg: t.cfg as never })
    })

  it.live("names the bot, the scanning user, the base URL and each open reply window", () =>
    Effect.gen(function*() {
      const t = yield* setup({ lastInboundAgoMs: HOUR, repliesSince: 3 })
      const result = yield* diagnose(t, t.accountId)
      const lines = result!.lines!.map((line) => line.text)
      expect(lines[0]).toBe(`Bot: ${t.accountId}`)
      expect(lines[1]).toBe(`Logged in by WeChat user: ${t.user}`)
      expect(lines[2]).toMatch(new RegExp(`^Base URL: ${t.emulator.baseUrl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`))
      expect(lines[3]).toBe("Reply windows open: 1 of 1 user(s)")
      expect(lines[4]).toMatch(new RegExp(`^  ${t.user.replace(/[.]/g, "\\.")}: can send until .*, 7 of 10 replies left$`))
      expect(result!.details).toMatchObject({ botId: t.accountId, scannerUserId: t.user, baseUrl: t.emulator.baseUrl })
    }).pipe(Effect.scoped))

  it.live("says so when every window is closed, and an account without a login gets what to do", () =>
    Effect.gen(function*() {
      const t = yield* setup({ lastInboundAgoMs: 25 * HOUR })
      const closed = (yield* diagnose(t, t.accountId))!.lines!.map((line) => line.text)
      expect(closed[3]).toBe("Reply windows open: none of 1 user(s); each must write again before the bot can send")
      expect(closed).toHaveLength(4)
      yield* storeLogin(t.dir, { id: "gone-bot@im.bot" })
      const gone = (yield* diagnose(t, "gone-bot@im.bot"))!.lines!.map((line) => line.text)
      expect(gone.at(-1)).toMatch(/^Reply windows: unknown: .*is not logged in; run `openclaw channels login/)
    }).pipe(Effect.scoped))
})
