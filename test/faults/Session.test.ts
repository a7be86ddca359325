/**
 * Fault suite, polling and the session: what the long-poll survives, how −14 parks an account and a new
 * login brings it back, stopping under load, several accounts, and `register()` under a broken host.
 * Each test is named "<what is injected> → <what must hold>"; the reporter prints them as a table.
 * Real HTTP against the emulator on 127.0.0.1; every wait is a condition with a deadline.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as fs from "node:fs"
import { TestAgentTurns } from "../../src/account/TestAgentTurns.js"
import { makePluginEntry } from "../../src/plugin/PluginEntry.js"
import { collectStatusIssues } from "../../src/plugin/StatusAdapter.js"
import type { AccountSnapshot, OutboundContext } from "../../src/plugin/SdkTypes.js"
import { makeEmulator } from "../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../sandbox/gateway/waitUntil.js"
import { makeTempDir } from "../support/actorHarness.js"
import { startActorOnEmulator } from "../support/actorHarnessEmulator.js"
import { expectNoSecretLogged, harvestSecrets, pluginWorld, rememberInjected } from "../support/faultsWorld.js"
import { fakeApi, tempDir, testDeps } from "../support/plugin.js"
import { hostCall } from "../support/pluginEmulator.js"

const bufOf = (body: string): string => (JSON.parse(body) as { get_updates_buf: string }).get_updates_buf

/** The account of one bot, run by the production AccountRunner with short poll timeouts and backoff. */
const runnerOnEmulator = (settings: { readonly initialPollTimeoutMs?: number; readonly backoffBaseMs?: number; readonly backoffCapMs?: number }) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 300 })
    yield* Effect.addFinalizer(() => harvestSecrets(emulator))
    const bot = yield* emulator.addBot()
    const dir = yield* makeTempDir("ocw-faults-poll-")
    const host = yield* TestAgentTurns.make({ replies: (turn) => [`pong: ${turn.claimed.key}`] })
    const actor = yield* startActorOnEmulator({ emulator, botId: bot.botId, token: bot.token, stateDir: dir, host, settings })
    yield* Effect.addFinalizer(() => actor.stop)
    const polls = () => emulator.requests("getupdates")
    const injectAndAwait = (text: string) =>
      Effect.gen(function*() {
        const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text })
        rememberInjected(injected)
        yield* waitUntil(`the turn of "${text}"`, Effect.map(host.turns, (ts) => ts.some((t) => t.text === text && t.outcome === "completed")), { timeoutMs: 15_000 })
      })
    return { emulator, bot, host, actor, polls, injectAndAwait }
  })

describe("the long-poll", () => {
  it.live("a getupdates that never sends headers (twice) → an empty poll each time at the client timeout, the cursor kept, no backoff, the next message arrives", () =>
    Effect.gen(function*() {
      const w = yield* runnerOnEmulator({ initialPollTimeoutMs: 600, backoffBaseMs: 5_000, backoffCapMs: 5_000 })
      yield* w.injectAndAwait("before")
      const before = (yield* w.polls()).length
      yield* w.emulator.setFault({ endpoint: "getupdates", fault: { kind: "hang" }, times: 2 })
      yield* waitUntil("two hung polls and a third", Effect.map(w.polls(), (ps) => ps.length >= before + 3), { timeoutMs: 10_000 })
      const polls = (yield* w.polls()).slice(before - 1, before + 3)
      // the held poll in flight, the two that hung, and the next one all carry the same cursor
      expect(new Set(polls.map((p) => bufOf(p.body))).size).toBe(1)
      // each hung poll ended at the client timeout (600 ms) and the next went out at once: no 5 s backoff
      const gaps = polls.slice(1).map((p, i) => p.at - polls[i]!.at)
      expect(gaps.slice(1).every((gap) => gap >= 550 && gap < 2_500)).toBe(true)
      expect((yield* w.actor.handle.state.get).phase._tag).toBe("Running")
      yield* w.injectAndAwait("after the hung polls")
      expect((yield* w.emulator.sent(w.bot.botId)).map((s) => s.outcome)).toEqual(["delivered", "delivered"])
    }).pipe(Effect.scoped), 30_000)

  for (const n of [1, 4, 10]) {
    it.live(`${n} network error(s) in a row on getupdates → exponential backoff with jitter (×2 from 40 ms, capped at 320 ms), never a busy loop, then the next message arrives`, () =>
      Effect.gen(function*() {
        const w = yield* runnerOnEmulator({ initialPollTimeoutMs: 5_000, backoffBaseMs: 40, backoffCapMs: 320 })
        yield* w.injectAndAwait("warm")
        const before = (yield* w.polls()).length
        yield* w.emulator.setFault({ endpoint: "getupdates", fault: { kind: "reset" }, times: n })
        yield* waitUntil(`${n} failed polls and a good one`, Effect.map(w.polls(), (ps) => ps.length >= before + n + 1), { timeoutMs: 15_000 })
        yield* w.injectAndAwait("after the errors")
        const polls = (yield* w.polls()).slice(before, before + n + 1)
        const gaps = polls.slice(1).map((p, i) => p.at - polls[i]!.at)
        gaps.forEach((gap, k) => {
          const nominal = Math.min(40 * 2 ** k, 320)
          // jitter spreads each delay over 0.8–1.2 of its nominal value; the request itself adds a little
          expect([k, gap >= Math.floor(0.8 * nominal) - 2]).toEqual([k, true])
          expect([k, gap < 1.2 * nominal + 400]).toEqual([k, true])
        })
        expect(gaps).toHaveLength(n)
      }).pipe(Effect.scoped), 30_000)
  }
})

describe("the session", () => {
  it.live("−14 on getupdates → the account parks as auth-expired (status says log in again), polls no more; a new QR login resumes it in place", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-14-", emulator: { autoConfirmQr: true } })
      const a = yield* w.start(0)
      yield* w.emulator.expireSession(w.bots[0]!.botId)
      yield* waitUntil("auth-expired", Effect.sync(() => a.fake.statuses.at(-1)?.statusState === "auth-expired"))
      const parkedPolls = (yield* w.emulator.requests("getupdates")).length
      const status = a.fake.statuses.at(-1)!
      expect(status.connected).toBe(false)
      expect(String(status.stateReason)).toMatch(/log in again|channels login/i)
      const issues = collectStatusIssues([status])
      expect(issues).toMatchObject([{ kind: "auth", fix: expect.stringContaining("channels login") }])
      // no reconnect attempts while parked
      yield* Effect.sleep("1500 millis")
      expect((yield* w.emulator.requests("getupdates")).length).toBe(parkedPolls)
      expect(a.fiber.unsafePoll()).toBeNull()

      yield* w.emulator.qr.autoConfirmNextAs(w.bots[0]!.botId)
      const runtime = { log: () => {}, error: () => {}, exit: () => {} }
      yield* hostCall(() => w.plugin.auth!.login!({ cfg: { ...w.cfg, channels: { "openclaw-weixin": { baseUrl: w.emulator.baseUrl } } }, accountId: w.accountIds[0]!, runtime }))
      yield* waitUntil("running again", Effect.sync(() => a.fake.statuses.at(-1)?.statusState === "running"))
      yield* w.inject({ botId: w.bots[0]!.botId, kind: "text", text: "back" })
      yield* w.waitTurns(1)
      expect(w.turns().map((t) => t.text)).toEqual(["back"])
      expect(a.fiber.unsafePoll()).toBeNull()
    }).pipe(Effect.scoped), 30_000)

  it.live("−14 right after the bot was bound on another instance (a login elsewhere retires this token) → parked at once, no reconnect storm; status, its issue and the doctor name the other login and say a scan takes the bot back", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-bound-", emulator: { autoConfirmQr: true } })
      const a = yield* w.start(0)
      const startsBefore = (yield* w.emulator.notifications(w.bots[0]!.botId)).filter((n) => n.kind === "start").length
      // another installation logs in as the same bot: the server retires this token (−14 on the next poll)
      yield* w.emulator.qr.autoConfirmNextAs(w.bots[0]!.botId)
      const elsewhere = yield* Effect.promise(() => fetch(`${w.emulator.baseUrl}ilink/bot/get_bot_qrcode?bot_type=3`))
      expect(elsewhere.status).toBe(200)
      yield* w.emulator.expireSession(w.bots[0]!.botId)
      yield* waitUntil("auth-expired", Effect.sync(() => a.fake.statuses.at(-1)?.statusState === "auth-expired"))
      const polls = (yield* w.emulator.requests("getupdates")).length
      yield* Effect.sleep("2 seconds")
      expect((yield* w.emulator.requests("getupdates")).length).toBe(polls)
      const starts = (yield* w.emulator.notifications(w.bots[0]!.botId)).filter((n) => n.kind === "start").length
      expect(starts).toBe(startsBefore)
      // the server's −14 does not say why; what we report names both causes and the way back
      const parked = a.fake.statuses.at(-1)!
      expect(parked.stateReason).toContain("or the bot was logged in on another OpenClaw")
      expect(parked.stateReason).toContain("log in again, which takes the bot back")
      const issues = collectStatusIssues([parked as AccountSnapshot])
      expect(issues.map((issue) => issue.message).join("\n")).toContain("or the bot was logged in on another OpenClaw")
      expect(issues.map((issue) => issue.message).join("\n")).toContain("scanning the QR code takes the bot back")
    }).pipe(Effect.scoped), 30_000)


  it.live("a re-login while an old cursor and token exist → credentials on disk before the restart, the new run polls with the new token from a fresh cursor", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-relogin-", emulator: { autoConfirmQr: true } })
      const bot = w.bots[0]!
      const a = yield* w.start(0)
      yield* w.inject({ botId: bot.botId, kind: "text", text: "moves the cursor" })
      yield* w.waitTurns(1)
      const oldPolls = yield* w.emulator.requests("getupdates")
      expect(oldPolls.some((p) => bufOf(p.body) !== "")).toBe(true)

      yield* w.emulator.qr.autoConfirmNextAs(bot.botId)
      const runtime = { log: () => {}, error: () => {}, exit: () => {} }
      yield* hostCall(() => w.plugin.auth!.login!({ cfg: { channels: { "openclaw-weixin": { baseUrl: w.emulator.baseUrl } } }, accountId: w.accountIds[0]!, runtime }))
      const newToken = (yield* w.emulator.bots).find((b) => b.botId === bot.botId)!.token
      expect(newToken).not.toBe(bot.token)
      const withNew = () => Effect.map(w.emulator.requests("getupdates"), (ps) => ps.filter((p) => p.headers["authorization"] === `Bearer ${newToken}`))
      yield* waitUntil("a poll with the new token", Effect.map(withNew(), (ps) => ps.length > 0))
      const first = (yield* withNew())[0]!
      expect(bufOf(first.body)).toBe("")
      const credentials = `${w.dir}/openclaw-weixin/accounts/${w.accountIds[0]!}.json`
      const saved = fs.statSync(credentials)
      expect(fs.readFileSync(credentials, "utf8")).toContain(newToken)
      expect(saved.mtimeMs).toBeLessThanOrEqual(first.at + 1)
      yield* w.inject({ botId: bot.botId, kind: "text", text: "after the re-login" })
      yield* w.waitTurns(2)
      expect(a.fiber.unsafePoll()).toBeNull()
    }).pipe(Effect.scoped), 30_000)
})

describe("stopping", () => {
  it.live("stop during a held poll and a pending send → startAccount resolves within a second, notifystop sent, the held poll released", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-stop-" })
      const bot = w.bots[0]!
      const a = yield* w.start(0)
      yield* w.inject({ botId: bot.botId, kind: "text", text: "hello" })
      yield* w.waitTurns(1)
      // the next send hangs on the server; a proactive send is left pending
      yield* w.emulator.setFault({ endpoint: "sendmessage", fault: { kind: "hang" } })
      const pending = yield* Effect.fork(hostCall(() =>
        w.plugin.outbound!.sendText!({ cfg: w.cfg, to: bot.ownerUserId, text: "pending", accountId: w.accountIds[0] } as OutboundContext)
      ))
      yield* waitUntil("the hanging send", Effect.map(w.emulator.requests("sendmessage"), (rs) => rs.length === 2))
      const stoppedAt = performance.now()
      const exit = yield* w.stop(a)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(performance.now() - stoppedAt).toBeLessThan(1_000)
      expect((yield* w.emulator.notifications(bot.botId)).map((n) => n.kind)).toEqual(["start", "stop"])
      const sendExit = yield* Fiber.await(pending)
      // the pending send ends (never hangs the host) with a typed error
      expect(Exit.isFailure(sendExit)).toBe(true)
      expect(a.fake.statuses.at(-1)).toMatchObject({ running: false, statusState: "stopped" })
      yield* w.emulator.clearFaults()
    }).pipe(Effect.scoped), 30_000)
})

describe("several accounts", () => {
  it.live("three accounts; one faults (502s, then −14), one reloads, one logs in again → the others answer every message, none twice", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-three-", bots: 3, emulator: { autoConfirmQr: true } })
      const [b0, b1, b2] = w.bots as [typeof w.bots[0], typeof w.bots[0], typeof w.bots[0]]
      const h0 = yield* w.start(0)
      let h1 = yield* w.start(1)
      const h2 = yield* w.start(2)
      const say = (bot: typeof b0, text: string) => w.inject({ botId: bot.botId, kind: "text", text })
      // account 0 faults: failing polls, then the session expires
      yield* w.emulator.setFault({ endpoint: "getupdates", fault: { kind: "http", status: 502 }, times: 3, botId: b0.botId })
      yield* say(b1, "one-1")
      yield* say(b2, "two-1")
      yield* w.emulator.expireSession(b0.botId)
      yield* waitUntil("account 0 parked", Effect.sync(() => h0.fake.statuses.at(-1)?.statusState === "auth-expired"), { timeoutMs: 20_000 })
      // account 1 reloads (the host stops and starts it, as on a config change)
      yield* w.stop(h1)
      h1 = yield* w.start(1)
      yield* say(b1, "one-2")
      yield* say(b2, "two-2")
      // account 2 logs in again: a new token, resumed in place
      yield* w.emulator.qr.autoConfirmNextAs(b2.botId)
      const runtime = { log: () => {}, error: () => {}, exit: () => {} }
      yield* hostCall(() => w.plugin.auth!.login!({ cfg: { channels: { "openclaw-weixin": { baseUrl: w.emulator.baseUrl } } }, accountId: w.accountIds[2]!, runtime }))
      yield* say(b1, "one-3")
      yield* say(b2, "two-3")
      yield* waitUntil("every message of accounts 1 and 2", Effect.sync(() => w.turns().filter((t) => t.outcome !== undefined).length >= 6), { timeoutMs: 20_000 })
      const texts = w.turns().map((t) => t.text).sort()
      expect(texts).toEqual(["one-1", "one-2", "one-3", "two-1", "two-2", "two-3"])
      expect(h1.fiber.unsafePoll()).toBeNull()
      expect(h2.fiber.unsafePoll()).toBeNull()
      expect(h0.fiber.unsafePoll()).toBeNull()
    }).pipe(Effect.scoped), 60_000)
})

describe("register()", () => {
  const modes = ["full", "discovery", "tool-discovery", "setup-only", "setup-runtime", "cli-metadata"] as const
  for (const mode of modes) {
    it(`register() in ${mode} with a broken host runtime (every read of api.runtime throws) → registers the channel, never throws`, async () => {
      const deps = testDeps(tempDir("ocw-faults-register-"), {})
      const entry = makePluginEntry(deps)
      const fake = fakeApi(mode, { version: "2026.9.6" })
      const broken = new Proxy(fake.api as object, {
        get(target, key, receiver) {
          if (key === "runtime") throw new Error("host runtime exploded")
          return Reflect.get(target, key, receiver)
        }
      }) as typeof fake.api
      expect(() => entry.register(broken)).not.toThrow()
      expect(fake.registered).toHaveLength(1)
      await deps.runtime.dispose()
    })
  }
  it("register() twice, then a runtime whose version is a number and one whose pieces are missing → registers each time, never throws", async () => {
    const deps = testDeps(tempDir("ocw-faults-register-"), {})
    const entry = makePluginEntry(deps)
    for (const version of [42, undefined, { major: 2026 }]) {
      const fake = fakeApi("full", { version })
      expect(() => entry.register(fake.api)).not.toThrow()
      expect(fake.registered).toHaveLength(1)
    }
    await deps.runtime.dispose()
  })
})

describe("the log of this file", () => {
  it.live("everything the accounts above logged (Debug) → no bot token, context token, AES key or CDN parameter in it", () =>
    Effect.sync(() => expectNoSecretLogged()))
})
