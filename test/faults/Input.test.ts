/**
 * Fault suite, bad input and media: odd messages, odd ids, account ids that try to leave the state dir,
 * and every CDN fault in both directions. The account always keeps going: each message ends in one turn
 * (or is recorded), the next message arrives, and nothing is written outside the state dir.
 * Each test is named "<what is injected> → <what must hold>".
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Fault } from "../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../sandbox/gateway/waitUntil.js"
import type { OutboundContext } from "../../src/plugin/SdkTypes.js"
import { ChannelTurns } from "../../src/host/ChannelTurns.js"
import { expectNoSecretLogged, fakeChannelRuntime, pluginWorld, rememberInjected } from "../support/faultsWorld.js"
import { fakeGatewayContext, hostConfig } from "../support/plugin.js"
import { hostCall } from "../support/pluginEmulator.js"

const short = (text: string) => (text.length > 40 ? "ok" : `pong: ${text}`)

describe("odd messages", () => {
  it.live("quotes of type 0 (none), 8 (unknown) and of a picture → each quoting message gets one turn with its own text and one reply", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-quote-", section: { mediaMaxMb: 1 } })
      const bot = w.bots[0]!
      yield* w.start(0)
      const picture = yield* w.emulator.cdn.putMedia(randomBytes(300))
      rememberInjected({ contextToken: undefined, media: picture })
      yield* w.inject({ botId: bot.botId, kind: "quote", text: "q0", quotedItem: { type: 0 } })
      yield* w.inject({ botId: bot.botId, kind: "quote", text: "q8", quotedItem: { type: 8, something: { x: 1 } } })
      yield* w.inject({ botId: bot.botId, kind: "quote", text: "qimg", quotedItem: { type: 2, image_item: { media: picture.media } } })
      yield* w.waitTurns(3)
      expect(w.turns().map((t) => [t.text, t.outcome])).toEqual([["q0", "completed"], ["q8", "completed"], ["qimg", "completed"]])
      const img = w.turns()[2]!
      expect((img.media?.received.length ?? 0) + (img.media?.missing.length ?? 0)).toBe(1)
      yield* waitUntil("three replies", Effect.map(w.emulator.sent(bot.botId), (s) => s.length === 3))
    }).pipe(Effect.scoped), 30_000)

  it.live("an unknown item type, an empty item list, 1 MB of text and invalid UTF-16 surrogates → each handled once, the account keeps going, the next message arrives", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-odd-", replyTo: short })
      const bot = w.bots[0]!
      yield* w.start(0)
      yield* w.inject({ botId: bot.botId, kind: "unknown_item", itemType: 99 })
      yield* w.inject({ botId: bot.botId, kind: "empty" })
      const big = "x".repeat(1024 * 1024)
      yield* w.inject({ botId: bot.botId, kind: "text", text: big })
      const lone = `{"message_id":7311239999999000001,"from_user_id":"${bot.ownerUserId}","to_user_id":"${bot.botId}","create_time_ms":1,"message_type":1,"message_state":2,"context_token":"ctx-lone-surrogate","item_list":[{"type":1,"text_item":{"text":"a\\ud800b\\udc00c"}}]}`
      yield* w.inject({ botId: bot.botId, kind: "raw_text", text: lone })
      yield* w.inject({ botId: bot.botId, kind: "text", text: "marker" })
      yield* waitUntil("the marker", Effect.sync(() => w.turns().some((t) => t.text === "marker" && t.outcome !== undefined)), { timeoutMs: 20_000 })
      const keys = w.turns().map((t) => t.turn.claimed.key)
      expect(new Set(keys).size).toBe(keys.length)
      expect(w.turns().some((t) => t.text === big)).toBe(true)
      expect(w.turns().some((t) => t.text === "a\ud800b\udc00c")).toBe(true)
      expect(w.turns().every((t) => t.outcome !== "defect")).toBe(true)
    }).pipe(Effect.scoped), 30_000)

  it.live("a mixed-case sender and a `user:`-prefixed, upper-cased target → replies go to the id exactly as the server spelled it, one conversation", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-peer-" })
      const bot = w.bots[0]!
      yield* w.start(0)
      const user = "MixedCase42@im.wechat"
      yield* w.inject({ botId: bot.botId, kind: "text", text: "hi", fromUserId: user })
      yield* w.waitTurns(1)
      yield* hostCall(() => w.plugin.outbound!.sendText!({ cfg: w.cfg, to: `user:${user.toUpperCase()}`, text: "proactive", accountId: w.accountIds[0] } as OutboundContext))
      yield* waitUntil("two sends", Effect.map(w.emulator.sent(bot.botId), (s) => s.length === 2))
      const sent = yield* w.emulator.sent(bot.botId)
      expect(sent.map((s) => [s.toUserId, s.outcome])).toEqual([[user, "delivered"], [user, "delivered"]])
    }).pipe(Effect.scoped), 30_000)
})

describe("who may talk to the agent", () => {
  it.live("an allow-list with `*`, an empty allow-list, and a pairing-store entry revoked between two messages → `*` admits a stranger; the empty list admits only the QR scanner; the revoke takes effect on the next message", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-access-", bots: 3, channelTurns: ChannelTurns.layer })
      const [star, empty, revoked] = w.bots as [typeof w.bots[0], typeof w.bots[0], typeof w.bots[0]]
      const stranger = "Stranger7@im.wechat"
      const hosts = [fakeChannelRuntime(), fakeChannelRuntime(), fakeChannelRuntime()] as const
      const cfgWith = (allowFrom: ReadonlyArray<string>) => hostConfig({ cdnBaseUrl: w.emulator.cdnBaseUrl, dmPolicy: "allowlist", allowFrom })
      yield* w.start(0, { cfg: cfgWith(["*"]), channelRuntime: hosts[0].runtime })
      yield* w.start(1, { cfg: cfgWith([]), channelRuntime: hosts[1].runtime })
      hosts[2].approved.push(stranger.toLowerCase())
      yield* w.start(2, { cfg: cfgWith([]), channelRuntime: hosts[2].runtime })
      const pongsTo = (botId: string) =>
        Effect.map(w.emulator.sent(botId), (sent) => sent.filter((s) => s.text === "pong").map((s) => s.toUserId))
      // a refused message leaves no trace to wait on: give a wrongly admitted one time to be answered
      const settle = (botId: string) => Effect.zipRight(Effect.sleep("800 millis"), pongsTo(botId))

      yield* w.inject({ botId: star.botId, kind: "text", text: "hi", fromUserId: stranger })
      yield* waitUntil("the stranger's answer under *", Effect.map(pongsTo(star.botId), (p) => p.length === 1))
      expect(yield* pongsTo(star.botId)).toEqual([stranger])

      yield* w.inject({ botId: empty.botId, kind: "text", text: "hi", fromUserId: stranger })
      yield* w.inject({ botId: empty.botId, kind: "text", text: "hi" })
      yield* waitUntil("the scanner's answer under an empty list", Effect.map(pongsTo(empty.botId), (p) => p.length === 1))
      yield* settle(empty.botId)
      expect(yield* pongsTo(empty.botId)).toEqual([empty.ownerUserId])

      yield* w.inject({ botId: revoked.botId, kind: "text", text: "before", fromUserId: stranger })
      yield* waitUntil("the approved stranger's answer", Effect.map(pongsTo(revoked.botId), (p) => p.length === 1))
      hosts[2].approved.length = 0
      yield* w.inject({ botId: revoked.botId, kind: "text", text: "after", fromUserId: stranger })
      yield* w.inject({ botId: revoked.botId, kind: "text", text: "owner", fromUserId: revoked.ownerUserId })
      yield* waitUntil("the owner's answer after the revoke", Effect.map(pongsTo(revoked.botId), (p) => p.length === 2))
      yield* settle(revoked.botId)
      expect(yield* pongsTo(revoked.botId)).toEqual([stranger, revoked.ownerUserId])
    }).pipe(Effect.scoped), 40_000)
})

describe("account ids", () => {
  it.live("account ids that try to escape the state dir (../, absolute, NUL, backslashes) → refused or normalised inside it, nothing written outside", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-ids-" })
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), "ocw-faults-outside-"))
      const hostile = ["../../escape", `${outside}/x`, "..\\..\\evil", "a/../../b", "nul\u0000byte", ".", "..", "/etc/passwd"]
      for (const id of hostile) {
        const account = w.plugin.config.resolveAccount(w.cfg, id)
        expect([id, account.configured]).toEqual([id, false])
        const fake = fakeGatewayContext(id, w.cfg)
        const result = yield* Effect.either(hostCall(() => w.plugin.gateway!.startAccount!(fake.ctx)))
        expect([id, result._tag]).toEqual([id, "Left"])
      }
      expect(fs.readdirSync(outside)).toEqual([])
      const files = fs.readdirSync(path.dirname(w.dir)).filter((f) => ["escape", "evil", "b", "escape.json", "b.json"].includes(f))
      expect(files).toEqual([])
      fs.rmSync(outside, { recursive: true, force: true })
    }).pipe(Effect.scoped), 30_000)
})

describe("CDN faults", () => {
  const MAX = 1024 * 1024
  const inbound: ReadonlyArray<readonly [Fault, string]> = [
    [{ kind: "http", status: 500 }, "CdnHttpError"],
    [{ kind: "http", status: 404 }, "CdnHttpError"],
    [{ kind: "cdn_body", defect: "truncated" }, "CdnTruncated"],
    [{ kind: "cdn_body", defect: "stall" }, "CdnTimeout"],
    [{ kind: "cdn_body", defect: "unaligned" }, "EcbDecryptError"],
    [{ kind: "cdn_body", defect: "bad_padding" }, "EcbDecryptError"],
    [{ kind: "cdn_body", defect: "wrong_key" }, "EcbDecryptError"],
    [{ kind: "cdn_body", defect: "wrong_content" }, "CdnIntegrityError"],
    [{ kind: "hang" }, "CdnTimeout"],
    [{ kind: "reset" }, "CdnTransportError"],
    [{ kind: "oversize", bytes: MAX + 4096 }, "CdnTooLarge"],
    [{ kind: "oversize", bytes: MAX + 4096, chunked: true }, "CdnTooLarge"]
  ]
  it.live(`every inbound CDN fault (${inbound.map(([f]) => ("defect" in f ? f.defect : f.kind === "http" ? `HTTP ${f.status}` : f.kind)).join(", ")}) → the turn still runs with a placeholder naming the typed cause, the account keeps going`, () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-cdn-in-", section: { mediaMaxMb: 1 } })
      const bot = w.bots[0]!
      yield* w.start(0)
      let n = 0
      for (const [fault, cause] of inbound) {
        yield* w.emulator.setFault({ endpoint: "cdn_download", fault, times: 1 })
        yield* w.inject({ botId: bot.botId, kind: "file", media: { data: randomBytes(4_000) }, fileName: "a.bin" })
        yield* w.waitTurns(++n)
        const turn = w.turns()[n - 1]!
        expect([cause, turn.outcome, turn.media?.missing[0]?.cause]).toEqual([cause, "completed", cause])
      }
      yield* w.inject({ botId: bot.botId, kind: "image", media: { data: randomBytes(100) } })
      yield* w.waitTurns(++n)
      expect(w.turns()[n - 1]!.media?.missing).toEqual([])
    }).pipe(Effect.scoped), 90_000)

  it.live("every outbound CDN fault (upload 403, 500 then 200, no x-encrypted-param, a hang; getuploadurl ret −1) → a typed MediaUploadFailed with nothing sent, or a retried upload delivered once", () =>
    Effect.gen(function*() {
      const w = yield* pluginWorld({ dirPrefix: "ocw-faults-cdn-out-" })
      const bot = w.bots[0]!
      yield* w.start(0)
      yield* w.inject({ botId: bot.botId, kind: "text", text: "hello" })
      yield* w.waitTurns(1)
      yield* waitUntil("the first reply", Effect.map(w.emulator.sent(bot.botId), (s) => s.length === 1))
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ocw-faults-media-"))
      const file = (name: string) => {
        const p = path.join(dir, name)
        fs.writeFileSync(p, randomBytes(2_000))
        return p
      }
      const send = (mediaUrl: string, text: string) =>
        hostCall(() => w.plugin.outbound!.sendMedia!({ cfg: w.cfg, to: bot.ownerUserId, text, mediaUrl, accountId: w.accountIds[0] } as unknown as OutboundContext))
      const sentCount = () => Effect.map(w.emulator.sent(bot.botId), (s) => s.length)

      const refusals: ReadonlyArray<readonly [string, { endpoint: "cdn_upload" | "getuploadurl"; fault: Fault }]> = [
        ["403", { endpoint: "cdn_upload", fault: { kind: "http", status: 403, errorMessageHeader: "forbidden" } }],
        ["hang", { endpoint: "cdn_upload", fault: { kind: "hang" } }],
        ["getuploadurl ret −1", { endpoint: "getuploadurl", fault: { kind: "ret", ret: -1, errmsg: "refused" } }]
      ]
      for (const [name, plan] of refusals) {
        const before = yield* sentCount()
        yield* w.emulator.setFault({ ...plan, times: 1 })
        const error = yield* Effect.flip(send(file(`${name.replace(/\W/g, "")}.bin`), `caption ${name}`))
        expect([name, (error as { _tag?: string })._tag]).toEqual([name, "MediaUploadFailed"])
        expect([name, yield* sentCount()]).toEqual([name, before])
      }
      for (const [name, fault] of [["500 then 200", { kind: "http", status: 500 }], ["no x-encrypted-param", { kind: "missing_encrypted_param" }]] as const) {
        yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: fault as Fault, times: 1 })
        yield* send(file("ok.bin"), `caption ${name}`)
      }
      const media = yield* w.emulator.cdn.sentMedia(bot.botId)
      expect(media.length).toBe(2)
      expect(media.every((m) => m.plaintext !== undefined)).toBe(true)
      fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.scoped), 90_000)
})

describe("the log of this file", () => {
  it.live("everything the accounts above logged (Debug) → no bot token, context token, AES key or CDN parameter in it", () =>
    Effect.sync(() => expectNoSecretLogged()))
})
