/**
 * Recognising and checking a SILK v3 voice stream before any codec sees it (PROTOCOL §1.9 `encode_type`
 * 6, §6.4). WeChat voice notes are `0x02 "#!SILK_V3"` followed by frames, each a little-endian int16 byte
 * count and that many bytes; the plain Skype form lacks the leading 0x02, and some encoders end with a
 * negative count. Pure: no I/O.
 *
 * The codec trusts the counts it reads (it copies them into fixed buffers), so every count is checked
 * here, the stream is bounded in bytes and in frames, and the codec receives one canonical form: the
 * WeChat header, the frames, nothing after them.
 */
import { Either } from "effect"
import { VoiceDecodeError } from "./VoiceDecoderError.js"

const MAGIC = "#!SILK_V3"
const WECHAT_PREFIX = 0x02

/** Each frame of SILK v3 is 20 ms of audio. */
export const SILK_FRAME_MS = 20

/** The SILK decoder refuses larger payloads ("payload size exceeded the maximum allowed 1024 bytes"). */
export const SILK_MAX_FRAME_BYTES = 1024

export interface SilkLimits {
  /** the stream's size cap in bytes */
  readonly maxBytes: number
  /** the audio's duration cap, in milliseconds of frames */
  readonly maxDurationMs: number
}

export interface SilkStream {
  /** `0x02 "#!SILK_V3"` and the frames, without a terminator or anything after it */
  readonly canonical: Uint8Array
  readonly frames: number
  /** frames × 20 ms: the length WeChat's `playtime` describes */
  readonly durationMs: number
}

const startsWithMagic = (bytes: Uint8Array, offset: number): boolean => {
  if (bytes.byteLength < offset + MAGIC.length) return false
  for (let i = 0; i < MAGIC.length; i++) if (bytes[offset + i] !== MAGIC.charCodeAt(i)) return false
  return true
}

const problem = (kind: VoiceDecodeError["problem"], detail: string) =>
  Either.left(new VoiceDecodeError({ problem: kind, detail }))

/** Where the frames start: after `0x02 #!SILK_V3` (WeChat) or `#!SILK_V3` (Skype); undefined for neither. */
export const silkHeaderLength = (bytes: Uint8Array): number | undefined =>
  bytes[0] === WECHAT_PREFIX && startsWithMagic(bytes, 1)
    ? 1 + MAGIC.length
    : startsWithMagic(bytes, 0)
    ? MAGIC.length
    : undefined

/** The stream checked frame by frame against `limits`, in the canonical form the codec reads. */
export const parseSilkStream = (bytes: Uint8Array, limits: SilkLimits): Either.Either<SilkStream, VoiceDecodeError> => {
  if (bytes.byteLength === 0) return problem("empty", "the voice note has 0 bytes")
  if (bytes.byteLength > limits.maxBytes) {
    return problem("too_large", `the voice note has ${bytes.byteLength} bytes, over the cap of ${limits.maxBytes}`)
  }
  const headerLength = silkHeaderLength(bytes)
  if (headerLength === undefined) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ")
    return problem("not_silk", `no #!SILK_V3 header (it starts with ${head}); another codec, or a wrong key`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const maxFrames = Math.floor(limits.maxDurationMs / SILK_FRAME_MS)
  let offset = headerLength
  let frames = 0
  let audible = 0
  while (offset < bytes.byteLength) {
    if (offset + 2 > bytes.byteLength) {
      return problem("corrupt", `the stream ends inside the length of frame ${frames + 1} at byte ${offset}`)
    }
    const size = view.getInt16(offset, true)
    // a negative count ends the stream (the Skype encoder's terminator); what follows is not audio
    if (size < 0) break
    if (size > SILK_MAX_FRAME_BYTES) {
      return problem("corrupt", `frame ${frames + 1} at byte ${offset} declares ${size} bytes (at most ${SILK_MAX_FRAME_BYTES})`)
    }
    if (offset + 2 + size > bytes.byteLength) {
      return problem(
        "corrupt",
        `the stream ends inside frame ${frames + 1}: it declares ${size} bytes, ${bytes.byteLength - offset - 2} remain`
      )
    }
    frames += 1
    if (size > 0) audible += 1
    if (frames > maxFrames) {
      return problem("too_long", `the voice note has over ${maxFrames} frames, more than the cap of ${limits.maxDurationMs} ms`)
    }
    offset += 2 + size
  }
  if (audible === 0) return problem("corrupt", "a SILK header without audio frames")
  const canonical = new Uint8Array(1 + MAGIC.length + (offset - headerLength))
  canonical[0] = WECHAT_PREFIX
  for (let i = 0; i < MAGIC.length; i++) canonical[1 + i] = MAGIC.charCodeAt(i)
  canonical.set(bytes.subarray(headerLength, offset), 1 + MAGIC.length)
  return Either.right({ canonical, frames, durationMs: frames * SILK_FRAME_MS })
}
