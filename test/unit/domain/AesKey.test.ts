import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck, Option, Redacted } from "effect"
import {
  aesKeyFromBytes,
  aesKeyHex,
  AesKeyError,
  inboundMediaKey,
  outboundAesKeyField,
  paddedSize,
  parseHexAesKey,
  parseMediaAesKey
} from "../../../src/domain/AesKey.js"

const raw = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex")
const rawBase64 = raw.toString("base64")
const hexBase64 = Buffer.from(raw.toString("hex"), "ascii").toString("base64")

const bytesOf = <E>(parsed: Either.Either<Redacted.Redacted<Uint8Array>, E>) =>
  Buffer.from(Redacted.value(Either.getOrThrow(parsed))).toString("hex")

const problemOf = <A>(parsed: Either.Either<A, AesKeyError>) => {
  if (Either.isRight(parsed)) throw new Error("expected an AesKeyError")
  return parsed.left
}

describe("paddedSize (PROTOCOL §6.1)", () => {
  it("maps the documented sizes: 0→16, 1→16, 15→16, 16→32, 31→32, 32→48", () => {
    expect([0, 1, 15, 16, 31, 32].map(paddedSize)).toEqual([16, 16, 16, 32, 32, 48])
  })

  it("is ceil((n+1)/16)*16: a multiple of 16, 1 to 16 bytes above n", () => {
    FastCheck.assert(FastCheck.property(FastCheck.integer({ min: 0, max: 2 ** 40 }), (n) => {
      const padded = paddedSize(n)
      expect(padded).toBe(Math.ceil((n + 1) / 16) * 16)
      expect(padded % 16).toBe(0)
      expect(padded - n).toBeGreaterThanOrEqual(1)
      expect(padded - n).toBeLessThanOrEqual(16)
    }))
  })
})

describe("parseMediaAesKey: media.aes_key", () => {
  it("reads base64 of 16 raw bytes", () => {
    expect(bytesOf(parseMediaAesKey(rawBase64))).toBe("000102030405060708090a0b0c0d0e0f")
  })

  it("reads base64 of the 32-char hex text, in either case", () => {
    expect(bytesOf(parseMediaAesKey(hexBase64))).toBe("000102030405060708090a0b0c0d0e0f")
    const upper = Buffer.from(raw.toString("hex").toUpperCase(), "ascii").toString("base64")
    expect(bytesOf(parseMediaAesKey(upper))).toBe("000102030405060708090a0b0c0d0e0f")
  })

  it("accepts unpadded and URL-safe base64 and surrounding blanks", () => {
    const key = Buffer.from("fbff00112233445566778899aabbccdd", "hex")
    expect(bytesOf(parseMediaAesKey(key.toString("base64url")))).toBe("fbff00112233445566778899aabbccdd")
    expect(bytesOf(parseMediaAesKey(` ${key.toString("base64").replace(/=+$/, "")}\n`))).toBe("fbff00112233445566778899aabbccdd")
  })

  it("refuses text that is not base64", () => {
    const error = problemOf(parseMediaAesKey("not base64 at all!"))
    expect(error).toEqual(new AesKeyError({ field: "media.aes_key", problem: "it is not base64" }))
  })

  it("refuses a key of the wrong length and says how long it was", () => {
    expect(problemOf(parseMediaAesKey(Buffer.alloc(24).toString("base64"))).problem).toBe(
      "it decodes to 24 bytes; expected 16 raw bytes or 32 hex digits"
    )
    expect(problemOf(parseMediaAesKey(Buffer.alloc(15).toString("base64"))).problem).toContain("15 bytes")
  })

  it("refuses 32 bytes that are not hex digits", () => {
    const notHex = Buffer.from("zz0102030405060708090a0b0c0d0e0f", "ascii").toString("base64")
    expect(problemOf(parseMediaAesKey(notHex)).problem).toBe("it decodes to 32 bytes that are not hex digits")
  })

  it("refuses an empty key", () => {
    expect(problemOf(parseMediaAesKey("  ")).problem).toBe("it is empty")
  })

  it("never quotes the key in its message", () => {
    for (const bad of [Buffer.alloc(20, 7).toString("base64"), "%%%%secretkey%%%%", Buffer.from("q".repeat(32)).toString("base64")]) {
      const error = problemOf(parseMediaAesKey(bad))
      expect(error.message).not.toContain(bad)
      expect(JSON.stringify(error)).not.toContain(bad)
    }
  })
})

describe("parseHexAesKey: image_item.aeskey", () => {
  it("reads 32 hex digits", () => {
    expect(bytesOf(parseHexAesKey("000102030405060708090A0B0C0D0E0F"))).toBe("000102030405060708090a0b0c0d0e0f")
  })

  it("refuses anything else", () => {
    expect(problemOf(parseHexAesKey("0001")).field).toBe("image_item.aeskey")
    expect(Either.isLeft(parseHexAesKey("g".repeat(32)))).toBe(true)
  })
})

describe("inboundMediaKey", () => {
  const otherHex = "ffeeddccbbaa99887766554433221100"

  it("an image prefers image_item.aeskey over media.aes_key", () => {
    const key = Either.getOrThrow(inboundMediaKey({ kind: "image", aesKey: rawBase64, imageAeskey: otherHex }))
    expect(Option.map(key, (k) => aesKeyHex(k))).toEqual(Option.some(otherHex))
  })

  it("an image falls back to media.aes_key when its aeskey is malformed", () => {
    const key = Either.getOrThrow(inboundMediaKey({ kind: "image", aesKey: rawBase64, imageAeskey: "nope" }))
    expect(Option.map(key, (k) => aesKeyHex(k))).toEqual(Option.some(raw.toString("hex")))
  })

  it("an image with only a malformed aeskey is an error naming that field", () => {
    expect(problemOf(inboundMediaKey({ kind: "image", imageAeskey: "nope" })).field).toBe("image_item.aeskey")
  })

  it("a key-less image is plain (None)", () => {
    expect(inboundMediaKey({ kind: "image" })).toEqual(Either.right(Option.none()))
    expect(inboundMediaKey({ kind: "image", aesKey: "", imageAeskey: " " })).toEqual(Either.right(Option.none()))
  })

  it("a file, voice or video needs media.aes_key", () => {
    for (const kind of ["file", "voice", "video"] as const) {
      expect(problemOf(inboundMediaKey({ kind, imageAeskey: otherHex })).problem).toContain("missing")
      expect(Option.isSome(Either.getOrThrow(inboundMediaKey({ kind, aesKey: hexBase64 })))).toBe(true)
    }
  })

  it("a malformed media.aes_key is an error for every kind", () => {
    for (const kind of ["image", "file", "voice", "video"] as const) {
      expect(problemOf(inboundMediaKey({ kind, aesKey: "!!" })).field).toBe("media.aes_key")
    }
  })
})

describe("outbound key encodings (PROTOCOL §1.8.5, §5.1)", () => {
  it("getuploadurl gets 32 lowercase hex digits; the item gets base64 of that text (44 chars)", () => {
    const key = aesKeyFromBytes(Buffer.from("00112233445566778899AABBCCDDEEFF", "hex"))
    expect(aesKeyHex(key)).toBe("00112233445566778899aabbccddeeff")
    const field = outboundAesKeyField(key)
    expect(field).toHaveLength(44)
    expect(Buffer.from(field, "base64").toString("ascii")).toBe("00112233445566778899aabbccddeeff")
  })

  it("an outbound aes_key parses back to the same key", () => {
    FastCheck.assert(FastCheck.property(FastCheck.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const key = aesKeyFromBytes(bytes)
      expect(bytesOf(parseMediaAesKey(outboundAesKeyField(key)))).toBe(Buffer.from(bytes).toString("hex"))
    }))
  })

  it("a key prints as <redacted>", () => {
    const key = aesKeyFromBytes(raw)
    expect(String(key)).toBe("<redacted>")
    expect(JSON.stringify({ key })).not.toContain("0001")
  })
})
