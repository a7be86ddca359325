/**
 * The AES-128 keys of CDN media (PROTOCOL §6.1) and the size rule of their ciphertext.
 *
 * Inbound items carry the key as `media.aes_key`: base64 of either the 16 raw key bytes or of the key
 * written as 32 hex digits. Images may also carry `image_item.aeskey` (32 hex digits), which wins; an
 * image with no key at all is stored in plain. Outbound, the key goes to getuploadurl as 32 lowercase hex
 * digits and into the message as base64 of that hex text.
 *
 * A key is `Redacted`, and no error here ever quotes the key text: keys must never reach a log line.
 *
 * @example
 * ```ts
 * const key = yield* inboundMediaKey({ kind: "file", aesKey: item.file_item.media?.aes_key })
 * paddedSize(15) // 16
 * ```
 */
import { Either, Option, Redacted, Schema } from "effect"

/** AES block size; also the key size of AES-128. */
export const AES_BLOCK_BYTES = 16

/** A 16-byte AES-128 key. */
export type AesKey = Redacted.Redacted<Uint8Array>

/** Which field of an item the key came from, for error messages. */
export const AesKeyField = Schema.Literal("media.aes_key", "image_item.aeskey")
export type AesKeyField = typeof AesKeyField.Type

/** A key field that cannot be turned into an AES-128 key. Says what is wrong, never what the key was. */
export class AesKeyError extends Schema.TaggedError<AesKeyError>("openclaw-weixin/AesKeyError")("AesKeyError", {
  field: AesKeyField,
  problem: Schema.String
}) {
  override get message(): string {
    return `the ${this.field} of the media item is unusable: ${this.problem}; the media cannot be decrypted`
  }
}

/**
 * Ciphertext size of `plaintextBytes` under AES-128-ECB with PKCS#7: padding always adds 1 to 16 bytes,
 * so the result is the next multiple of 16 strictly above the plaintext size (PROTOCOL §6.1).
 */
export const paddedSize = (plaintextBytes: number): number =>
  (Math.floor(plaintextBytes / AES_BLOCK_BYTES) + 1) * AES_BLOCK_BYTES

/** The key as 32 lowercase hex digits: the `aeskey` of getuploadurl (PROTOCOL §1.8.5). */
export const aesKeyHex = (key: AesKey): string => Buffer.from(Redacted.value(key)).toString("hex")

/** The key as an outbound item's `media.aes_key`: base64 of the ASCII hex text, 44 chars (PROTOCOL §5.1). */
export const outboundAesKeyField = (key: AesKey): string => Buffer.from(aesKeyHex(key), "ascii").toString("base64")

/** Wraps 16 bytes as a key; anything else is a programming error of the caller. */
export const aesKeyFromBytes = (bytes: Uint8Array): AesKey => {
  if (bytes.length !== AES_BLOCK_BYTES) throw new RangeError(`an AES-128 key has 16 bytes, got ${bytes.length}`)
  return Redacted.make(Uint8Array.from(bytes))
}

const HEX_KEY = /^[0-9a-fA-F]{32}$/
// standard or URL-safe alphabet, padding optional: what Node's decoder reads without silently skipping
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

const keyError = (field: AesKeyField, problem: string) => Either.left(new AesKeyError({ field, problem }))

/** Parses `image_item.aeskey`: exactly 32 hex digits. */
export const parseHexAesKey = (text: string): Either.Either<AesKey, AesKeyError> => {
  const trimmed = text.trim()
  if (!HEX_KEY.test(trimmed)) {
    return keyError("image_item.aeskey", `it must be 32 hex digits, got ${trimmed.length} characters`)
  }
  return Either.right(aesKeyFromBytes(Buffer.from(trimmed, "hex")))
}

/** Parses `media.aes_key`: base64 of 16 raw bytes, or of 32 hex digits (PROTOCOL §6.1). */
export const parseMediaAesKey = (text: string): Either.Either<AesKey, AesKeyError> => {
  const trimmed = text.trim()
  if (trimmed === "") return keyError("media.aes_key", "it is empty")
  if (!BASE64.test(trimmed) || trimmed.replace(/=+$/, "").length % 4 === 1) {
    return keyError("media.aes_key", "it is not base64")
  }
  const decoded = Buffer.from(trimmed, "base64")
  if (decoded.length === AES_BLOCK_BYTES) return Either.right(aesKeyFromBytes(decoded))
  if (decoded.length === 2 * AES_BLOCK_BYTES) {
    const hex = decoded.toString("latin1")
    if (HEX_KEY.test(hex)) return Either.right(aesKeyFromBytes(Buffer.from(hex, "hex")))
    return keyError("media.aes_key", "it decodes to 32 bytes that are not hex digits")
  }
  return keyError("media.aes_key", `it decodes to ${decoded.length} bytes; expected 16 raw bytes or 32 hex digits`)
}

/** What kind of item the media belongs to; only images may come without a key. */
export type MediaItemKind = "image" | "voice" | "file" | "video"

const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

/**
 * The key that decrypts an inbound item's media, or `None` for a key-less image (stored in plain).
 * An image prefers `image_item.aeskey`; when that field is malformed but `media.aes_key` parses, the
 * latter is used, so one bad field does not cost the user the picture.
 */
export const inboundMediaKey = (input: {
  readonly kind: MediaItemKind
  readonly aesKey?: string | undefined
  readonly imageAeskey?: string | undefined
}): Either.Either<Option.Option<AesKey>, AesKeyError> => {
  const fromMedia = present(input.aesKey) ? Option.some(parseMediaAesKey(input.aesKey)) : Option.none()
  if (input.kind === "image") {
    if (present(input.imageAeskey)) {
      const hex = parseHexAesKey(input.imageAeskey)
      if (Either.isRight(hex)) return Either.right(Option.some(hex.right))
      if (Option.isSome(fromMedia) && Either.isRight(fromMedia.value)) return Either.right(Option.some(fromMedia.value.right))
      return Either.left(hex.left)
    }
    return Option.match(fromMedia, {
      onNone: () => Either.right(Option.none()),
      onSome: (parsed) => Either.map(parsed, Option.some)
    })
  }
  return Option.match(fromMedia, {
    onNone: () => keyError("media.aes_key", `it is missing, and a ${input.kind} is always encrypted`),
    onSome: (parsed) => Either.map(parsed, Option.some)
  })
}
