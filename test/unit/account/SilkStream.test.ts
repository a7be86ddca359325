import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { parseSilkStream, SILK_MAX_FRAME_BYTES, type SilkLimits, silkHeaderLength } from "../../../src/account/SilkStream.js"
import { concatBytes } from "../../support/silkFixture.js"

const WECHAT = [0x02, ...Buffer.from("#!SILK_V3")]
const SKYPE = [...Buffer.from("#!SILK_V3")]
const limits: SilkLimits = { maxBytes: 1 << 20, maxDurationMs: 60_000 }

/** One frame: little-endian length, then `size` payload bytes. */
const frame = (size: number, fill = 0x5a) => concatBytes([size & 0xff, (size >> 8) & 0xff], new Uint8Array(size).fill(fill))

const parsed = (bytes: Uint8Array, within: SilkLimits = limits) => Either.getOrThrow(parseSilkStream(bytes, within))
const refused = (bytes: Uint8Array, within: SilkLimits = limits) => {
  const result = parseSilkStream(bytes, within)
  if (Either.isRight(result)) throw new Error("expected a refusal")
  return { problem: result.left.problem, message: result.left.message }
}

describe("silkHeaderLength", () => {
  it("recognises the WeChat form (0x02 #!SILK_V3) and the plain one, nothing else", () => {
    expect(silkHeaderLength(Uint8Array.from(WECHAT))).toBe(10)
    expect(silkHeaderLength(Uint8Array.from(SKYPE))).toBe(9)
    expect(silkHeaderLength(Uint8Array.from([0x02, ...Buffer.from("#!SILK_V2")]))).toBeUndefined()
    expect(silkHeaderLength(Uint8Array.from(Buffer.from("#!AMR\n")))).toBeUndefined()
    expect(silkHeaderLength(Uint8Array.from(WECHAT.slice(0, 6)))).toBeUndefined()
  })
})

describe("parseSilkStream", () => {
  it("counts 20 ms frames and hands the codec the WeChat form, whichever form came in", () => {
    const frames = [frame(60, 1), frame(49, 2), frame(1, 3)]
    const wechat = parsed(concatBytes(WECHAT, ...frames))
    const skype = parsed(concatBytes(SKYPE, ...frames))
    expect(wechat.frames).toBe(3)
    expect(wechat.durationMs).toBe(60)
    expect(Buffer.from(wechat.canonical).equals(Buffer.from(concatBytes(WECHAT, ...frames)))).toBe(true)
    expect(Buffer.from(skype.canonical).equals(Buffer.from(wechat.canonical))).toBe(true)
  })

  it("reads a stream that lies inside a larger buffer", () => {
    const whole = concatBytes([9, 9, 9], WECHAT, frame(5), [7, 7])
    const result = parsed(whole.subarray(3, whole.byteLength - 2))
    expect(result.frames).toBe(1)
    expect(result.canonical.byteLength).toBe(10 + 2 + 5)
  })

  it("ends at a negative length (the encoder's terminator) and drops what follows", () => {
    const result = parsed(concatBytes(WECHAT, frame(10), frame(12), [0xff, 0xff], [1, 2, 3, 4, 5]))
    expect(result.frames).toBe(2)
    expect(Buffer.from(result.canonical).equals(Buffer.from(concatBytes(WECHAT, frame(10), frame(12))))).toBe(true)
  })

  it("accepts empty frames (lost packets) between audible ones, up to the SILK payload maximum", () => {
    const result = parsed(concatBytes(WECHAT, frame(0), frame(SILK_MAX_FRAME_BYTES), frame(0)))
    expect(result.frames).toBe(3)
  })

  it("refuses an empty voice note", () => {
    expect(refused(new Uint8Array(0))).toEqual({ problem: "empty", message: "voice note not decoded (empty): the voice note has 0 bytes" })
  })

  it("refuses bytes without a SILK header, quoting only their first bytes", () => {
    const mp3 = Uint8Array.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00])
    expect(refused(mp3)).toEqual({
      problem: "not_silk",
      message: "voice note not decoded (not silk): no #!SILK_V3 header (it starts with 49 44 33 04); another codec, or a wrong key"
    })
  })

  it("refuses a corrupt stream and says where it broke", () => {
    expect(refused(concatBytes(WECHAT, frame(10), [0x01, 0x04], new Uint8Array(10)))).toEqual({
      problem: "corrupt",
      message: "voice note not decoded (corrupt): frame 2 at byte 22 declares 1025 bytes (at most 1024)"
    })
    expect(refused(concatBytes(WECHAT, frame(10), frame(40).subarray(0, 30)))).toEqual({
      problem: "corrupt",
      message: "voice note not decoded (corrupt): the stream ends inside frame 2: it declares 40 bytes, 28 remain"
    })
    expect(refused(concatBytes(WECHAT, frame(10), [0x05]))).toEqual({
      problem: "corrupt",
      message: "voice note not decoded (corrupt): the stream ends inside the length of frame 2 at byte 22"
    })
  })

  it("refuses a header without audio: nothing after it, only a terminator, or only empty frames", () => {
    expect(refused(Uint8Array.from(WECHAT)).message).toBe("voice note not decoded (corrupt): a SILK header without audio frames")
    expect(refused(concatBytes(WECHAT, [0xff, 0xff])).problem).toBe("corrupt")
    expect(refused(concatBytes(WECHAT, frame(0), frame(0))).problem).toBe("corrupt")
  })

  it("refuses a stream over the byte cap before reading it", () => {
    const stream = concatBytes(WECHAT, frame(100))
    expect(refused(stream, { ...limits, maxBytes: stream.byteLength - 1 })).toEqual({
      problem: "too_large",
      message: `voice note not decoded (too large): the voice note has ${stream.byteLength} bytes, over the cap of ${stream.byteLength - 1}`
    })
    expect(parsed(stream, { ...limits, maxBytes: stream.byteLength }).frames).toBe(1)
  })

  it("refuses more frames than the duration cap allows, empty frames included", () => {
    const fifty = Array.from({ length: 50 }, () => frame(3))
    expect(parsed(concatBytes(WECHAT, ...fifty), { ...limits, maxDurationMs: 1000 }).durationMs).toBe(1000)
    expect(refused(concatBytes(WECHAT, ...fifty, frame(0)), { ...limits, maxDurationMs: 1000 })).toEqual({
      problem: "too_long",
      message: "voice note not decoded (too long): the voice note has over 50 frames, more than the cap of 1000 ms"
    })
  })
})
