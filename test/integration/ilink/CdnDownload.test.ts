/**
 * The CDN download client against the emulator over real HTTP on 127.0.0.1: every media kind at both
 * URL forms, every download fault the emulator can plan, and the bad inputs of inbound media. Each ends
 * in the plaintext or in its typed error, and the emulator records no violation.
 */
import { describe, expect, it } from "@effect/vitest"
import { createServer } from "node:net"
import { randomBytes } from "node:crypto"
import { Cause, Duration, Effect, Either, Exit, Option, Schema } from "effect"
import { type Emulator, type Fault, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import type { InboundMediaOptions } from "../../../sandbox/emulator/Cdn.js"
import { CdnDownload, type CdnDownloadRequest } from "../../../src/ilink/CdnDownload.js"
import type { CdnError } from "../../../src/ilink/CdnError.js"
import { inboundDownloadRequest, type InboundMediaItem } from "../../../src/ilink/CdnInboundItem.js"
import { CdnTimeouts } from "../../../src/ilink/CdnTimeouts.js"
import { parseLossless } from "../../../src/wire/LosslessJson.js"
import { WeixinMessage } from "../../../src/wire/Message.js"

const MAX = 1024 * 1024

type Kind = "image" | "voice" | "file" | "video"

interface World {
  readonly emulator: Emulator
  readonly botId: string
  /** injects a message with one media item and returns that item, decoded as the client decodes it */
  readonly inject: (kind: Kind, data: Uint8Array, options?: InboundMediaOptions & { readonly aeskeyField?: boolean }) => Effect.Effect<InboundMediaItem>
  readonly request: (item: InboundMediaItem, maxBytes?: number) => CdnDownloadRequest
  readonly download: (request: CdnDownloadRequest) => Effect.Effect<Exit.Exit<Uint8Array, CdnError>>
}

const world = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 100 })
  const bot = yield* emulator.addBot()
  const client = yield* CdnDownload
  const inject: World["inject"] = (kind, data, options = {}) =>
    Effect.gen(function*() {
      const { aeskeyField, ...media } = options
      const base = { botId: bot.botId, media: { data, ...media } }
      const injected = yield* emulator.injectInbound(
        kind === "file"
          ? { ...base, kind, fileName: "report.pdf" }
          : kind === "image"
          ? { ...base, kind, ...(aeskeyField === undefined ? {} : { aeskeyField }) }
          : { ...base, kind }
      )
      const message = yield* Schema.decodeUnknown(WeixinMessage)(Either.getOrThrow(parseLossless(injected.json)))
      return message.item_list?.[0] as InboundMediaItem
    }).pipe(Effect.orDie)
  const request = (item: InboundMediaItem, maxBytes = MAX) =>
    Either.getOrThrow(inboundDownloadRequest(item, { cdnBaseUrl: emulator.cdnBaseUrl, maxBytes }))
  const download = (req: CdnDownloadRequest) => Effect.exit(client.bytes(req))
  return { emulator, botId: bot.botId, inject, request, download } satisfies World
})

const run = <A, E>(body: (w: World) => Effect.Effect<A, E>, expectViolations: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const w = yield* world
    const result = yield* body(w)
    expect((yield* w.emulator.violations()).map((v) => `${v.endpoint}:${v.rule}`)).toEqual(expectViolations)
    return result
  }).pipe(
    Effect.scoped,
    Effect.provideService(CdnTimeouts, { response: Duration.millis(500), idle: Duration.millis(500) }),
    Effect.provide(CdnDownload.Default)
  )

const failureOf = <A>(exit: Exit.Exit<A, CdnError>): CdnError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got the media")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

const same = (exit: Exit.Exit<Uint8Array, CdnError>, expected: Uint8Array) => {
  if (Exit.isFailure(exit)) throw new Error(`download failed: ${Cause.pretty(exit.cause)}`)
  expect(Buffer.from(exit.value).equals(Buffer.from(expected))).toBe(true)
}

describe("CdnDownload × emulator: every kind, both URL forms (PROTOCOL §1.2, §6.1, §6.3)", () => {
  it.live("image, voice, file and video decrypt to the bytes the user sent, via full_url and via the param", () =>
    run((w) =>
      Effect.gen(function*() {
        for (const kind of ["image", "voice", "file", "video"] as const) {
          for (const location of ["full_url", "param"] as const) {
            const data = randomBytes(5000 + kind.length)
            const item = yield* w.inject(kind, data, { location })
            same(yield* w.download(w.request(item)), data)
          }
        }
        const forms = (yield* w.emulator.cdn.downloads()).map((d) => d.form)
        expect(forms).toEqual(["full_url", "param", "full_url", "param", "full_url", "param", "full_url", "param"])
      })
    ))

  it.live("keys as base64 of 16 raw bytes, as base64 of hex, and as the image's hex aeskey", () =>
    run((w) =>
      Effect.gen(function*() {
        const data = randomBytes(777)
        same(yield* w.download(w.request(yield* w.inject("file", data, { keyEncoding: "raw" }))), data)
        same(yield* w.download(w.request(yield* w.inject("file", data, { keyEncoding: "hex" }))), data)
        // the image's aeskey wins over a media.aes_key that would not decrypt it
        const image = yield* w.inject("image", data, { aeskeyField: true })
        const withBadMediaKey: InboundMediaItem = image.type === 2
          ? { ...image, image_item: { ...image.image_item, media: { ...image.image_item.media, aes_key: Buffer.alloc(16).toString("base64") } } }
          : image
        same(yield* w.download(w.request(withBadMediaKey)), data)
      })
    ))

  it.live("a key-less image arrives as it is", () =>
    run((w) =>
      Effect.gen(function*() {
        const picture = randomBytes(2048)
        const item = yield* w.inject("image", picture, { plain: true })
        expect(Option.isNone(w.request(item).key)).toBe(true)
        same(yield* w.download(w.request(item)), picture)
      })
    ))

  it.live("a 1 MB file streams through intact", () =>
    run((w) =>
      Effect.gen(function*() {
        const data = randomBytes(MAX - 100)
        same(yield* w.download(w.request(yield* w.inject("file", data))), data)
      })
    ))
})

describe("CdnDownload × emulator: every download fault", () => {
  const withFault = (fault: Fault, kind: Kind = "file", size = 4000) => (w: World) =>
    Effect.gen(function*() {
      const item = yield* w.inject(kind, randomBytes(size))
      yield* w.emulator.setFault({ endpoint: "cdn_download", fault, times: 1 })
      return failureOf(yield* w.download(w.request(item)))
    })

  it.live("HTTP 500 and 404 fail with the status", () =>
    run((w) =>
      Effect.gen(function*() {
        expect(yield* withFault({ kind: "http", status: 500 })(w)).toMatchObject({ _tag: "CdnHttpError", status: 500 })
        expect(yield* withFault({ kind: "http", status: 404, errorMessageHeader: "gone" })(w)).toMatchObject({
          _tag: "CdnHttpError",
          status: 404,
          serverMessage: "gone"
        })
      })
    ))

  it.live("a truncated body fails as truncated", () =>
    run((w) =>
      Effect.gen(function*() {
        expect(yield* withFault({ kind: "cdn_body", defect: "truncated" })(w)).toMatchObject({ _tag: "CdnTruncated", expectedBytes: 4000 + 16 - (4000 % 16) })
      })
    ))

  it.live("a body that stalls fails with an idle timeout; a CDN that never answers with a response timeout", () =>
    run((w) =>
      Effect.gen(function*() {
        expect(yield* withFault({ kind: "cdn_body", defect: "stall" })(w)).toMatchObject({ _tag: "CdnTimeout", phase: "idle", timeoutMs: 500 })
        expect(yield* withFault({ kind: "hang" })(w)).toMatchObject({ _tag: "CdnTimeout", phase: "response", timeoutMs: 500 })
      })
    ))

  it.live("ciphertext not a multiple of 16, wrong padding and a wrong key fail to decrypt", () =>
    run((w) =>
      Effect.gen(function*() {
        expect(yield* withFault({ kind: "cdn_body", defect: "unaligned" })(w)).toMatchObject({ _tag: "EcbDecryptError", problem: "not_block_aligned" })
        expect(yield* withFault({ kind: "cdn_body", defect: "bad_padding" })(w)).toMatchObject({ _tag: "EcbDecryptError", problem: "bad_padding" })
        expect(yield* withFault({ kind: "cdn_body", defect: "wrong_key" })(w)).toMatchObject({ _tag: "EcbDecryptError", problem: "bad_padding" })
      })
    ))

  it.live("a key that decrypts to garbage is caught by the file's md5, and by a video's", () =>
    run((w) =>
      Effect.gen(function*() {
        expect(yield* withFault({ kind: "cdn_body", defect: "wrong_content" })(w)).toMatchObject({ _tag: "CdnIntegrityError", check: "md5" })
        expect(yield* withFault({ kind: "cdn_body", defect: "wrong_content" }, "video")(w)).toMatchObject({ _tag: "CdnIntegrityError", check: "md5" })
      })
    ))

  it.live("a file whose advertised key is not its key (server-side dedupe) ends in a typed error", () =>
    run((w) =>
      Effect.gen(function*() {
        const item = yield* w.inject("file", randomBytes(3000), { wrongKey: true })
        const error = failureOf(yield* w.download(w.request(item)))
        expect(["EcbDecryptError", "CdnIntegrityError"]).toContain(error._tag)
      })
    ))

  it.live("an oversize file fails on its declared length, or as the body passes the cap when chunked", () =>
    run((w) =>
      Effect.gen(function*() {
        const declared = yield* withFault({ kind: "oversize", bytes: MAX + 4096 })(w)
        expect(declared).toMatchObject({ _tag: "CdnTooLarge", source: "declared_length", sizeBytes: MAX + 4096, limitBytes: MAX })
        const chunked = yield* withFault({ kind: "oversize", bytes: MAX + 4096, chunked: true })(w)
        expect(chunked).toMatchObject({ _tag: "CdnTooLarge", source: "body", limitBytes: MAX })
      })
    ))

  it.live("a connection reset before the answer is a transport error", () =>
    run((w) =>
      Effect.gen(function*() {
        expect(yield* withFault({ kind: "reset" })(w)).toMatchObject({ _tag: "CdnTransportError", kind: "reset" })
      })
    ))

  it.live("after every fault above, the next download of the same item succeeds", () =>
    run((w) =>
      Effect.gen(function*() {
        const data = randomBytes(999)
        const item = yield* w.inject("video", data)
        yield* w.emulator.setFault({ endpoint: "cdn_download", fault: { kind: "cdn_body", defect: "truncated" }, times: 1 })
        expect(Exit.isFailure(yield* w.download(w.request(item)))).toBe(true)
        same(yield* w.download(w.request(item)), data)
      })
    ))
})

describe("CdnDownload × emulator: bad inputs of inbound media", () => {
  it.live("a full_url pointing elsewhere is refused without a request: another name for loopback, another loopback address", () =>
    run((w) =>
      Effect.gen(function*() {
        const item = yield* w.inject("file", randomBytes(100))
        const base = w.request(item)
        const port = new URL(w.emulator.cdnBaseUrl).port
        for (const host of [`localhost:${port}`, `127.0.0.2:${port}`, "169.254.169.254"]) {
          const fullUrl = `http://${host}/c2c/download?encrypted_query_param=${base.media.encrypt_query_param}`
          const error = failureOf(yield* w.download({ ...base, media: { ...base.media, full_url: fullUrl } }))
          expect([host, error._tag]).toEqual([host, "CdnUrlRefused"])
          expect(error.message).not.toContain(base.media.encrypt_query_param ?? "?")
        }
        expect(yield* w.emulator.requests("cdn_download")).toEqual([])
      })
    ))

  it.live("a 2 GB len fails before any request; a 0-byte file fails as empty", () =>
    run((w) =>
      Effect.gen(function*() {
        const item = yield* w.inject("file", randomBytes(100))
        const huge = item.type === 4 ? { ...item, file_item: { ...item.file_item, len: "2147483648" } } : item
        expect(failureOf(yield* w.download(w.request(huge)))).toMatchObject({ _tag: "CdnTooLarge", source: "item_length", sizeBytes: 2147483648 })
        expect(yield* w.emulator.requests("cdn_download")).toEqual([])
        const empty = yield* w.inject("file", new Uint8Array(0))
        expect(failureOf(yield* w.download(w.request(empty)))._tag).toBe("CdnEmptyMedia")
        const emptyVoice = yield* w.inject("voice", new Uint8Array(0))
        expect(failureOf(yield* w.download(w.request(emptyVoice)))._tag).toBe("CdnEmptyMedia")
      })
    ))

  it.live("malformed aes_key values are typed errors before any request", () =>
    run((w) =>
      Effect.gen(function*() {
        const item = yield* w.inject("file", randomBytes(100))
        if (item.type !== 4) throw new Error("expected a file item")
        for (const aesKey of [Buffer.alloc(20).toString("base64"), "***not base64***", Buffer.from("z".repeat(32)).toString("base64")]) {
          const bad = { ...item, file_item: { ...item.file_item, media: { ...item.file_item.media, aes_key: aesKey } } }
          const parsed = inboundDownloadRequest(bad, { cdnBaseUrl: w.emulator.cdnBaseUrl, maxBytes: MAX })
          expect(Either.isLeft(parsed) && parsed.left._tag).toBe("AesKeyError")
        }
      })
    ))

  it.live("a CDN that refuses connections is a transport error", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const server = createServer()
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as { port: number }
            server.close(() => resolve(port))
          })
        })
      )
      const client = yield* CdnDownload
      const exit = yield* Effect.exit(client.bytes({
        media: { encrypt_query_param: "x" },
        key: Option.none(),
        cdnBaseUrl: `http://127.0.0.1:${port}/c2c`,
        maxBytes: MAX
      }))
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnTransportError", kind: "refused" })
    }).pipe(Effect.provide(CdnDownload.Default)))
})
