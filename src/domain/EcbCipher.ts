/**
 * AES-128-ECB with PKCS#7 padding as stream transforms (PROTOCOL §6.1), so media of any size passes
 * through in constant memory: each chunk is transformed as it arrives, and only the last partial block
 * is held back. No I/O; the cipher is node:crypto's.
 *
 * A decrypt checks what can be checked without a checksum: the ciphertext is non-empty, a whole number of
 * blocks, and ends in valid padding. A wrong key usually fails the padding check; the few that pass give
 * garbage, which only the item's size or MD5 can reveal (the CDN client checks those).
 *
 * @example
 * ```ts
 * const plaintext = response.stream.pipe(decryptEcb(key))
 * ```
 */
import { createCipheriv, createDecipheriv } from "node:crypto"
import { Effect, Redacted, Schema, Stream } from "effect"
import { AES_BLOCK_BYTES, type AesKey } from "./AesKey.js"

export const EcbProblem = Schema.Literal("empty", "not_block_aligned", "bad_padding")
export type EcbProblem = typeof EcbProblem.Type

/** The ciphertext cannot be decrypted with the key it came with. */
export class EcbDecryptError extends Schema.TaggedError<EcbDecryptError>("openclaw-weixin/EcbDecryptError")(
  "EcbDecryptError",
  {
    problem: EcbProblem,
    ciphertextBytes: Schema.Number
  }
) {
  override get message(): string {
    const what: Record<EcbProblem, string> = {
      empty: "the ciphertext is empty (AES-128-ECB with PKCS#7 is at least one block)",
      not_block_aligned: `the ciphertext is ${this.ciphertextBytes} bytes, not a multiple of ${AES_BLOCK_BYTES}`,
      bad_padding: "the last block does not end in valid PKCS#7 padding: the key is wrong or the data corrupt"
    }
    return `could not decrypt the media: ${what[this.problem]}`
  }
}

const nonEmpty = (bytes: Uint8Array): boolean => bytes.length > 0

/** Encrypts a plaintext stream; the output is `paddedSize(n)` bytes for `n` bytes in. */
export const encryptEcb = (key: AesKey) => <E, R>(plaintext: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
  Stream.suspend(() => {
    const cipher = createCipheriv("aes-128-ecb", Redacted.value(key), null)
    return plaintext.pipe(
      Stream.map((chunk): Uint8Array => cipher.update(chunk)),
      Stream.concat(Stream.sync((): Uint8Array => cipher.final())),
      Stream.filter(nonEmpty)
    )
  })

/** Decrypts a ciphertext stream, failing with {@link EcbDecryptError} at the end when it is not valid. */
export const decryptEcb = (key: AesKey) =>
<E, R>(ciphertext: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | EcbDecryptError, R> =>
  Stream.suspend(() => {
    const decipher = createDecipheriv("aes-128-ecb", Redacted.value(key), null)
    let total = 0
    const final = Effect.suspend((): Effect.Effect<Uint8Array, EcbDecryptError> => {
      const fail = (problem: EcbProblem) => Effect.fail(new EcbDecryptError({ problem, ciphertextBytes: total }))
      if (total === 0) return fail("empty")
      if (total % AES_BLOCK_BYTES !== 0) return fail("not_block_aligned")
      try {
        return Effect.succeed(decipher.final())
      } catch {
        return fail("bad_padding")
      }
    })
    return ciphertext.pipe(
      Stream.map((chunk): Uint8Array => {
        total += chunk.length
        return decipher.update(chunk)
      }),
      Stream.concat(Stream.fromEffect(final)),
      Stream.filter(nonEmpty)
    )
  })
