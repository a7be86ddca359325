/**
 * The CDN upload client against the emulator over real HTTP on 127.0.0.1: getuploadurl through the real
 * ILinkApi, the streamed ciphertext checked by the emulator's CDN (sizes, MD5, padded size, decryption),
 * the resulting item accepted by sendmessage, every upload fault, and the bad sources. Zero violations.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { Cause, Duration, Effect, Either, Exit, Option, Redacted, Stream } from "effect"
import { type Emulator, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { uploadMediaTypeOf } from "../../../src/domain/MediaRouting.js"
import { CdnUpload, type UploadedMedia } from "../../../src/ilink/CdnUpload.js"
import { UploadSource } from "../../../src/ilink/CdnUploadSource.js"
import { CdnSourceError } from "../../../src/ilink/CdnError.js"
import { CdnTimeouts } from "../../../src/ilink/CdnTimeouts.js"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { ILinkTimeouts } from "../../../src/ilink/ILinkSettings.js"

interface World {
  readonly emulator: Emulator
  readonly botId: string
  readonly userId: string
  readonly upload: (source: UploadSource, mime?: string) => Effect.Effect<Exit.Exit<UploadedMedia, unknown>>
  /** sends one item to the user, the way the Outbox will, with a fresh context token */
  readonly send: (item: Record<string, unknown>) => Effect.Effect<unknown, unknown>
}

const world = (options: { readonly uploadUrlMode?: "param" | "full_url" | "both" } = {}) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 100, ...options })
    const bot = yield* emulator.addBot()
    const api = yield* ILinkApi
    const cdn = yield* CdnUpload
    const conn = Either.getOrThrow(ILinkConnection.make({ baseUrl: emulator.baseUrl, token: Redacted.make(bot.token), accountId: bot.botId }))
    const upload: World["upload"] = (source, mime = "application/pdf") =>
      Effect.exit(cdn.upload({ conn, toUserId: bot.ownerUserId, mediaType: uploadMediaTypeOf(mime), source, cdnBaseUrl: emulator.cdnBaseUrl }))
    const send: World["send"] = (item) =>
      Effect.gen(function*() {
        const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "send me the file" })
        return yield* api.sendMessage(conn, {
          msg: {
            from_user_id: "",
            to_user_id: bot.ownerUserId,
            client_id: `openclaw-weixin:1-${randomBytes(4).toString("hex")}`,
            message_type: 2,
            message_state: 2,
            item_list: [item as never],
            ...(injected.contextToken === undefined ? {} : { context_token: injected.contextToken })
          }
        })
      })
    return { emulator, botId: bot.botId, userId: bot.ownerUserId, upload, send } satisfies World
  })

const run = <A, E>(body: (w: World) => Effect.Effect<A, E, FileSystem.FileSystem>, options: { readonly uploadUrlMode?: "param" | "full_url" | "both" } = {}) =>
  Effect.gen(function*() {
    const w = yield* world(options)
    const result = yield* body(w)
    expect(yield* w.emulator.violations()).toEqual([])
    return result
  }).pipe(
    Effect.scoped,
    Effect.provideService(CdnTimeouts, { response: Duration.millis(500), idle: Duration.millis(500) }),
    Effect.provideService(ILinkTimeouts, {
      getUpdates: Duration.seconds(2),
      send: Duration.seconds(2),
      control: Duration.seconds(2),
      qrStatus: Duration.seconds(2),
      qrCode: Duration.seconds(2)
    }),
    Effect.provide(CdnUpload.Default),
    Effect.provide(ILinkApi.Default),
    Effect.provide(NodeFileSystem.layer)
  )

const valueOf = <A>(exit: Exit.Exit<A, unknown>): A => {
  if (Exit.isFailure(exit)) throw new Error(`upload failed: ${Cause.pretty(exit.cause)}`)
  return exit.value
}

const failureOf = <A>(exit: Exit.Exit<A, unknown>): { readonly _tag: string } => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value as { readonly _tag: string }
}

describe("CdnUpload × emulator (PROTOCOL §1.8.5, §1.8.9, §5.1, §6.2)", () => {
  it.live("a picture, a video and a document: the CDN decrypts what was announced, and sendmessage accepts the items", () =>
    run((w) =>
      Effect.gen(function*() {
        const cases = [
          { mime: "image/png", type: 2, field: "image_item" },
          { mime: "video/mp4", type: 5, field: "video_item" },
          { mime: "application/pdf", type: 4, field: "file_item" }
        ] as const
        for (const { mime, type, field } of cases) {
          const data = randomBytes(3000)
          const uploaded = valueOf(yield* w.upload(UploadSource.bytes(data), mime))
          const stored = (yield* w.emulator.cdn.uploads(w.botId)).find((u) => u.filekey === uploaded.filekey)
          expect(Buffer.from(stored?.plaintext ?? []).equals(data)).toBe(true)
          expect(stored?.downloadParam).toBe(uploaded.media.encrypt_query_param)
          const payload = type === 2
            ? { media: uploaded.media, mid_size: uploaded.ciphertextBytes }
            : type === 5
            ? { media: uploaded.media, video_size: uploaded.ciphertextBytes }
            : { media: uploaded.media, file_name: "report.pdf", len: String(uploaded.plaintextBytes) }
          const answer = yield* w.send({ type, [field]: payload })
          expect(answer).toMatchObject({ ret: 0 })
        }
        const announced = (yield* w.emulator.requests("getuploadurl")).map((r) => JSON.parse(r.body).media_type)
        expect(announced).toEqual([1, 2, 3])
      })
    ))

  it.live("audio goes as a FILE (media_type 3), never as a voice", () =>
    run((w) =>
      Effect.gen(function*() {
        valueOf(yield* w.upload(UploadSource.bytes(randomBytes(100)), "audio/mpeg"))
        const [request] = yield* w.emulator.requests("getuploadurl")
        expect(JSON.parse(request?.body ?? "{}").media_type).toBe(3)
      })
    ))

  it.live("uses the cdnBaseUrl fallback when getuploadurl gives only upload_param", () =>
    run((w) =>
      Effect.gen(function*() {
        const data = randomBytes(50)
        valueOf(yield* w.upload(UploadSource.bytes(data)))
        const [post] = yield* w.emulator.requests("cdn_upload")
        expect(post?.path).toBe("/c2c/upload")
        expect(Object.keys(post?.query ?? {}).sort()).toEqual(["encrypted_query_param", "filekey"])
      }), { uploadUrlMode: "param" }))

  it.live("streams a 3 MB file from disk with an exact content-length", () =>
    run((w) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped()
        const path = `${dir}/movie.mp4`
        const data = randomBytes(3 * 1024 * 1024 + 5)
        yield* fs.writeFile(path, data)
        const uploaded = valueOf(yield* w.upload(yield* UploadSource.file(path), "video/mp4"))
        expect(uploaded.ciphertextBytes).toBe(3 * 1024 * 1024 + 16)
        const [post] = yield* w.emulator.requests("cdn_upload")
        expect(post?.headers["content-length"]).toBe(String(uploaded.ciphertextBytes))
        expect(post?.headers["transfer-encoding"]).toBeUndefined()
        const [stored] = yield* w.emulator.cdn.uploads(w.botId)
        expect(Buffer.from(stored?.plaintext ?? []).equals(data)).toBe(true)
      }).pipe(Effect.scoped)
    ))

  it.live("bad sources: a missing file, a directory and a 0-byte file end in typed errors before any upload", () =>
    run((w) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const dir = yield* fs.makeTempDirectoryScoped()
        const missing = yield* Effect.either(UploadSource.file(`${dir}/nothing.pdf`))
        expect(Either.isLeft(missing) && missing.left._tag).toBe("CdnSourceError")
        const directory = yield* Effect.either(UploadSource.file(dir))
        expect(Either.isLeft(directory) && directory.left.problem).toBe("not a regular file (Directory)")
        yield* fs.writeFile(`${dir}/empty.pdf`, new Uint8Array(0))
        expect(failureOf(yield* w.upload(yield* UploadSource.file(`${dir}/empty.pdf`)))._tag).toBe("CdnEmptyMedia")
        expect(yield* w.emulator.requests("getuploadurl")).toEqual([])
      }).pipe(Effect.scoped)
    ))
})

describe("CdnUpload × emulator: a source that fails while its body is being sent", () => {
  it.live("fails as the source's error, at once, and the CDN stores nothing", () =>
    run((w) =>
      Effect.gen(function*() {
        const data = randomBytes(3 * 1024 * 1024)
        let pass = 0
        const chunk = 256 * 1024
        // the MD5 pass reads it whole; the send pass breaks after 1 MiB
        const breaking: UploadSource = {
          size: data.length,
          read: Stream.suspend(() => {
            pass++
            const pieces = Stream.fromIterable(Array.from({ length: data.length / chunk }, (_, i) => data.subarray(i * chunk, (i + 1) * chunk)))
            return pass === 1
              ? pieces
              : Stream.concat(Stream.take(pieces, 4), Stream.fail(new CdnSourceError({ problem: "cannot read the file: EIO" })))
          })
        }
        const exit = yield* w.upload(breaking)
        expect(failureOf(exit)).toMatchObject({ _tag: "CdnSourceError", problem: "cannot read the file: EIO" })
        expect((yield* w.emulator.cdn.uploads(w.botId)).filter((u) => u.confirmed)).toEqual([])
      }).pipe(Effect.scoped)
    ))
})

describe("CdnUpload × emulator: upload faults", () => {
  it.live("403 fails at once with the server's message", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "http", status: 403, errorMessageHeader: "upload forbidden" } })
        const error = failureOf(yield* w.upload(UploadSource.bytes(randomBytes(10))))
        expect(error).toMatchObject({ _tag: "CdnHttpError", status: 403, serverMessage: "upload forbidden" })
        expect((yield* w.emulator.requests("cdn_upload")).length).toBe(1)
        yield* w.emulator.clearFaults()
      })
    ))

  it.live("500 then 200: the retry succeeds and the CDN holds the file", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "http", status: 500 }, times: 1 })
        const data = randomBytes(77)
        const uploaded = valueOf(yield* w.upload(UploadSource.bytes(data)))
        expect((yield* w.emulator.requests("cdn_upload")).length).toBe(2)
        const [stored] = yield* w.emulator.cdn.uploads(w.botId)
        expect([stored?.downloadParam, Buffer.from(stored?.plaintext ?? []).equals(data)]).toEqual([uploaded.media.encrypt_query_param, true])
      })
    ))

  it.live("200 without x-encrypted-param is retried; the retry's param is the one returned", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "missing_encrypted_param" }, times: 1 })
        const uploaded = valueOf(yield* w.upload(UploadSource.bytes(randomBytes(30))))
        const uploads = yield* w.emulator.cdn.uploads(w.botId)
        expect(uploads.map((u) => u.confirmed)).toEqual([false, true])
        expect(uploads[1]?.downloadParam).toBe(uploaded.media.encrypt_query_param)
      })
    ))

  it.live("200 without x-encrypted-param every time fails after three attempts", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "missing_encrypted_param" } })
        const error = failureOf(yield* w.upload(UploadSource.bytes(randomBytes(30))))
        expect(error).toMatchObject({ _tag: "CdnUploadUnconfirmed", attempts: 3 })
        expect((yield* w.emulator.requests("cdn_upload")).length).toBe(3)
        yield* w.emulator.clearFaults()
      })
    ), { timeout: 15_000 })

  it.live("a CDN that hangs fails with an idle timeout", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "hang" }, times: 1 })
        const error = failureOf(yield* w.upload(UploadSource.bytes(randomBytes(30))))
        expect(error).toMatchObject({ _tag: "CdnTimeout", phase: "idle", timeoutMs: 500 })
      })
    ))

  it.live("getuploadurl refusing (ret 2) or answering no URL ends in a typed error, with nothing sent to the CDN", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.setFault({ endpoint: "getuploadurl", fault: { kind: "ret", ret: 2, errmsg: "refused" }, times: 1 })
        expect(failureOf(yield* w.upload(UploadSource.bytes(randomBytes(30))))).toMatchObject({ _tag: "ILinkApiError", ret: 2 })
        yield* w.emulator.setFault({ endpoint: "getuploadurl", fault: { kind: "ret", ret: 0 }, times: 1 })
        expect(failureOf(yield* w.upload(UploadSource.bytes(randomBytes(30))))._tag).toBe("CdnNoLocation")
        expect(yield* w.emulator.requests("cdn_upload")).toEqual([])
      })
    ))
})
