import { describe, expect, it } from "@effect/vitest"
import { createDecipheriv, createHash, randomBytes } from "node:crypto"
import { Cause, Effect, Either, Exit, Fiber, Option, Stream, TestClock } from "effect"
import { paddedSize } from "../../../src/domain/AesKey.js"
import {
  CdnEmptyMedia,
  CdnHttpError,
  CdnNoLocation,
  CdnSourceError,
  CdnTimeout,
  CdnUploadUnconfirmed
} from "../../../src/ilink/CdnError.js"
import { CdnUpload, type CdnUploadRequest } from "../../../src/ilink/CdnUpload.js"
import { UploadSource } from "../../../src/ilink/CdnUploadSource.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import type { GetUploadUrlResponse } from "../../../src/wire/Api.js"
import { ILinkApiError } from "../../../src/wire/ILinkError.js"
import { type CdnAnswer, type CdnRequest, exitExactlyAt, fakeCdn, settle, uploadUrlApi } from "../../support/CdnTestkit.js"

const conn = Either.getOrThrow(ILinkConnection.make({ baseUrl: "https://ilink.example.test", accountId: "acc-1" }))
const cdnBaseUrl = "https://novac2c.cdn.weixin.qq.com/c2c"
const fullUrl = `${cdnBaseUrl}/upload?encrypted_query_param=UP&filekey=K`
const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex")

const request = (source: UploadSource, overrides: Partial<CdnUploadRequest> = {}): CdnUploadRequest => ({
  conn,
  toUserId: "o9cq8abc@im.wechat",
  mediaType: 3,
  source,
  cdnBaseUrl,
  ...overrides
})

const accepted = (param = "download-param-1"): CdnAnswer => ({ status: 200, headers: { "x-encrypted-param": param } })

/** A fake iLink answering getuploadurl and a fake CDN answering each POST in turn. */
const world = (
  cdnAnswer: (request: CdnRequest, index: number) => CdnAnswer,
  urlAnswer: GetUploadUrlResponse | Effect.Effect<GetUploadUrlResponse, ILinkApiError> = { upload_full_url: fullUrl }
) => {
  const cdn = fakeCdn(cdnAnswer)
  const api = uploadUrlApi(() => (Effect.isEffect(urlAnswer) ? urlAnswer : Effect.succeed(urlAnswer)))
  const provide = <A, E>(effect: Effect.Effect<A, E, CdnUpload>) =>
    effect.pipe(Effect.provide(CdnUpload.DefaultWithoutDependencies), Effect.provide(cdn.layer), Effect.provide(api.layer))
  const upload = (req: CdnUploadRequest) => provide(Effect.flatMap(CdnUpload, (client) => client.upload(req)))
  return { cdn, api, upload, provide }
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

const decrypt = (ciphertext: Uint8Array, keyHex: string) => {
  const decipher = createDecipheriv("aes-128-ecb", Buffer.from(keyHex, "hex"), null)
  return Buffer.concat([decipher.update(ciphertext), decipher.final()])
}

/** Lets forked work run between virtual-time steps. */

describe("CdnUpload: the request (PROTOCOL §1.8.5, §1.8.9, §6.2)", () => {
  it.effect("announces sizes, MD5 and keys, POSTs the ciphertext with an exact content-length, returns the item's media", () =>
    Effect.gen(function*() {
      const plaintext = randomBytes(1000)
      const w = world(() => accepted("eqp-from-cdn"))
      const uploaded = yield* w.upload(request(UploadSource.bytes(plaintext), { mediaType: 1 }))
      const [announced] = w.api.calls
      expect(announced).toMatchObject({
        media_type: 1,
        to_user_id: "o9cq8abc@im.wechat",
        rawsize: 1000,
        rawfilemd5: md5(plaintext),
        filesize: 1008,
        no_need_thumb: true
      })
      expect(announced?.filekey).toMatch(/^[0-9a-f]{32}$/)
      expect(announced?.aeskey).toMatch(/^[0-9a-f]{32}$/)
      expect(Object.keys(announced ?? {}).sort()).toEqual(
        ["aeskey", "filekey", "filesize", "media_type", "no_need_thumb", "rawfilemd5", "rawsize", "to_user_id"]
      )
      const [post] = w.cdn.requests
      expect([post?.method, post?.url]).toEqual(["POST", fullUrl])
      expect(post?.headers).toEqual({ "content-type": "application/octet-stream", "content-length": "1008" })
      expect(post?.body?.length).toBe(1008)
      expect(decrypt(post?.body ?? Buffer.alloc(0), announced?.aeskey ?? "")).toEqual(plaintext)
      expect(uploaded).toEqual({
        media: {
          encrypt_query_param: "eqp-from-cdn",
          aes_key: Buffer.from(announced?.aeskey ?? "", "ascii").toString("base64"),
          encrypt_type: 1
        },
        plaintextBytes: 1000,
        ciphertextBytes: 1008,
        md5: md5(plaintext),
        filekey: announced?.filekey
      })
    }))

  it.effect("uses a fresh file key and AES key for every upload", () =>
    Effect.gen(function*() {
      const w = world(() => accepted())
      yield* w.upload(request(UploadSource.bytes(Buffer.from("one"))))
      yield* w.upload(request(UploadSource.bytes(Buffer.from("one"))))
      const [first, second] = w.api.calls
      expect(first?.filekey).not.toBe(second?.filekey)
      expect(first?.aeskey).not.toBe(second?.aeskey)
    }))

  it.effect("round-trips sizes around the block boundaries and up to 5000 bytes", () =>
    Effect.gen(function*() {
      for (const size of [1, 15, 16, 17, 31, 32, 33, 4999, 5000]) {
        const plaintext = randomBytes(size)
        const w = world(() => accepted())
        const uploaded = yield* w.upload(request(UploadSource.bytes(plaintext)))
        const body = w.cdn.requests[0]?.body ?? Buffer.alloc(0)
        expect([size, body.length, uploaded.ciphertextBytes, w.api.calls[0]?.filesize]).toEqual([size, paddedSize(size), paddedSize(size), paddedSize(size)])
        expect(decrypt(body, w.api.calls[0]?.aeskey ?? "")).toEqual(plaintext)
      }
    }))

  it.effect("streams a large source in slices rather than one buffer", () =>
    Effect.gen(function*() {
      const plaintext = randomBytes(200_000)
      const w = world(() => accepted())
      yield* w.upload(request(UploadSource.bytes(plaintext)))
      // Buffer.equals: a deep toEqual over 200 000 elements is slow
      expect(decrypt(w.cdn.requests[0]?.body ?? Buffer.alloc(0), w.api.calls[0]?.aeskey ?? "").equals(plaintext)).toBe(true)
      const slices = yield* Stream.runCollect(UploadSource.bytes(plaintext).read)
      expect([...slices].map((s) => s.length)).toEqual([65536, 65536, 65536, 3392])
    }))

  it.effect("falls back to <cdnBaseUrl>/upload?encrypted_query_param=…&filekey=… when only upload_param is given", () =>
    Effect.gen(function*() {
      const w = world(() => accepted(), { upload_param: "p+/=", upload_full_url: "  " })
      yield* w.upload(request(UploadSource.bytes(Buffer.from("x")), { cdnBaseUrl: `${cdnBaseUrl}/` }))
      const filekey = w.api.calls[0]?.filekey ?? ""
      expect(w.cdn.requests[0]?.url).toBe(`${cdnBaseUrl}/upload?encrypted_query_param=p%2B%2F%3D&filekey=${filekey}`)
    }))

  it.effect("getuploadurl without any location fails before anything is sent", () =>
    Effect.gen(function*() {
      const w = world(() => accepted(), {})
      const exit = yield* Effect.exit(w.upload(request(UploadSource.bytes(Buffer.from("x")))))
      expect(failureOf(exit)).toBeInstanceOf(CdnNoLocation)
      expect(w.cdn.requests).toEqual([])
    }))

  it.effect("a getuploadurl refusal (ret 2) reaches the caller as the iLink error", () =>
    Effect.gen(function*() {
      const refusal = new ILinkApiError({ endpoint: "ilink/bot/getuploadurl", reachedServer: "yes", ret: 2, errmsg: "refused" })
      const w = world(() => accepted(), Effect.fail(refusal))
      const exit = yield* Effect.exit(w.upload(request(UploadSource.bytes(Buffer.from("x")))))
      expect(failureOf(exit)).toEqual(refusal)
      expect(w.cdn.requests).toEqual([])
    }))

  it.effect("refuses an upload_full_url on a private address", () =>
    Effect.gen(function*() {
      const w = world(() => accepted(), { upload_full_url: "http://192.168.1.10/upload?x=1" })
      const exit = yield* Effect.exit(w.upload(request(UploadSource.bytes(Buffer.from("x")))))
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnUrlRefused", operation: "upload", host: "http://192.168.1.10" })
      expect(w.cdn.requests).toEqual([])
    }))
})

describe("CdnUpload: bad sources", () => {
  it.effect("a 0-byte file is refused before getuploadurl", () =>
    Effect.gen(function*() {
      const w = world(() => accepted())
      const exit = yield* Effect.exit(w.upload(request(UploadSource.bytes(Buffer.alloc(0)))))
      expect(failureOf(exit)).toEqual(new CdnEmptyMedia({ operation: "upload" }))
      expect(w.api.calls).toEqual([])
    }))

  it.effect("a source that yields another size than it declared fails in the MD5 pass", () =>
    Effect.gen(function*() {
      const w = world(() => accepted())
      const lying: UploadSource = { size: 10, read: Stream.make(Buffer.alloc(7)) }
      const exit = yield* Effect.exit(w.upload(request(lying)))
      expect(failureOf(exit)).toEqual(new CdnSourceError({ problem: "the media changed while it was read (expected 10 bytes, read 7)" }))
      expect(w.api.calls).toEqual([])
    }))

  it.effect("a source that changes between the passes fails the upload without retrying it", () =>
    Effect.gen(function*() {
      let reads = 0
      const shrinking: UploadSource = {
        size: 64,
        read: Stream.suspend(() => Stream.make(Buffer.alloc(reads++ === 0 ? 64 : 40)))
      }
      const w = world(() => accepted())
      const exit = yield* Effect.exit(w.upload(request(shrinking)))
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnSourceError" })
      expect(reads).toBe(2)
    }))
})

describe("CdnUpload: answers and the retry policy (virtual time)", () => {
  it.effect("a 4xx fails at once with the server's x-error-message", () =>
    Effect.gen(function*() {
      const w = world(() => ({ status: 403, headers: { "x-error-message": "signature expired" }, body: Buffer.from("ignored") }))
      const exit = yield* Effect.exit(w.upload(request(UploadSource.bytes(Buffer.from("x")))))
      expect(failureOf(exit)).toEqual(new CdnHttpError({
        operation: "upload",
        host: "https://novac2c.cdn.weixin.qq.com",
        status: 403,
        serverMessage: "signature expired"
      }))
      expect(w.cdn.requests.length).toBe(1)
    }))

  it.effect("a 4xx without x-error-message carries the start of its body", () =>
    Effect.gen(function*() {
      const w = world(() => ({ status: 400, body: Buffer.from(` bad filekey ${"x".repeat(5000)}`) }))
      const exit = yield* Effect.exit(w.upload(request(UploadSource.bytes(Buffer.from("x")))))
      const error = failureOf(exit)
      expect(error).toMatchObject({ _tag: "CdnHttpError", status: 400 })
      expect((error as CdnHttpError).serverMessage?.startsWith("bad filekey x")).toBe(true)
      expect((error as CdnHttpError).serverMessage?.length).toBeLessThanOrEqual(300)
    }))

  it.effect("a 500 then a 200 succeeds on the second attempt, about a second later", () =>
    Effect.gen(function*() {
      const w = world((_, index) => (index === 0 ? { status: 500, headers: { "x-error-message": "busy" } } : accepted("second")))
      const fiber = yield* Effect.fork(w.upload(request(UploadSource.bytes(Buffer.from("hello")))))
      yield* settle
      expect(w.cdn.requests.length).toBe(1)
      yield* TestClock.adjust("799 millis")
      yield* settle
      expect(w.cdn.requests.length).toBe(1)
      yield* TestClock.adjust("401 millis")
      yield* settle
      const uploaded = yield* Fiber.join(fiber)
      expect(uploaded.media.encrypt_query_param).toBe("second")
      expect(w.cdn.requests.length).toBe(2)
      // both attempts sent the same ciphertext for the same announcement
      expect(w.cdn.requests[1]?.body).toEqual(w.cdn.requests[0]?.body)
      expect(w.api.calls.length).toBe(1)
    }))

  it.effect("5xx on every attempt fails after three attempts, spaced by the jittered backoff", () =>
    Effect.gen(function*() {
      const w = world(() => ({ status: 502 }))
      const fiber = yield* Effect.fork(Effect.exit(w.upload(request(UploadSource.bytes(Buffer.from("x"))))))
      for (let step = 0; step < 60; step++) {
        yield* settle
        yield* TestClock.adjust("100 millis")
      }
      const exit = yield* Fiber.join(fiber)
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnHttpError", status: 502 })
      const [first, second, third] = w.cdn.requests.map((r) => r.at)
      expect(w.cdn.requests.length).toBe(3)
      // 1 s then 2 s, each ±20 %; the 100 ms steps add at most one step of lateness
      expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(800)
      expect((second ?? 0) - (first ?? 0)).toBeLessThanOrEqual(1300)
      expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(1600)
      expect((third ?? 0) - (second ?? 0)).toBeLessThanOrEqual(2500)
      yield* TestClock.adjust("1 minute")
      expect(w.cdn.requests.length).toBe(3)
    }))

  it.effect("a 200 without x-encrypted-param is retried, and fails after three", () =>
    Effect.gen(function*() {
      const once = world((_, index) => (index === 0 ? { status: 200 } : accepted("after-missing")))
      const fiber = yield* Effect.fork(once.upload(request(UploadSource.bytes(Buffer.from("x")))))
      yield* settle
      yield* TestClock.adjust("1200 millis")
      expect((yield* Fiber.join(fiber)).media.encrypt_query_param).toBe("after-missing")

      const always = world(() => ({ status: 200, headers: { "x-encrypted-param": "" } }))
      const failing = yield* Effect.fork(Effect.exit(always.upload(request(UploadSource.bytes(Buffer.from("x"))))))
      for (let i = 0; i < 4; i++) {
        yield* settle
        yield* TestClock.adjust("2400 millis")
      }
      expect(failureOf(yield* Fiber.join(failing))).toEqual(
        new CdnUploadUnconfirmed({ host: "https://novac2c.cdn.weixin.qq.com", attempts: 3 })
      )
      expect(always.cdn.requests.length).toBe(3)
    }))

  it.effect("other non-200 successes (201, 204) are not success: retried like a server error", () =>
    Effect.gen(function*() {
      const w = world((_, index) => (index === 0 ? { status: 204, headers: { "x-encrypted-param": "p" } } : accepted("ok")))
      const fiber = yield* Effect.fork(w.upload(request(UploadSource.bytes(Buffer.from("x")))))
      yield* settle
      yield* TestClock.adjust("1200 millis")
      expect((yield* Fiber.join(fiber)).media.encrypt_query_param).toBe("ok")
      expect(w.cdn.requests.length).toBe(2)
    }))

  it.effect("a CDN that never answers fails with an idle timeout after 30 s, without a retry", () =>
    Effect.gen(function*() {
      const w = world(() => "never")
      const fiber = yield* Effect.fork(w.upload(request(UploadSource.bytes(Buffer.from("x")))))
      const exit = yield* exitExactlyAt(fiber, "30 seconds")
      expect(failureOf(exit)).toEqual(
        new CdnTimeout({ operation: "upload", host: "https://novac2c.cdn.weixin.qq.com", phase: "idle", timeoutMs: 30_000 })
      )
      yield* TestClock.adjust("5 minutes")
      expect(w.cdn.requests.length).toBe(1)
    }))
})
