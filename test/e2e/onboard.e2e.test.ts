/**
 * Directory and pairing notice in a real gateway (sandbox/sandbox.ts: OpenClaw 2026.9.6 on Node 24, the
 * plugin as packed, the emulator, the fake model): `openclaw directory peers list` lists a user who just
 * wrote, with an open reply window; an approval with notify through the gateway tells the approved user
 * in WeChat (the CLI's `pairing approve --notify` cannot reach an installed plugin in 2026.9.6: skipped,
 * see below); `directory` for an account that is not logged in answers with what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { waitUntil } from "../../sandbox/gateway/index.js"
import { awaitPolling, CHANNEL_ID, PLUGIN_DIR_ENV, type SandboxAccount, startWeixinSandbox, type WeixinSandbox } from "../../sandbox/sandbox.js"
import { APPROVAL_NOTICE } from "../../src/plugin/PairingNotice.js"

const prebuiltPluginDir = process.env[PLUGIN_DIR_ENV]

const scope = Effect.runSync(Scope.make())
let sandbox: WeixinSandbox
let account: SandboxAccount

beforeAll(async () => {
  const setup = Effect.gen(function*() {
    sandbox = yield* startWeixinSandbox({
      ...(prebuiltPluginDir === undefined ? {} : { pluginDir: prebuiltPluginDir }),
      // the shared machine can be slow to bring a gateway up
      readyTimeoutMs: 300_000
    })
    account = yield* sandbox.login
    yield* awaitPolling(sandbox, account)
  })
  await Effect.runPromise(Scope.extend(setup, scope))
}, 700_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}, 60_000)

const sentTo = (userId: string) =>
  Effect.map(sandbox.emulator.sent(account.bot.botId), (sent) => sent.filter((record) => record.toUserId === userId))

const awaitSent = (userId: string, what: string, match: (text: string) => boolean) =>
  waitUntil(what, sentTo(userId), (sent) => sent.some((record) => match(record.text ?? "")), {
    timeoutMs: 120_000,
    intervalMs: 250
  })

const say = (text: string, fromUserId: string) =>
  sandbox.emulator.injectInbound({ botId: account.bot.botId, kind: "text", text, fromUserId })

/** The JSON array `--json` printed (the CLI may print other lines before it). */
const jsonArrayOf = (stdout: string): Array<{ id: string; name?: string; raw?: Record<string, unknown> }> =>
  JSON.parse(stdout.slice(stdout.indexOf("[")))

describe("directory and pairing notice in a real gateway", () => {
  it.live("`openclaw directory peers list` lists a user who just wrote, sendable, with the window's end", () =>
    Effect.gen(function*() {
      const owner = account.bot.ownerUserId
      const wroteAt = Date.now()
      yield* say("hello there", owner)
      yield* awaitSent(owner, "the agent's answer", (text) => text.includes("hello there"))
      const listed = yield* waitUntil(
        "the owner in the directory",
        Effect.map(
          sandbox.gateway.cli(["directory", "peers", "list", "--channel", CHANNEL_ID, "--account", account.accountId, "--json"], {
            timeoutMs: 120_000
          }),
          (result) => {
            expect(result.code, result.stdout + result.stderr).toBe(0)
            return jsonArrayOf(result.stdout)
          }
        ),
        (peers) => peers.some((peer) => peer.id === owner && peer.raw?.["lastInboundAt"] !== null),
        { timeoutMs: 120_000, intervalMs: 1_000 }
      )
      const entry = listed.find((peer) => peer.id === owner)!
      expect(entry.raw?.["sendable"]).toBe(true)
      expect(entry.name).toMatch(/^can send until \d{4}-\d\d-\d\dT\d\d:\d\dZ, \d+ of 10 replies left$/)
      const closes = Date.parse(String(entry.raw?.["windowClosesAt"]))
      expect(Math.abs(closes - (wroteAt + 24 * 3_600_000))).toBeLessThan(10 * 60_000)
      // the table form names the same user and readiness
      const table = yield* sandbox.gateway.cli(["directory", "peers", "list", "--channel", CHANNEL_ID, "--account", account.accountId])
      expect(table.code, table.stdout + table.stderr).toBe(0)
      expect(table.stdout).toContain(owner)
      expect(table.stdout).toContain("can send until")
      expect(yield* sandbox.emulator.violations()).toEqual([])
    }), 300_000)

  it.live("`openclaw directory peers list` for an account that is not logged in says so and how to log in", () =>
    Effect.gen(function*() {
      const result = yield* sandbox.gateway.cli(["directory", "peers", "list", "--channel", CHANNEL_ID, "--account", "nobody-bot@im.bot"])
      expect(result.code).not.toBe(0)
      expect(result.stdout + result.stderr).toMatch(/there is no WeChat account nobody-bot-im-bot .*openclaw channels login/)
    }), 120_000)

  it.live("an approval with notify through the gateway (the Control UI's `channels.pairing.approve`) tells the approved user in WeChat", () =>
    Effect.gen(function*() {
      const stranger = yield* sandbox.emulator.addUser("o9cqRpcStranger@im.wechat")
      yield* say("may I come in?", stranger)
      const sent = yield* awaitSent(stranger, "the pairing code", (text) => /\b[A-Z2-9]{8}\b/.test(text))
      const call = (method: string, params: Record<string, unknown>) =>
        Effect.map(sandbox.gateway.cli(["gateway", "call", method, "--params", JSON.stringify(params), "--json"], { timeoutMs: 120_000 }), (result) => {
          expect(result.code, result.stdout + result.stderr).toBe(0)
          return JSON.parse(result.stdout.slice(result.stdout.indexOf("{"), result.stdout.lastIndexOf("}") + 1)) as Record<string, any>
        })
      const listed = yield* call("channels.pairing.list", { channel: CHANNEL_ID })
      const request = (listed["requests"] as Array<Record<string, any>>).find((r) => r["senderId"] === stranger)
      expect(request, JSON.stringify(listed)).toBeDefined()
      expect(request!["notifySupported"]).toBe(true)
      const approved = yield* call("channels.pairing.approve", {
        channel: CHANNEL_ID,
        accountId: request!["accountId"],
        requestId: request!["requestId"],
        notify: true
      })
      expect(approved["notification"]).toBe("sent")
      const after = yield* awaitSent(stranger, "the approval notice", (text) => text === APPROVAL_NOTICE)
      expect(after.map((s) => s.text)).toEqual([sent[0]!.text, APPROVAL_NOTICE])
      expect(yield* sandbox.emulator.violations()).toEqual([])
    }), 300_000)

  // Skipped: in OpenClaw 2026.9.6 the CLI's `pairing approve --notify` looks the pairing adapter up in a
  // registry without this installed plugin and prints "Failed to notify requester: Error: Channel
  // openclaw-weixin does not support pairing" (seen in this test's first run; docs/HOST-NOTES.md). The
  // notice itself is tested through the plugin harness (test/integration/plugin/Onboard.test.ts).
  it.skip("`openclaw pairing approve … --notify` tells the approved user in WeChat", () =>
    Effect.gen(function*() {
      const stranger = yield* sandbox.emulator.addUser("o9cqOnboardStranger@im.wechat")
      yield* say("may I?", stranger)
      const sent = yield* awaitSent(stranger, "the pairing code", (text) => /\b[A-Z2-9]{8}\b/.test(text))
      const code = /\b([A-Z2-9]{8})\b/.exec(sent.map((s) => s.text ?? "").join("\n"))![1]!
      const approved = yield* sandbox.gateway.cli(["pairing", "approve", CHANNEL_ID, code, "--account", account.accountId, "--notify"], {
        timeoutMs: 120_000
      })
      expect(approved.code, approved.stdout + approved.stderr).toBe(0)
      expect(approved.stdout + approved.stderr).not.toContain("Failed to notify requester")
      const after = yield* awaitSent(stranger, "the approval notice", (text) => text === APPROVAL_NOTICE)
      expect(after.map((s) => s.text)).toEqual([sent[0]!.text, APPROVAL_NOTICE])
      expect(yield* sandbox.gateway.waitForOutput(/config hot reload applied \(commands\)/, 60_000)).toBe(true)
      expect(yield* sandbox.emulator.violations()).toEqual([])
    }), 300_000)
})
