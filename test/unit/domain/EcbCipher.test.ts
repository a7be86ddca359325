import { describe, expect, it } from "@effect/vitest"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { Chunk, Effect, Either, FastCheck, Stream } from "effect"
import { aesKeyFromBytes, paddedSize } from "../../../src/domain/AesKey.js"
import { decryptEcb, EcbDecryptError, encryptEcb } from "../../../src/domain/EcbCipher.js"

const keyBytes = Buffer.from("2b7e151628aed2a6abf7158809cf4f3c", "hex")
const key = aesKeyFromBytes(keyBytes)

const oneShotEncrypt = (plaintext: Uint8Array) => {
  const cipher = createCipheriv("aes-128-ecb", keyBytes, null)
  return Buffer.concat([cipher.update(plaintext), cipher.final()])
}

/** Splits `data` at the given cut points, so a stream delivers it in arbitrary pieces. */
const pieces = (data: Uint8Array, cuts: ReadonlyArray<number>): Stream.Stream<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)
  const bounds = [0, ...points, data.length]
  return Stream.fromIterable(bounds.slice(1).map((end, i) => data.subarray(bounds[i], end)))
}

const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

describe("EcbCipher (PROTOCOL §6.1)", () => {
  it("encrypts exactly like a one-shot AES-128-ECB/PKCS#7, whatever the chunking", () =>
    FastCheck.assert(FastCheck.property(
      FastCheck.uint8Array({ maxLength: 5000 }),
      FastCheck.array(FastCheck.nat(), { maxLength: 8 }),
      (plaintext, cuts) => {
        const out = Effect.runSync(collect(pieces(plaintext, cuts).pipe(encryptEcb(key))))
        expect(out).toEqual(oneShotEncrypt(plaintext))
        expect(out.length).toBe(paddedSize(plaintext.length))
      }
    ), { numRuns: 200 }))

  it("round-trips every size from 0 to 5000 bytes under any chunking", () =>
    FastCheck.assert(FastCheck.property(
      FastCheck.uint8Array({ minLength: 0, maxLength: 5000 }),
      FastCheck.array(FastCheck.nat(), { maxLength: 8 }),
      FastCheck.array(FastCheck.nat(), { maxLength: 8 }),
      (plaintext, cutsIn, cutsOut) => {
        const ciphertext = Effect.runSync(collect(pieces(plaintext, cutsIn).pipe(encryptEcb(key))))
        const back = Effect.runSync(collect(pieces(ciphertext, cutsOut).pipe(decryptEcb(key))))
        expect(back).toEqual(Buffer.from(plaintext))
      }
    ), { numRuns: 300 }))

  it("round-trips the block boundaries exactly", () =>
    Effect.gen(function*() {
      for (const size of [0, 1, 15, 16, 17, 31, 32, 33, 4095, 4096, 4097]) {
        const plaintext = randomBytes(size)
        const ciphertext = yield* collect(Stream.make(plaintext).pipe(encryptEcb(key)))
        expect([size, ciphertext.length]).toEqual([size, paddedSize(size)])
        expect(yield* collect(Stream.make(ciphertext).pipe(decryptEcb(key)))).toEqual(plaintext)
      }
    }).pipe(Effect.runSync))

  const decryptError = (ciphertext: Uint8Array, withKey = key) =>
    Effect.runSync(Effect.either(collect(Stream.make(ciphertext).pipe(decryptEcb(withKey)))))

  it("fails on a ciphertext that is not a whole number of blocks", () => {
    const ciphertext = oneShotEncrypt(randomBytes(40)).subarray(0, 45)
    expect(decryptError(ciphertext)).toEqual(Either.left(new EcbDecryptError({ problem: "not_block_aligned", ciphertextBytes: 45 })))
  })

  it("fails on an empty ciphertext", () => {
    expect(decryptError(Buffer.alloc(0))).toEqual(Either.left(new EcbDecryptError({ problem: "empty", ciphertextBytes: 0 })))
  })

  it("fails on a last block whose padding is not PKCS#7", () => {
    // a full block of 0x00 padding bytes, encrypted without automatic padding
    const cipher = createCipheriv("aes-128-ecb", keyBytes, null).setAutoPadding(false)
    const bad = Buffer.concat([cipher.update(Buffer.concat([Buffer.from("sixteen bytes!!!"), Buffer.alloc(16)])), cipher.final()])
    expect(decryptError(bad)).toEqual(Either.left(new EcbDecryptError({ problem: "bad_padding", ciphertextBytes: 32 })))
  })

  it("fails with bad padding under a wrong key (chosen so the padding check cannot pass by chance)", () => {
    const ciphertext = oneShotEncrypt(Buffer.from("hello, world"))
    let wrong = randomBytes(16)
    const paddingPasses = (k: Buffer) => {
      try {
        const d = createDecipheriv("aes-128-ecb", k, null)
        d.update(ciphertext)
        d.final()
        return true
      } catch {
        return false
      }
    }
    while (paddingPasses(wrong)) wrong = randomBytes(16)
    const result = decryptError(ciphertext, aesKeyFromBytes(wrong))
    expect(Either.isLeft(result) && result.left.problem).toBe("bad_padding")
  })

  it("holds back at most one block: output follows input chunk by chunk", () =>
    Effect.gen(function*() {
      const plaintext = randomBytes(64 * 1024)
      const ciphertext = oneShotEncrypt(plaintext)
      const chunkSizes: Array<number> = []
      yield* pieces(ciphertext, [16_384, 32_768, 49_152]).pipe(
        decryptEcb(key),
        Stream.runForEach((chunk) => Effect.sync(() => chunkSizes.push(chunk.length)))
      )
      // every input chunk yields its blocks minus the one held back for the padding check
      expect(chunkSizes.slice(0, 3)).toEqual([16_368, 16_384, 16_384])
      expect(chunkSizes.reduce((a, b) => a + b, 0)).toBe(plaintext.length)
    }).pipe(Effect.runSync))
})
