/**
 * The real inbound media store (the host's `saveMediaStream`) fed by the CDN client from the emulator
 * over 127.0.0.1: a file arrives whole with the host's MIME type; a body cut short, or one over the cap,
 * fails with its own typed error and leaves no file, not even a temp file, in the host's media folder.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Cause, Duration, Effect, Either, Exit, Option, Schema, type Scope, Stream } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { CdnDownload } from "../../../src/ilink/CdnDownload.js"
import { inboundDownloadRequest, type InboundMediaItem } from "../../../src/ilink/CdnInboundItem.js"
import { CdnTimeouts } from "../../../src/ilink/CdnTimeouts.js"
import { InboundMediaStore } from "../../../src/account/InboundMediaStore.js"
import { HostMediaStore } from "../../../src/host/HostMediaStore.js"
import { parseLossless } from "../../../src/wire/LosslessJson.js"
import { WeixinMessage } from "../../../src/wire/Message.js"
import { tempDir } from "../../support/plugin.js"

let stateDir = ""
let previous: string | undefined
beforeAll(() => {
  stateDir = tempDir("ocw-host-media-")
  previous = process.env["OPENCLAW_STATE_DIR"]
  process.env["OPENCLAW_STATE_DIR"] = stateDir
})
afterAll(() => {
  if (previous === undefined) delete process.env["OPENCLAW_STATE_DIR"]
  else process.env["OPENCLAW_STATE_DIR"] = previous
  fs.rmSync(stateDir, { recursive: true, force: true })
})

const inboundDir = () => path.join(stateDir, "media", "inbound")
const filesInStore = () => (fs.existsSync(inboundDir()) ? fs.readdirSync(inboundDir()) : [])

const setup = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 100 })
  const bot = yield* emulator.addBot()
  const cdn = yield* CdnDownload
  const store = yield* InboundMediaStore
  const saveFile = (data: Uint8Array, fileName: string, maxBytes: number) =>
    Effect.gen(function*() {
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "file", media: { data }, fileName })
      const message = yield* Schema.decodeUnknown(WeixinMessage)(Either.getOrThrow(parseLossless(injected.json)))
      const item = message.item_list?.[0] as InboundMediaItem
      const request = Either.getOrThrow(inboundDownloadRequest(item, { cdnBaseUrl: emulator.cdnBaseUrl, maxBytes: 10 * 1024 * 1024 }))
      return yield* Effect.exit(Effect.scoped(Effect.flatMap(cdn.open(request), (opened) =>
        store.save({ chunks: opened.plaintext, fileName, maxBytes }))))
    }).pipe(Effect.orDie)
  return { emulator, saveFile, store }
})

/** the CDN client's connections live as long as the test */
const inWorld = <A, E>(effect: Effect.Effect<A, E, CdnDownload | InboundMediaStore | Scope.Scope>) =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(CdnDownload.Default),
    Effect.provide(HostMediaStore.layer),
    Effect.provideService(CdnTimeouts, { response: Duration.millis(500), idle: Duration.millis(500) })
  )

const failureTag = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): string =>
  Exit.isFailure(exit) ? Option.match(Cause.failureOption(exit.cause), { onNone: () => "defect", onSome: (e) => e._tag }) : "success"

describe("HostMediaStore over the host's saveMediaStream", () => {
  it.live("stores a downloaded file whole, named after the sender's file, with the host's MIME type", () =>
    Effect.gen(function*() {
      const t = yield* setup
      // a PDF's own first bytes: bare random bytes now and then look like another format to the host's
      // content sniffing (one CI run got video/mp2t: 0x47 at bytes 0 and 188 reads as an MPEG-2 stream)
      const header = Buffer.from("%PDF-1.7\n", "latin1")
      const data = Buffer.concat([header, randomBytes(300_000 - header.length)])
      const exit = yield* t.saveFile(data, "quarterly.pdf", 1024 * 1024)
      if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
      expect(exit.value).toMatchObject({ size: data.length, contentType: "application/pdf" })
      expect(path.dirname(exit.value.path)).toBe(inboundDir())
      expect(path.basename(exit.value.path)).toMatch(/^quarterly---.+\.pdf$/)
      expect(fs.readFileSync(exit.value.path).equals(data)).toBe(true)
      expect(yield* t.store.exists(exit.value.path)).toBe(true)
      expect(yield* t.store.exists(path.join(inboundDir(), "gone.pdf"))).toBe(false)
    }).pipe(inWorld))

  it.live("a file of several megabytes, in chunks that straddle the store's pieces, is stored byte for byte", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const data = randomBytes(5 * 1024 * 1024 + 12_345)
      const exit = yield* t.saveFile(data, "video-notes.bin", 8 * 1024 * 1024)
      if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
      expect(exit.value.size).toBe(data.length)
      expect(fs.readFileSync(exit.value.path).equals(data)).toBe(true)
      // straight into the store: odd chunk sizes, a chunk of several pieces (a whole voice note), empty chunks
      const sizes = [1, 70_000, 0, 3 * 1024 * 1024 + 7, 256 * 1024 - 70_001, 1024 * 1024, 333_333, 0, 65_536, 200_000, 100_000]
      const direct = randomBytes(sizes.reduce((a, b) => a + b, 0))
      const chunks: Array<Uint8Array> = []
      for (let offset = 0, i = 0; i < sizes.length; offset += sizes[i] ?? 0, i++) chunks.push(direct.subarray(offset, offset + (sizes[i] ?? 0)))
      const saved = yield* t.store.save({ chunks: Stream.fromIterable(chunks), fileName: "direct.bin", maxBytes: 16 * 1024 * 1024 })
      expect(saved.size).toBe(direct.length)
      expect(fs.readFileSync(saved.path).equals(direct)).toBe(true)
    }).pipe(inWorld))

  it.live("a body cut short fails as truncated and a file over the cap as too large, and neither leaves a file", () =>
    Effect.gen(function*() {
      const t = yield* setup
      const before = filesInStore()
      yield* t.emulator.setFault({ endpoint: "cdn_download", fault: { kind: "cdn_body", defect: "truncated" }, times: 1 })
      expect(failureTag(yield* t.saveFile(randomBytes(200_000), "cut.bin", 1024 * 1024))).toBe("CdnTruncated")
      const over = yield* t.saveFile(randomBytes(200_000), "big.bin", 100_000)
      expect(Exit.isFailure(over) && Option.getOrUndefined(Cause.failureOption(over.cause))).toMatchObject({
        _tag: "InboundMediaStoreError",
        problem: "too_large"
      })
      expect(filesInStore()).toEqual(before)
      expect(fs.readdirSync(path.join(stateDir, "media"), { recursive: true }).filter((f) => String(f).startsWith("."))).toEqual([])
    }).pipe(inWorld))
})
