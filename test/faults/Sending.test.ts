/**
 * Fault suite, sending: what the server may answer a sendmessage with, and what the host and the user
 * get: a typed error or receipt for each, one request per message unless it provably never left, never
 * a send without a context token, long replies chunked without losing a line.
 * Each test is named "<what is injected> → <what must hold>".
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import type { Fault } from "../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../sandbox/gateway/waitUntil.js"
import type { OutboundContext } from "../../src/plugin/SdkTypes.js"
import { expectNoSecretLogged, pluginWorld } from "../support/faultsWorld.js"
import { hostCall } from "../support/pluginEmulator.js"

/** One running account whose owner has written once (so a context token is known). */
const running = (options: { readonly replyTo?: (text: string) => string; readonly section?: Record<string, unknown> } = {}) =>
  Effect.gen(function*() {
    const w = yield* pluginWorld({ dirPrefix: "ocw-faults-send-", ...options })
    const bot = w.bots[0]!
    const a = yield* w.start(0)
    yield* w.inject({ botId: bot.botId, kind: "text", text: "hello" })
    yield* w.waitTurns(1)
    yield* waitUntil("the first reply", Effect.map(w.emulator.sent(bot.botId), (s) => s.length === 1))
    const send = (text: string, to: string = bot.ownerUserId) =>
      hostCall(() => w.plugin.outbound!.sendText!({ cfg: w.cfg, to, text, accountId: w.accountIds[0] } as OutboundContext))
    const requestsFor = (text: string) =>
      Effect.map(w.emulator.requests("sendmessage"), (rs) => rs.filter((r) => r.body.includes(JSON.stringify(text).slice(1, -1))))
    return { ...w, bot, a, send, requestsFor }
  })

describe("sendmessage answers", () => {
  it.live("a send to a user with no context token → refused with NoContextToken before any request", () =>
    Effect.gen(function*() {
      const w = yield* running()
      const before = (yield* w.emulator.requests("sendmessage")).length
      const error = yield* Effect.flip(w.send("to a stranger", "stranger@im.wechat"))
      expect((error as { _tag?: string })._tag).toBe("NoContextToken")
      expect((yield* w.emulator.requests("sendmessage")).length).toBe(before)
    }).pipe(Effect.scoped), 30_000)

  const table: ReadonlyArray<readonly [string, Fault, string]> = [
    ["ret −2 with an empty errmsg", { kind: "ret", ret: -2, errmsg: "" }, "ContextTokenRejected"],
    ["ret −2 \"unknown error\"", { kind: "ret", ret: -2, errmsg: "unknown error" }, "ContextTokenRejected"],
    ["ret −2 \"rate limited\"", { kind: "rate_limited" }, "RateLimited"],
    ["ret −2 \"prepare failed\"", { kind: "ret", ret: -2, errmsg: "prepare failed" }, "MessageRejected"],
    ["ret −3 \"invalid arguments\"", { kind: "ret", ret: -3, errmsg: "invalid arguments" }, "InvalidTarget"],
    ["ret −14 (on sendmessage an ordinary failure)", { kind: "ret", ret: -14, errmsg: "session timeout" }, "SendFailed"],
    ["ret 7 (any other)", { kind: "ret", ret: 7, errmsg: "odd" }, "SendFailed"],
    ["HTTP 400", { kind: "http", status: 400 }, "SendFailed"],
    ["HTTP 503", { kind: "http", status: 503 }, "DeliveryUnknown"]
  ]
  it.live(`every ret of the sendmessage table (${table.map(([name]) => name).join("; ")}) → its typed error, one request each (never retried), the account still sends afterwards`, () =>
    Effect.gen(function*() {
      const w = yield* running()
      let turns = 1
      for (const [name, fault, tag] of table) {
        // the user writes again first: a rejected token (or budget) is only renewed by the user's next message
        yield* w.inject({ botId: w.bot.botId, kind: "text", text: `refresh before ${name}` })
        yield* w.waitTurns(++turns)
        yield* w.emulator.setFault({ endpoint: "sendmessage", fault, times: 1 })
        const text = `case ${name}`
        const error = yield* Effect.flip(w.send(text))
        expect([name, (error as { _tag?: string })._tag]).toEqual([name, tag])
        expect([name, (yield* w.requestsFor(text)).length]).toEqual([name, 1])
      }
      yield* w.inject({ botId: w.bot.botId, kind: "text", text: "refresh at the end" })
      yield* w.waitTurns(++turns)
      const ok = yield* w.send("after the table")
      expect(ok.meta?.["status"]).toBe("delivered")
      expect(w.a.fake.statuses.at(-1)?.statusState).toBe("running")
    }).pipe(Effect.scoped), 30_000)

  it.live("ret 0 without message_id → the receipt says unconfirmed (not delivered), one request", () =>
    Effect.gen(function*() {
      const w = yield* running()
      yield* w.emulator.setFault({ endpoint: "sendmessage", fault: { kind: "no_message_id" }, times: 1 })
      const result = yield* w.send("filtered by the server")
      expect(result.meta?.["status"]).toBe("unconfirmed")
      expect((yield* w.requestsFor("filtered by the server")).length).toBe(1)
    }).pipe(Effect.scoped), 30_000)

  it.live("the HTTP response lost after the server accepted the send (body cut) → DeliveryUnknown, never resent, the server holds it once", () =>
    Effect.gen(function*() {
      const w = yield* running()
      yield* w.emulator.setFault({ endpoint: "sendmessage", fault: { kind: "truncated_json" }, times: 1 })
      const error = yield* Effect.flip(w.send("accepted, answer lost"))
      expect((error as { _tag?: string })._tag).toBe("DeliveryUnknown")
      expect((yield* w.requestsFor("accepted, answer lost")).length).toBe(1)
      const stored = (yield* w.emulator.sent(w.bot.botId)).filter((s) => s.text === "accepted, answer lost")
      expect(stored).toHaveLength(1)
    }).pipe(Effect.scoped), 30_000)
})

describe("long replies", () => {
  const fence = "```"
  const code = Array.from({ length: 150 }, (_, i) => `const value${i} = compute(${i}) // line ${i}`).join("\n")
  const table = ["| id | name | note |", "|---|---|---|", ...Array.from({ length: 120 }, (_, i) => `| ${i} | row${i} | cell-${i} |`)].join("\n")
  const prose = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}: ${"words ".repeat(20)}end${i}.`).join("\n\n")
  const reply = `# Report\n\n${prose}\n\n${fence}ts\n${code}\n${fence}\n\n${table}\n\nDone.`

  it.live(`a ${reply.length}-character reply with a code fence and a table → several messages under the limit, in order, every code line and table row kept, every fence closed in its message`, () =>
    Effect.gen(function*() {
      expect(reply.length).toBeGreaterThan(12_000)
      const w = yield* running({ replyTo: (text) => (text === "big" ? reply : `pong: ${text}`) })
      yield* w.inject({ botId: w.bot.botId, kind: "text", text: "big" })
      yield* w.waitTurns(2)
      const turn = w.turns().find((t) => t.text === "big")!
      expect(turn.outcome).toBe("completed")
      const sent = (yield* w.emulator.sent(w.bot.botId)).slice(1)
      expect(sent.length).toBeGreaterThanOrEqual(3)
      expect(sent.every((s) => s.outcome === "delivered")).toBe(true)
      expect(sent.every((s) => (s.text ?? "").length <= 4_000)).toBe(true)
      for (const s of sent) expect(((s.text ?? "").match(/```/g) ?? []).length % 2).toBe(0)
      const joined = sent.map((s) => s.text ?? "").join("\n")
      let at = 0
      for (const line of [...code.split("\n"), ...Array.from({ length: 120 }, (_, i) => `row${i}`), "Done."]) {
        const found = joined.indexOf(line, at)
        expect([line, found >= 0]).toEqual([line, true])
        at = found
      }
      expect(Either.isRight(turn.replies[0]!.result)).toBe(true)
    }).pipe(Effect.scoped), 30_000)
})

describe("the log of this file", () => {
  it.live("everything the accounts above logged (Debug) → no bot token, context token, AES key or CDN parameter in it", () =>
    Effect.sync(() => expectNoSecretLogged()))
})
