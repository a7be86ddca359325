import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Option, TestClock } from "effect"
import { loadSilkWasm, type SilkCodec, type SilkCodecLoader } from "../../../src/account/SilkCodec.js"
import { type DecodedVoice, silkToWav, VoiceDecoder } from "../../../src/account/VoiceDecoder.js"
import { VoiceDecodeError, VoiceDecoderUnavailable } from "../../../src/account/VoiceDecoderError.js"
import {
  concatBytes,
  encodeSilk,
  rms,
  SEGMENT_TONES,
  segmentMiddle,
  SIGNAL_MS,
  silkFrames,
  testSignal,
  toneLevel
} from "../../support/silkFixture.js"

let original: Int16Array
let voiceNote: Uint8Array
beforeAll(async () => {
  original = testSignal()
  voiceNote = await encodeSilk(original)
}, 30_000)

/** The live codec behind a loader that counts its runs. */
const countingLoader = (inner: SilkCodecLoader = loadSilkWasm) => {
  let loads = 0
  const loader: SilkCodecLoader = Effect.suspend(() => {
    loads += 1
    return inner
  })
  return { loader, loads: () => loads }
}

/** A codec whose decode is `decode`, loaded as is. */
const fakeCodec = (decode: SilkCodec["decode"]): SilkCodecLoader => Effect.succeed({ decode })

const decodeWith = (loader: SilkCodecLoader, silk: Uint8Array, limits?: Parameters<VoiceDecoder["toWav"]>[1]) =>
  Effect.flatMap(VoiceDecoder, (voice) => voice.toWav(silk, limits)).pipe(Effect.provide(VoiceDecoder.layerWith(loader)))

const live = (silk: Uint8Array) => Effect.flatMap(VoiceDecoder, (voice) => voice.toWav(silk)).pipe(Effect.provide(VoiceDecoder.Default))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

const problemOf = (error: VoiceDecodeError | VoiceDecoderUnavailable) =>
  error._tag === "VoiceDecodeError" ? error.problem : error._tag

const samplesOf = (decoded: DecodedVoice) =>
  new Int16Array(decoded.wav.buffer, decoded.wav.byteOffset + 44, (decoded.wav.byteLength - 44) / 2)

describe("VoiceDecoder (live codec)", () => {
  it.effect("decodes a WeChat voice note to a 24 kHz mono 16-bit WAV file as long as the recording", () =>
    Effect.gen(function*() {
      const decoded = yield* live(voiceNote)
      const view = new DataView(decoded.wav.buffer, decoded.wav.byteOffset, decoded.wav.byteLength)
      const ascii = (offset: number) => String.fromCharCode(...decoded.wav.subarray(offset, offset + 4))
      expect([ascii(0), ascii(8), ascii(12), ascii(36)]).toEqual(["RIFF", "WAVE", "fmt ", "data"])
      expect(view.getUint32(4, true)).toBe(decoded.wav.byteLength - 8)
      expect({
        format: view.getUint16(20, true),
        channels: view.getUint16(22, true),
        sampleRate: view.getUint32(24, true),
        byteRate: view.getUint32(28, true),
        blockAlign: view.getUint16(32, true),
        bitsPerSample: view.getUint16(34, true),
        dataBytes: view.getUint32(40, true)
      }).toEqual({ format: 1, channels: 1, sampleRate: 24_000, byteRate: 48_000, blockAlign: 2, bitsPerSample: 16, dataBytes: original.byteLength })
      expect(decoded.mimeType).toBe("audio/wav")
      expect(decoded.durationMs).toBe(SIGNAL_MS)
      expect(decoded.frames).toBe(SIGNAL_MS / 20)
    }))

  it.effect("gives back samples close to the recording: each tone at its loudness and pitch, each silence silent", () =>
    Effect.gen(function*() {
      const decoded = samplesOf(yield* live(voiceNote))
      SEGMENT_TONES.forEach((tone, index) => {
        const before = segmentMiddle(original, index)
        const after = segmentMiddle(decoded, index)
        if (tone === 0) {
          expect(rms(after)).toBeLessThan(100)
        } else {
          expect(Math.abs(rms(after) - rms(before)) / rms(before)).toBeLessThan(0.15)
          const other = tone === 300 ? 700 : 300
          expect(toneLevel(after, tone)).toBeGreaterThan(0.8 * toneLevel(before, tone))
          expect(toneLevel(after, tone)).toBeGreaterThan(20 * toneLevel(after, other))
        }
      })
    }))

  it.effect("decodes the plain form (no 0x02) and a stream with a terminator to the very same audio", () =>
    Effect.gen(function*() {
      const wechat = yield* live(voiceNote)
      const plain = yield* live(voiceNote.subarray(1))
      const terminated = yield* live(concatBytes(voiceNote, [0xff, 0xff]))
      expect(Buffer.from(plain.wav).equals(Buffer.from(wechat.wav))).toBe(true)
      expect(Buffer.from(terminated.wav).equals(Buffer.from(wechat.wav))).toBe(true)
    }))

  it.effect("fails typed on an empty note, on bytes that are not SILK and on a corrupt stream", () =>
    Effect.gen(function*() {
      const empty = failureOf(yield* Effect.exit(live(new Uint8Array(0))))
      const wav = failureOf(yield* Effect.exit(live(Uint8Array.from(Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ")))))
      const truncated = failureOf(yield* Effect.exit(live(voiceNote.subarray(0, voiceNote.byteLength - 5))))
      expect(empty).toBeInstanceOf(VoiceDecodeError)
      expect([empty, wav, truncated].map(problemOf)).toEqual(["empty", "not_silk", "corrupt"])
      expect(truncated.message).toMatch(/^voice note not decoded \(corrupt\): the stream ends inside frame 60: it declares \d+ bytes, \d+ remain$/)
    }))

  it.effect("never dies on damaged audio inside sound framing: every outcome is a WAV or a typed failure", () =>
    Effect.gen(function*() {
      const frames = silkFrames(voiceNote)
      for (let seed = 1; seed <= 6; seed++) {
        // payload bytes scrambled, lengths kept: what a wrong key or a bit-flipping proxy could leave
        const damaged = concatBytes(voiceNote.subarray(0, 10), ...frames.map((frame) =>
          concatBytes(frame.subarray(0, 2), frame.subarray(2).map((b, i) => (b * 31 + i * seed * 17 + seed) & 0xff))
        ))
        const exit = yield* Effect.exit(live(damaged))
        expect(Exit.isSuccess(exit) || Option.isSome(Cause.failureOption(exit.cause))).toBe(true)
      }
    }))

  it.effect("turns a stream the codec refuses into a typed decoder_failed error", () =>
    Effect.gen(function*() {
      const codec = yield* loadSilkWasm
      // the codec reads only the WeChat form; the plain form handed to it directly is refused
      const refusal = failureOf(yield* Effect.exit(codec.decode(voiceNote.subarray(1), 24_000)))
      expect(refusal).toBeInstanceOf(VoiceDecodeError)
      expect(refusal.message).toBe("voice note not decoded (decoder failed): the SILK codec failed: silk decoding failure")
    }))

  it("is exported as a Promise: resolves to the WAV file, rejects with the typed error itself", async () => {
    const wav = await silkToWav(voiceNote)
    expect(wav.byteLength).toBe(44 + original.byteLength)
    const rejection = await silkToWav(Uint8Array.from([1, 2, 3])).then(() => undefined, (error: unknown) => error)
    expect(rejection).toBeInstanceOf(VoiceDecodeError)
    expect((rejection as VoiceDecodeError).problem).toBe("not_silk")
  })
})

describe("VoiceDecoder loading", () => {
  it.effect("loads the codec lazily, on the first voice note, and once for all later and concurrent ones", () =>
    Effect.gen(function*() {
      const counted = countingLoader()
      const voice = yield* Effect.provide(VoiceDecoder, VoiceDecoder.layerWith(counted.loader))
      expect(counted.loads()).toBe(0)
      const decoded = yield* Effect.all([voice.toWav(voiceNote), voice.toWav(voiceNote), voice.toWav(voiceNote)], { concurrency: "unbounded" })
      expect(counted.loads()).toBe(1)
      yield* voice.toWav(voiceNote.subarray(1))
      expect(counted.loads()).toBe(1)
      expect(decoded.map((d) => d.durationMs)).toEqual([SIGNAL_MS, SIGNAL_MS, SIGNAL_MS])
    }))

  it.effect("does not load the codec for a note refused before decoding", () =>
    Effect.gen(function*() {
      const counted = countingLoader()
      const voice = yield* Effect.provide(VoiceDecoder, VoiceDecoder.layerWith(counted.loader))
      const refusals = yield* Effect.all([
        Effect.flip(voice.toWav(new Uint8Array(0))),
        Effect.flip(voice.toWav(Uint8Array.from([0x49, 0x44, 0x33]))),
        Effect.flip(voice.toWav(voiceNote, { maxBytes: voiceNote.byteLength - 1 })),
        Effect.flip(voice.toWav(voiceNote, { maxDurationMs: SIGNAL_MS - 20 }))
      ])
      expect(refusals.map(problemOf)).toEqual(["empty", "not_silk", "too_large", "too_long"])
      expect(counted.loads()).toBe(0)
    }))

  it.effect("reports a failed load as VoiceDecoderUnavailable, then loads again on the next note", () =>
    Effect.gen(function*() {
      let attempts = 0
      const flaky: SilkCodecLoader = Effect.suspend(() =>
        ++attempts === 1 ? Effect.fail(new VoiceDecoderUnavailable({ detail: "cannot read silk.wasm: ENOENT" })) : loadSilkWasm
      )
      const voice = yield* Effect.provide(VoiceDecoder, VoiceDecoder.layerWith(flaky))
      const first = yield* Effect.flip(voice.toWav(voiceNote))
      expect(first).toBeInstanceOf(VoiceDecoderUnavailable)
      expect(first.message).toBe(
        "the SILK voice decoder is unavailable: cannot read silk.wasm: ENOENT; voice notes arrive without audio until it loads"
      )
      expect((yield* voice.toWav(voiceNote)).durationMs).toBe(SIGNAL_MS)
      yield* voice.toWav(voiceNote)
      expect(attempts).toBe(2)
    }))
})

describe("VoiceDecoder bounds", () => {
  it.effect("fails with a timeout when the codec does not answer (virtual time)", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(decodeWith(fakeCodec(() => Effect.never), voiceNote, { timeout: "10 seconds" }))
      yield* TestClock.adjust("9999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = failureOf(yield* Fiber.await(fiber))
      expect(error).toBeInstanceOf(VoiceDecodeError)
      expect(error.message).toBe("voice note not decoded (timeout): the SILK codec did not finish within 10s")
    }))

  it.effect("refuses decoded audio longer than the cap even when the frame count was within it", () =>
    Effect.gen(function*() {
      // 60 frames may decode to more than 1.2 s when packets carry several frames
      const threeSeconds = new Uint8Array(3 * 48_000)
      const error = yield* Effect.flip(decodeWith(fakeCodec(() => Effect.succeed(threeSeconds)), voiceNote, { maxDurationMs: 2000 }))
      expect(error.message).toBe("voice note not decoded (too long): the voice note decodes to 3000 ms, over the cap of 2000 ms")
    }))

  it.effect("refuses an empty or odd-sized answer from the codec", () =>
    Effect.gen(function*() {
      const empty = yield* Effect.flip(decodeWith(fakeCodec(() => Effect.succeed(new Uint8Array(0))), voiceNote))
      const odd = yield* Effect.flip(decodeWith(fakeCodec(() => Effect.succeed(new Uint8Array(3))), voiceNote))
      expect(empty.message).toBe("voice note not decoded (decoder failed): the SILK codec returned 0 bytes of PCM for 60 frames")
      expect(problemOf(odd)).toBe("decoder_failed")
    }))

  it.effect("decodes one note at a time, and a note waiting its turn is not timed out by the wait", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const started: Array<number> = []
      let calls = 0
      const gated = fakeCodec(() =>
        Effect.suspend(() => {
          const call = ++calls
          started.push(call)
          return call === 1 ? Effect.as(Deferred.await(release), new Uint8Array(960)) : Effect.succeed(new Uint8Array(960))
        })
      )
      const voice = yield* Effect.provide(VoiceDecoder, VoiceDecoder.layerWith(gated))
      const first = yield* Effect.fork(voice.toWav(voiceNote, { timeout: "10 seconds" }))
      const second = yield* Effect.fork(voice.toWav(voiceNote, { timeout: "10 seconds" }))
      yield* TestClock.adjust("9 seconds")
      expect(started).toEqual([1])
      yield* Deferred.succeed(release, undefined)
      yield* TestClock.adjust("9 seconds")
      const results = yield* Effect.all([Fiber.join(first), Fiber.join(second)])
      expect(started).toEqual([1, 2])
      expect(results.map((r) => r.durationMs)).toEqual([20, 20])
    }))
})
