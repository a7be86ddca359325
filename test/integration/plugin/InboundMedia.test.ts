/**
 * Inbound media through the production path: the plugin's gateway.startAccount runs two accounts on one
 * emulator (real HTTP on 127.0.0.1), each claimed message's media is downloaded from the emulator's CDN,
 * decrypted and stored (in the in-memory store) inside the turn, and the in-memory host reads the turn's
 * media facts. Every kind arrives; every CDN fault and bad input ends in a missing item with its typed
 * cause and a warning line, the turn still runs and replies, and the other account never notices.
 * Timeouts are real but bounded (500 ms), so the hang fault ends quickly.
 */
import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { Duration, Effect } from "effect"
import { type Emulator, type Fault, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import type { InboundMediaKind, TurnMedia } from "../../../src/account/InboundMedia.js"
import { InboundMediaStore, makeMemoryInboundMediaStore } from "../../../src/account/InboundMediaStore.js"
import type { RecordedTurn } from "../../../src/account/TestAgentTurns.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { makeTempDir } from "../../support/actorHarness.js"
import { hostConfig, recordingBridge, storeLogin } from "../../support/plugin.js"
import { scopedDeps, startAccountInFiber } from "../../support/pluginEmulator.js"
import { encodeSilk, testSignal } from "../../support/silkFixture.js"

const MAX_MB = 1
const MAX = MAX_MB * 1024 * 1024

const world = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 300 })
  const bots = [yield* emulator.addBot(), yield* emulator.addBot()] as const
  const dir = yield* makeTempDir("ocw-media-in-")
  for (const bot of bots) yield* storeLogin(dir, { id: bot.botId, token: bot.token, baseUrl: emulator.baseUrl })
  const store = makeMemoryInboundMediaStore()
  const bridge = recordingBridge()
  const deps = yield* scopedDeps(dir, {
    bridge: bridge.layer,
    mediaStore: InboundMediaStore.layerFrom(store),
    cdnTimeouts: { response: Duration.millis(500), idle: Duration.millis(500) }
  })
  const plugin = makeWeixinChannelPlugin(deps)
  const cfg = hostConfig({ cdnBaseUrl: emulator.cdnBaseUrl, mediaMaxMb: MAX_MB })
  const [botA, botB] = bots
  const a = yield* startAccountInFiber(plugin, normalizeAccountId(botA.botId), cfg)
  const b = yield* startAccountInFiber(plugin, normalizeAccountId(botB.botId), cfg)
  const turns = () => Effect.runSync(bridge.host.turns)

  /** the finished turn of the message with this id */
  const turnOf = (messageId: string | undefined) =>
    Effect.gen(function*() {
      const find = () => turns().find((t) => t.turn.claimed.message.message_id === messageId && t.outcome !== undefined)
      yield* waitUntil(`the turn of message ${messageId}`, Effect.sync(() => find() !== undefined), { timeoutMs: 15_000 })
      return find() as RecordedTurn
    })
  const mediaOf = (turn: RecordedTurn): TurnMedia => {
    if (turn.media === undefined) throw new Error(`turn ${turn.turn.claimed.key} never asked for its media`)
    return turn.media
  }
  /** injects to account A, and returns the turn's media once the turn has replied */
  const send = (spec: Parameters<Emulator["injectInbound"]>[0] extends infer S ? S extends { readonly botId: string } ? Omit<S, "botId"> : never : never) =>
    Effect.gen(function*() {
      const injected = yield* emulator.injectInbound({ ...spec, botId: botA.botId } as Parameters<Emulator["injectInbound"]>[0])
      const turn = yield* turnOf(injected.messageId)
      expect(turn.outcome).toBe("completed")
      expect(turn.replies.map((r) => r.result._tag)).toEqual(["Right"])
      return { injected, turn, media: mediaOf(turn) }
    })
  /** account B still answers at once */
  const otherAccountAnswers = (text: string) =>
    Effect.gen(function*() {
      const injected = yield* emulator.injectInbound({ botId: botB.botId, kind: "text", text })
      const turn = yield* turnOf(injected.messageId)
      expect(turn.replies.map((r) => r.text)).toEqual([`pong: ${text}`])
    })
  const bytesOf = (path: string) => Buffer.from(store.read(path) ?? new Uint8Array(0))
  const logLines = () => a.fake.logs.lines
  return { emulator, botA, store, send, otherAccountAnswers, bytesOf, logLines, turns, turnOf, a, b, plugin, cfg, bridge }
})

type World = Effect.Effect.Success<typeof world>

const expectMissing = (media: TurnMedia, kind: InboundMediaKind, cause: string, reason: "oversize" | "failed" = "failed") => {
  expect(media.received).toEqual([])
  expect(media.missing).toHaveLength(1)
  expect(media.missing[0]).toMatchObject({ kind, cause, reason })
}

const expectLogged = (w: World, cause: string) =>
  expect(w.logLines().some((line) => line.includes(" warn ") && line.includes(`(${cause})`) && line.includes("placeholder"))).toBe(true)

describe("inbound media through the plugin's accounts (PROTOCOL §6.3, §6.4)", () => {
  it.live("a picture, a named file, a video and voice notes with and without transcript reach the turn as stored media", () =>
    Effect.gen(function*() {
      const w = yield* world
      const picture = randomBytes(40_000)
      const image = yield* w.send({ kind: "image", media: { data: picture } })
      expect(image.media.missing).toEqual([])
      expect(image.media.received).toMatchObject([{ kind: "image", quoted: false, size: picture.length, transcribed: false }])
      expect(w.bytesOf(image.media.received[0]!.path).equals(picture)).toBe(true)

      const document = randomBytes(123_457)
      const file = yield* w.send({ kind: "file", media: { data: document, location: "param" }, fileName: "季度报告.pdf" })
      expect(file.media.received).toMatchObject([{ kind: "file", fileName: "季度报告.pdf", contentType: "application/pdf" }])
      expect(w.bytesOf(file.media.received[0]!.path).equals(document)).toBe(true)

      const clip = randomBytes(70_001)
      const video = yield* w.send({ kind: "video", media: { data: clip, keyEncoding: "raw" } })
      expect(video.media.received).toMatchObject([{ kind: "video", contentType: "video/mp4", size: clip.length }])
      expect(w.bytesOf(video.media.received[0]!.path).equals(clip)).toBe(true)

      const silk = yield* Effect.promise(() => encodeSilk(testSignal()))
      for (const transcript of [undefined, "今天下午三点开会"]) {
        const voice = yield* w.send({ kind: "voice", media: { data: silk }, ...(transcript === undefined ? {} : { transcript }) })
        expect(voice.media.received).toMatchObject([{ kind: "voice", contentType: "audio/wav", transcribed: transcript !== undefined }])
        const wav = w.bytesOf(voice.media.received[0]!.path)
        expect(wav.subarray(0, 4).toString("latin1")).toBe("RIFF")
        expect(wav.readUInt32LE(24)).toBe(24_000)
        expect(voice.media.received[0]!.durationMs).toBeGreaterThanOrEqual(1_100)
      }
      yield* w.otherAccountAnswers("still here")
      expect(yield* w.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped), 60_000)

  it.live("the media of a quoted message comes with the quoting text; a file name with ../ keeps only its last segment", () =>
    Effect.gen(function*() {
      const w = yield* world
      const picture = randomBytes(9_999)
      const stored = yield* w.emulator.cdn.putMedia(picture)
      const quote = yield* w.send({
        kind: "quote",
        text: "what is in this picture?",
        svrId: "777",
        quotedItem: { type: 2, image_item: { media: stored.media } }
      })
      expect(quote.media.received).toMatchObject([{ kind: "image", quoted: true }])
      expect(w.bytesOf(quote.media.received[0]!.path).equals(picture)).toBe(true)

      const evil = yield* w.send({ kind: "file", media: { data: "not a password file" }, fileName: "../../etc/passwd" })
      expect(evil.media.received).toMatchObject([{ kind: "file", fileName: "passwd" }])
      expect(w.store.files().map((f) => f.fileName)).toContain("passwd")
      expect(w.store.files().some((f) => f.fileName?.includes("..") === true || f.fileName?.includes("/") === true)).toBe(false)
      expect(yield* w.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped), 60_000)

  it.live("every CDN fault ends in a placeholder with its typed cause; the account keeps going and the other one never notices", () =>
    Effect.gen(function*() {
      const w = yield* world
      const cases: ReadonlyArray<readonly [Fault, string, "oversize" | "failed"]> = [
        [{ kind: "http", status: 500 }, "CdnHttpError", "failed"],
        [{ kind: "http", status: 404 }, "CdnHttpError", "failed"],
        [{ kind: "cdn_body", defect: "truncated" }, "CdnTruncated", "failed"],
        [{ kind: "cdn_body", defect: "wrong_key" }, "EcbDecryptError", "failed"],
        [{ kind: "cdn_body", defect: "wrong_content" }, "CdnIntegrityError", "failed"],
        [{ kind: "cdn_body", defect: "stall" }, "CdnTimeout", "failed"],
        [{ kind: "hang" }, "CdnTimeout", "failed"],
        [{ kind: "oversize", bytes: MAX + 4096 }, "CdnTooLarge", "oversize"],
        [{ kind: "oversize", bytes: MAX + 4096, chunked: true }, "CdnTooLarge", "oversize"],
        [{ kind: "reset" }, "CdnTransportError", "failed"]
      ]
      for (const [fault, cause, reason] of cases) {
        yield* w.emulator.setFault({ endpoint: "cdn_download", fault, times: 1 })
        const file = yield* w.send({ kind: "file", media: { data: randomBytes(4_000) }, fileName: "a.bin" })
        expect([fault.kind, file.media.missing[0]?.cause]).toEqual([fault.kind, cause])
        expectMissing(file.media, "file", cause, reason)
        expectLogged(w, cause)
        yield* w.otherAccountAnswers(`B after ${fault.kind}`)
      }
      // the same media downloads again once the CDN behaves
      const fine = yield* w.send({ kind: "image", media: { data: randomBytes(100) } })
      expect(fine.media.missing).toEqual([])
      expect(w.store.files().length).toBe(1)
      expect(yield* w.emulator.violations()).toEqual([])
    }).pipe(Effect.scoped), 120_000)

  it.live("bad inputs end in placeholders too: malformed keys, a full_url elsewhere, an empty file, a 2 GB len, a corrupt voice note", () =>
    Effect.gen(function*() {
      const w = yield* world
      const stored = yield* w.emulator.cdn.putMedia(randomBytes(2_000))
      const quoting = (item: object) => w.send({ kind: "quote", text: "see this", svrId: "1", quotedItem: item })
      const fileItem = (media: object, extra: object = {}) => ({ type: 4, file_item: { media, file_name: "x.txt", ...extra } })
      for (const aesKey of [Buffer.alloc(20).toString("base64"), "***not base64***", Buffer.from("z".repeat(32)).toString("base64")]) {
        const bad = yield* quoting(fileItem({ ...stored.media, aes_key: aesKey }))
        expectMissing(bad.media, "file", "AesKeyError")
      }
      const port = new URL(w.emulator.cdnBaseUrl).port
      const elsewhere = yield* quoting(
        fileItem({ ...stored.media, full_url: `http://127.0.0.2:${port}/c2c/download?encrypted_query_param=${stored.media.encrypt_query_param}` })
      )
      expectMissing(elsewhere.media, "file", "CdnUrlRefused")
      const huge = yield* quoting(fileItem(stored.media, { len: "2147483648" }))
      expectMissing(huge.media, "file", "CdnTooLarge", "oversize")
      const empty = yield* w.send({ kind: "file", media: { data: new Uint8Array(0) }, fileName: "empty.txt" })
      expectMissing(empty.media, "file", "CdnEmptyMedia")
      const noise = yield* w.send({ kind: "voice", media: { data: randomBytes(3_000) } })
      expectMissing(noise.media, "voice", "VoiceDecodeError")
      const unreadable = yield* quoting({ type: 2, image_item: "not an object" })
      expectMissing(unreadable.media, "image", "UnreadableMediaItem")
      for (const cause of ["AesKeyError", "CdnUrlRefused", "CdnTooLarge", "CdnEmptyMedia", "VoiceDecodeError"]) expectLogged(w, cause)
      // no log line carries a key or a signed CDN parameter
      const secrets = [stored.media.aes_key, stored.media.encrypt_query_param, stored.keyHex].filter((s): s is string => s !== undefined && s !== "")
      expect(w.logLines().filter((line) => secrets.some((secret) => line.includes(secret)))).toEqual([])
      yield* w.otherAccountAnswers("B is fine")
      expect(w.store.files()).toEqual([])
    }).pipe(Effect.scoped), 60_000)

  it.live("of a message with ten media items and an unknown item, the first eight are fetched and the rest counted", () =>
    Effect.gen(function*() {
      const w = yield* world
      const first = yield* w.send({ kind: "text", text: "hi" })
      const items: Array<object> = [{ type: 99, mystery_item: {} }]
      const pictures: Array<Buffer> = []
      for (let i = 0; i < 10; i++) {
        const picture = randomBytes(500 + i)
        pictures.push(picture)
        items.push({ type: 2, image_item: { media: (yield* w.emulator.cdn.putMedia(picture)).media } })
      }
      const injected = yield* w.emulator.injectInbound({
        botId: w.botA.botId,
        kind: "raw",
        message: {
          message_id: 900_001,
          from_user_id: first.injected.fromUserId,
          to_user_id: w.botA.botId,
          message_type: 1,
          message_state: 2,
          context_token: first.injected.contextToken,
          item_list: items
        }
      })
      void injected
      const turn = yield* w.turnOf("900001")
      const media = turn.media as TurnMedia
      expect(media.received.map((m) => w.bytesOf(m.path))).toEqual(pictures.slice(0, 8))
      expect(media.skipped).toBe(2)
      expect(media.missing).toEqual([])
      expect(turn.replies).toHaveLength(1)
    }).pipe(Effect.scoped), 60_000)

  it.live("a turn cut short by a stop runs again after the restart with the media it stored, without a second download", () =>
    Effect.gen(function*() {
      const w = yield* world
      const picture = randomBytes(3_333)
      const key = "mid:880001"
      // the first run holds the turn open after the media was fetched
      yield* w.bridge.host.script({ key }, { during: () => Effect.never })
      const injected = yield* w.emulator.injectInbound({ botId: w.botA.botId, kind: "image", media: { data: picture }, messageId: "880001" })
      const first = () => w.turns().find((t) => t.turn.claimed.key === key)
      yield* waitUntil("the media of the first run", Effect.sync(() => first()?.media !== undefined))
      w.a.fake.abort.abort()
      yield* waitUntil("the first run to be interrupted", Effect.sync(() => first()?.outcome), (o) => o !== undefined)
      expect(first()?.outcome).toBe("interrupted")
      yield* w.bridge.host.script({ key }, { replies: ["again"] })
      yield* startAccountInFiber(w.plugin, normalizeAccountId(w.botA.botId), w.cfg, "account A running again")
      yield* waitUntil("the re-dispatched turn", Effect.sync(() => w.turns().filter((t) => t.turn.claimed.key === key && t.outcome === "completed").length === 1), { timeoutMs: 15_000 })
      const runs = w.turns().filter((t) => t.turn.claimed.key === key)
      expect(runs).toHaveLength(2)
      expect(runs[1]!.media?.received[0]?.path).toBe(runs[0]!.media?.received[0]?.path)
      const downloads = (yield* w.emulator.cdn.downloads()).filter((d) => d.downloadParam === injected.media?.media.encrypt_query_param)
      expect(downloads).toHaveLength(1)
    }).pipe(Effect.scoped), 60_000)
})
