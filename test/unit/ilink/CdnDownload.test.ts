import { describe, expect, it } from "@effect/vitest"
import { createCipheriv, createHash, randomBytes } from "node:crypto"
import { Cause, Chunk, Effect, Exit, Fiber, Logger, LogLevel, Option, Stream, TestClock } from "effect"
import { aesKeyFromBytes, paddedSize } from "../../../src/domain/AesKey.js"
import { EcbDecryptError } from "../../../src/domain/EcbCipher.js"
import { CdnDownload, type CdnDownloadRequest, itemLength } from "../../../src/ilink/CdnDownload.js"
import {
  CdnEmptyMedia,
  type CdnError,
  CdnHttpError,
  CdnIntegrityError,
  CdnNoLocation,
  CdnTimeout,
  CdnTooLarge
} from "../../../src/ilink/CdnError.js"
import { bodyOf, brokenBodyOf, type CdnAnswer, exitExactlyAt, fakeCdn, settle } from "../../support/CdnTestkit.js"

const keyBytes = randomBytes(16)
const key = aesKeyFromBytes(keyBytes)
const encrypt = (plaintext: Uint8Array) => {
  const cipher = createCipheriv("aes-128-ecb", keyBytes, null)
  return Buffer.concat([cipher.update(plaintext), cipher.final()])
}
const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex")

const cdnBaseUrl = "https://novac2c.cdn.weixin.qq.com/c2c"
const secretParam = "SECRET-eqp-3f9a"
const request = (overrides: Partial<CdnDownloadRequest> = {}): CdnDownloadRequest => ({
  media: { encrypt_query_param: secretParam },
  key: Option.some(key),
  cdnBaseUrl,
  maxBytes: 1024 * 1024,
  ...overrides
})

const ok = (body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): CdnAnswer => ({
  status: 200,
  headers,
  body
})

/** Downloads with a fake CDN; returns the exit and the requests the CDN saw. */
const download = (answer: (index: number) => CdnAnswer, req: CdnDownloadRequest = request()) => {
  const cdn = fakeCdn((_, index) => answer(index))
  return Effect.gen(function*() {
    const client = yield* CdnDownload
    const exit = yield* Effect.exit(client.bytes(req))
    return { exit, requests: cdn.requests }
  }).pipe(Effect.provide(CdnDownload.DefaultWithoutDependencies), Effect.provide(cdn.layer))
}

const failureOf = <A>(exit: Exit.Exit<A, CdnError>): CdnError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

/** Lets promise-based body streams move between virtual-time steps. */

describe("CdnDownload: location (PROTOCOL §1.2, §1.8.10)", () => {
  it.effect("uses full_url verbatim when present, with no request headers", () =>
    Effect.gen(function*() {
      const plaintext = Buffer.from("a picture")
      const fullUrl = "https://novac2c.cdn.weixin.qq.com/c2c/download?encrypted_query_param=abc&taskid=7"
      const { exit, requests } = yield* download(() => ok(encrypt(plaintext)), request({ media: { full_url: ` ${fullUrl} `, encrypt_query_param: "other" } }))
      expect(exit).toEqual(Exit.succeed(plaintext))
      expect(requests.map((r) => [r.method, r.url])).toEqual([["GET", fullUrl]])
      expect(requests[0]?.headers).toEqual({})
    }))

  it.effect("falls back to <cdnBaseUrl>/download?encrypted_query_param=<encoded>", () =>
    Effect.gen(function*() {
      const { exit, requests } = yield* download(
        () => ok(encrypt(Buffer.from("x"))),
        request({ media: { encrypt_query_param: "a+b/c=" }, cdnBaseUrl: `${cdnBaseUrl}/` })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(requests[0]?.url).toBe(`${cdnBaseUrl}/download?encrypted_query_param=a%2Bb%2Fc%3D`)
    }))

  it.effect("an item with neither full_url nor encrypt_query_param fails without a request", () =>
    Effect.gen(function*() {
      const { exit, requests } = yield* download(() => ok(Buffer.alloc(0)), request({ media: { full_url: " " } }))
      expect(failureOf(exit)).toBeInstanceOf(CdnNoLocation)
      expect(requests).toEqual([])
    }))

  it.effect("refuses a full_url pointing elsewhere: a private address, another scheme, credentials, a downgrade", () =>
    Effect.gen(function*() {
      for (
        const fullUrl of [
          "http://169.254.169.254/latest/meta-data/",
          "https://10.1.2.3/c2c/download?x=1",
          "https://[::1]/c2c/download",
          "https://[::ffff:127.0.0.1]/x",
          "file:///etc/passwd",
          "https://user:pw@novac2c.cdn.weixin.qq.com/c2c/download",
          "http://cdn.example.com/c2c/download",
          "not a url"
        ]
      ) {
        const { exit, requests } = yield* download(() => ok(encrypt(Buffer.from("x"))), request({ media: { full_url: fullUrl } }))
        expect([fullUrl, failureOf(exit)._tag]).toEqual([fullUrl, "CdnUrlRefused"])
        expect(requests).toEqual([])
      }
    }))

  it.effect("fetches a full_url on another public host (the server names it)", () =>
    Effect.gen(function*() {
      const { exit } = yield* download(
        () => ok(encrypt(Buffer.from("x"))),
        request({ media: { full_url: "https://other.cdn.example.com/d?p=1" } })
      )
      expect(Exit.isSuccess(exit)).toBe(true)
    }))
})

describe("CdnDownload: decryption", () => {
  it.effect("decrypts a body that arrives in odd-sized chunks, and reports the declared sizes", () =>
    Effect.gen(function*() {
      const plaintext = randomBytes(10_000)
      const ciphertext = encrypt(plaintext)
      const cdn = fakeCdn(() =>
        ok(bodyOf([ciphertext.subarray(0, 7), ciphertext.subarray(7, 4099), ciphertext.subarray(4099)]), {
          "content-length": String(ciphertext.length)
        })
      )
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const opened = yield* (yield* CdnDownload).open(request({ expectedSize: plaintext.length, expectedMd5: md5(plaintext) }))
        const chunks = yield* Stream.runCollect(opened.plaintext)
        return { opened, bytes: Buffer.concat(Chunk.toArray(chunks)) }
      })).pipe(Effect.provide(CdnDownload.DefaultWithoutDependencies), Effect.provide(cdn.layer))
      expect(result.bytes).toEqual(plaintext)
      expect(result.opened.declaredBytes).toEqual(Option.some(paddedSize(10_000)))
      expect(result.opened.plaintextBytes).toEqual(Option.some(10_000))
      expect(result.opened.host).toBe("https://novac2c.cdn.weixin.qq.com")
    }))

  it.effect("a key-less image is passed through as it is", () =>
    Effect.gen(function*() {
      const picture = randomBytes(333)
      const { exit } = yield* download(() => ok(picture), request({ key: Option.none() }))
      expect(exit).toEqual(Exit.succeed(picture))
    }))

  it.effect("a ciphertext that is not a multiple of 16 fails as not_block_aligned", () =>
    Effect.gen(function*() {
      const { exit } = yield* download(() => ok(encrypt(randomBytes(100)).subarray(0, 107)))
      expect(failureOf(exit)).toEqual(new EcbDecryptError({ problem: "not_block_aligned", ciphertextBytes: 107 }))
    }))

  it.effect("a wrong padding fails as bad_padding", () =>
    Effect.gen(function*() {
      const cipher = createCipheriv("aes-128-ecb", keyBytes, null).setAutoPadding(false)
      const unpadded = Buffer.concat([cipher.update(Buffer.alloc(32, 0x41)), cipher.final()])
      const { exit } = yield* download(() => ok(unpadded))
      expect(failureOf(exit)).toEqual(new EcbDecryptError({ problem: "bad_padding", ciphertextBytes: 32 }))
    }))

  it.effect("garbage that decrypts cleanly is caught by the item's md5 and len", () =>
    Effect.gen(function*() {
      const announced = Buffer.from("the real file")
      const other = Buffer.from("something else")
      const byMd5 = yield* download(() => ok(encrypt(Buffer.from("the fake file"))), request({ expectedMd5: md5(announced) }))
      expect(failureOf(byMd5.exit)).toEqual(new CdnIntegrityError({ check: "md5", expected: md5(announced), actual: md5(Buffer.from("the fake file")) }))
      const byLen = yield* download(() => ok(encrypt(other)), request({ expectedSize: announced.length }))
      expect(failureOf(byLen.exit)).toEqual(new CdnIntegrityError({ check: "size", expected: "13", actual: "14" }))
    }))

  it.effect("empty media is an error: an empty plaintext, an empty plain image, or len 0 (no request)", () =>
    Effect.gen(function*() {
      expect(failureOf((yield* download(() => ok(encrypt(Buffer.alloc(0))))).exit)).toEqual(new CdnEmptyMedia({ operation: "download" }))
      expect(failureOf((yield* download(() => ok(Buffer.alloc(0)), request({ key: Option.none() }))).exit)._tag).toBe("CdnEmptyMedia")
      const zero = yield* download(() => ok(encrypt(Buffer.from("x"))), request({ expectedSize: itemLength("0") }))
      expect(failureOf(zero.exit)._tag).toBe("CdnEmptyMedia")
      expect(zero.requests).toEqual([])
    }))
})

describe("CdnDownload: HTTP status and size cap", () => {
  it.effect("a non-2xx status fails with the status and the server's message, scrubbed of URLs", () =>
    Effect.gen(function*() {
      const { exit } = yield* download(() => ({
        status: 404,
        headers: { "x-error-message": "object gone: https://cdn.example.com/download?encrypted_query_param=SECRET" }
      }))
      const error = failureOf(exit)
      expect(error).toEqual(new CdnHttpError({
        operation: "download",
        host: "https://novac2c.cdn.weixin.qq.com",
        status: 404,
        serverMessage: "object gone: https://cdn.example.com"
      }))
      const server = yield* download(() => ({ status: 500, body: Buffer.from("oops") }))
      expect(failureOf(server.exit)).toMatchObject({ _tag: "CdnHttpError", status: 500 })
    }))

  it.effect("a 2 GB len fails before any request", () =>
    Effect.gen(function*() {
      const { exit, requests } = yield* download(() => ok(Buffer.alloc(16)), request({ expectedSize: itemLength("2147483648") }))
      expect(failureOf(exit)).toEqual(new CdnTooLarge({ operation: "download", limitBytes: 1024 * 1024, sizeBytes: 2147483648, source: "item_length" }))
      expect(requests).toEqual([])
    }))

  it.effect("a declared content-length over the cap fails before the body is read", () =>
    Effect.gen(function*() {
      const maxBytes = 1000
      const atCap = yield* download(() => ok(encrypt(randomBytes(maxBytes)), { "content-length": String(paddedSize(maxBytes)) }), request({ maxBytes }))
      expect(Exit.isSuccess(atCap.exit)).toBe(true)
      const over = yield* download(() => ok(bodyOf([], "stall"), { "content-length": String(paddedSize(maxBytes) + 16) }), request({ maxBytes }))
      expect(failureOf(over.exit)).toEqual(new CdnTooLarge({ operation: "download", limitBytes: maxBytes, sizeBytes: paddedSize(maxBytes) + 16, source: "declared_length" }))
    }))

  it.effect("a body without content-length that grows past the cap fails as soon as it does", () =>
    Effect.gen(function*() {
      const maxBytes = 1000
      // the stream would go on forever: the cap, not the end, must stop it
      const { exit } = yield* download(() => ok(bodyOf([randomBytes(600), randomBytes(600)], "stall")), request({ maxBytes }))
      expect(failureOf(exit)).toEqual(new CdnTooLarge({ operation: "download", limitBytes: maxBytes, sizeBytes: 1200, source: "body" }))
    }))

  it.effect("a plain image's cap is its exact size", () =>
    Effect.gen(function*() {
      const fits = yield* download(() => ok(randomBytes(100)), request({ key: Option.none(), maxBytes: 100 }))
      expect(Exit.isSuccess(fits.exit)).toBe(true)
      const over = yield* download(() => ok(randomBytes(101)), request({ key: Option.none(), maxBytes: 100 }))
      expect(failureOf(over.exit)).toMatchObject({ _tag: "CdnTooLarge", source: "body", sizeBytes: 101 })
    }))

  it.effect("a decrypted plaintext over the cap fails even when the ciphertext fits", () =>
    Effect.gen(function*() {
      // 1008 plaintext bytes encrypt to 1024, which is paddedSize(1000): the ciphertext passes, the plaintext does not
      const { exit } = yield* download(() => ok(encrypt(randomBytes(1008))), request({ maxBytes: 1000 }))
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnTooLarge", source: "body" })
    }))
})

describe("CdnDownload: cut-off bodies", () => {
  it.effect("a connection cut mid-body fails as truncated with the bytes received", () =>
    Effect.gen(function*() {
      const ciphertext = encrypt(randomBytes(100))
      const { exit } = yield* download(() => ok(brokenBodyOf([ciphertext.subarray(0, 48)]), { "content-length": "112" }))
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnTruncated", receivedBytes: 48, expectedBytes: 112 })
    }))

  it.effect("a body that ends before its content-length fails as truncated", () =>
    Effect.gen(function*() {
      const ciphertext = encrypt(randomBytes(100))
      const { exit } = yield* download(() => ok(ciphertext.subarray(0, 64), { "content-length": "112" }))
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnTruncated", receivedBytes: 64, expectedBytes: 112, detail: "the body ended early" })
    }))
})

describe("CdnDownload: timeouts (virtual time)", () => {
  const fork = (answer: () => CdnAnswer, req = request()) => {
    const cdn = fakeCdn(answer)
    return Effect.gen(function*() {
      const client = yield* CdnDownload
      return yield* Effect.fork(client.bytes(req))
    }).pipe(Effect.provide(CdnDownload.DefaultWithoutDependencies), Effect.provide(cdn.layer))
  }

  it.effect("no response within 30 s fails with a response timeout, not a moment earlier", () =>
    Effect.gen(function*() {
      const fiber = yield* fork(() => "never")
      yield* TestClock.adjust("29999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)).toEqual(new CdnTimeout({ operation: "download", host: "https://novac2c.cdn.weixin.qq.com", phase: "response", timeoutMs: 30_000 }))
    }))

  it.effect("a body that stops moving fails with an idle timeout 30 s after its last chunk", () =>
    Effect.gen(function*() {
      const fiber = yield* fork(() => ok(bodyOf([encrypt(randomBytes(64)).subarray(0, 32)], "stall")))
      const exit = yield* exitExactlyAt(fiber, "30 seconds")
      expect(failureOf(exit)).toMatchObject({ _tag: "CdnTimeout", phase: "idle", timeoutMs: 30_000 })
    }))

  it.effect("a slow body that keeps moving is not cut, however long it takes", () =>
    Effect.gen(function*() {
      const plaintext = randomBytes(4096)
      const ciphertext = encrypt(plaintext)
      let controller: ReadableStreamDefaultController<Uint8Array> | undefined
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) })
      const fiber = yield* fork(() => ok(body))
      yield* settle
      for (let offset = 0; offset < ciphertext.length; offset += 1024) {
        yield* TestClock.adjust("25 seconds")
        controller?.enqueue(ciphertext.subarray(offset, offset + 1024))
        yield* settle
      }
      controller?.close()
      expect(yield* Fiber.join(fiber)).toEqual(plaintext)
    }))
})

describe("CdnDownload: secrets", () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => void lines.push(Array.isArray(message) ? message.join(" ") : String(message)))

  it.effect("no error and no log line carries the query parameter, the key or a signed URL", () =>
    Effect.gen(function*() {
      const signedUrl = `https://novac2c.cdn.weixin.qq.com/c2c/download?encrypted_query_param=${secretParam}&sign=SIGNATURE`
      const answers: ReadonlyArray<() => CdnAnswer> = [
        () => ({ status: 403, headers: { "x-error-message": `denied ${signedUrl}` } }),
        () => ok(brokenBodyOf([Buffer.alloc(16)])),
        () => ok(encrypt(Buffer.from("x")).subarray(0, 10)),
        () => ok(Buffer.alloc(32))
      ]
      const errors: Array<CdnError> = []
      for (const answer of answers) {
        for (const media of [{ encrypt_query_param: secretParam }, { full_url: signedUrl }]) {
          const { exit } = yield* download(answer, request({ media }))
          errors.push(failureOf(exit))
        }
      }
      const refused = yield* download(() => ok(Buffer.alloc(0)), request({ media: { full_url: `http://10.0.0.1/x?encrypted_query_param=${secretParam}` } }))
      errors.push(failureOf(refused.exit))
      const text = [...errors.map((e) => `${e.message} ${JSON.stringify(e)}`), ...lines].join("\n")
      expect(errors.length).toBe(9)
      expect(lines.length).toBeGreaterThan(0)
      expect(text).not.toContain(secretParam)
      expect(text).not.toContain("SIGNATURE")
      expect(text).not.toContain(keyBytes.toString("hex"))
      expect(text).not.toContain(keyBytes.toString("base64"))
    }).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    ))
})

describe("itemLength", () => {
  it("reads a decimal len and ignores anything else", () => {
    expect([itemLength("42"), itemLength(" 7 "), itemLength(undefined), itemLength("-1"), itemLength("1e3"), itemLength("")]).toEqual([
      42,
      7,
      undefined,
      undefined,
      undefined,
      undefined
    ])
    expect(itemLength("2147483648")).toBe(2147483648)
  })
})
