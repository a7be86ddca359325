/**
 * Voice notes for the agent: a WeChat voice note (SILK v3, PROTOCOL §1.9 `voice_item`) decoded to a WAV
 * file, 24 kHz mono 16-bit (PROTOCOL §6.4), which the host's speech-to-text can read.
 *
 * The codec (SilkCodec.ts) loads on the first voice note, once: concurrent first calls share one load, and
 * a failed load is a typed {@link VoiceDecoderUnavailable} that the next call retries. Every decode is
 * bounded: the stream is checked frame by frame against a byte cap and a duration cap before the codec sees
 * it (SilkStream.ts), the decoded audio is checked against the duration cap again, one decode runs at a time
 * (each holds a codec instance in memory), and a codec that does not answer in time fails typed.
 *
 * @example
 * ```ts
 * const voice = yield* VoiceDecoder
 * const decoded = yield* voice.toWav(silkBytes, { maxBytes: mediaMaxBytes })
 * // decoded.wav: a complete WAV file; decoded.durationMs: its length
 * ```
 */
import { Cause, Duration, Effect, Exit, Layer, ManagedRuntime, Option, SynchronizedRef } from "effect"
import { loadSilkWasm, type SilkCodec, type SilkCodecLoader } from "./SilkCodec.js"
import { parseSilkStream } from "./SilkStream.js"
import { VoiceDecodeError, type VoiceDecoderUnavailable } from "./VoiceDecoderError.js"
import { blockAlign, pcmDurationMs, VOICE_PCM_FORMAT, wavFile } from "./WavContainer.js"

export { VoiceDecodeError, VoiceDecoderUnavailable } from "./VoiceDecoderError.js"

export interface VoiceDecodeLimits {
  /** the SILK stream's size cap in bytes */
  readonly maxBytes: number
  /** the audio's duration cap in milliseconds */
  readonly maxDurationMs: number
  /** how long loading the codec and decoding may take, together */
  readonly timeout: Duration.DurationInput
}

/** WeChat records at most a minute; the caps leave room and still bound memory (5 min of WAV ≈ 14 MB). */
export const DEFAULT_VOICE_LIMITS: VoiceDecodeLimits = {
  maxBytes: 4 * 1024 * 1024,
  maxDurationMs: 5 * 60_000,
  timeout: Duration.seconds(30)
}

export interface DecodedVoice {
  /** a complete WAV file: 44-byte header, then the samples */
  readonly wav: Uint8Array
  readonly mimeType: "audio/wav"
  /** length of the decoded audio */
  readonly durationMs: number
  /** SILK frames in the stream (20 ms each) */
  readonly frames: number
}

export type VoiceDecodeFailure = VoiceDecodeError | VoiceDecoderUnavailable

export interface VoiceDecoderShape {
  /** SILK bytes (with or without the WeChat 0x02 byte) → a WAV file, within `limits` (default {@link DEFAULT_VOICE_LIMITS}) */
  readonly toWav: (silk: Uint8Array, limits?: Partial<VoiceDecodeLimits>) => Effect.Effect<DecodedVoice, VoiceDecodeFailure>
}

/** The decoder over `loader`, which runs on the first call and again only after it failed. */
export const makeVoiceDecoder = (loader: SilkCodecLoader): Effect.Effect<VoiceDecoderShape> =>
  Effect.gen(function*() {
    const loaded = yield* SynchronizedRef.make(Option.none<SilkCodec>())
    // the ref's lock makes concurrent first calls share one load; a failure leaves it empty
    const codec = SynchronizedRef.modifyEffect(loaded, (current) =>
      Option.match(current, {
        onSome: (ready) => Effect.succeed([ready, current] as const),
        onNone: () => Effect.map(loader, (ready) => [ready, Option.some(ready)] as const)
      }))
    const oneAtATime = yield* Effect.makeSemaphore(1)

    const toWav = Effect.fn("VoiceDecoder.toWav")(function*(silk: Uint8Array, limits?: Partial<VoiceDecodeLimits>) {
      const { maxBytes, maxDurationMs, timeout } = { ...DEFAULT_VOICE_LIMITS, ...limits }
      const stream = yield* parseSilkStream(silk, { maxBytes, maxDurationMs })
      // the timer starts once this decode holds the permit: waiting behind another voice note is not hanging
      const pcm = yield* oneAtATime.withPermits(1)(
        codec.pipe(
          Effect.flatMap((ready) => ready.decode(stream.canonical, VOICE_PCM_FORMAT.sampleRate)),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new VoiceDecodeError({
                problem: "timeout",
                detail: `the SILK codec did not finish within ${Duration.format(Duration.decode(timeout))}`
              })
          })
        )
      )
      if (pcm.byteLength === 0 || pcm.byteLength % blockAlign(VOICE_PCM_FORMAT) !== 0) {
        return yield* new VoiceDecodeError({
          problem: "decoder_failed",
          detail: `the SILK codec returned ${pcm.byteLength} bytes of PCM for ${stream.frames} frames`
        })
      }
      const durationMs = pcmDurationMs(pcm.byteLength, VOICE_PCM_FORMAT)
      // a packet may carry several 20 ms frames, so the decoded length is checked as well as the frame count
      if (durationMs > maxDurationMs) {
        return yield* new VoiceDecodeError({
          problem: "too_long",
          detail: `the voice note decodes to ${durationMs} ms, over the cap of ${maxDurationMs} ms`
        })
      }
      return { wav: wavFile(pcm, VOICE_PCM_FORMAT), mimeType: "audio/wav", durationMs, frames: stream.frames } satisfies DecodedVoice
    })

    return { toWav }
  })

export class VoiceDecoder extends Effect.Service<VoiceDecoder>()("openclaw-weixin/VoiceDecoder", {
  effect: makeVoiceDecoder(loadSilkWasm)
}) {
  /** The real decoder over another codec loader: tests of loading, timeouts and codec failures. */
  static readonly layerWith = (loader: SilkCodecLoader): Layer.Layer<VoiceDecoder> =>
    Layer.effect(VoiceDecoder, Effect.map(makeVoiceDecoder(loader), (shape) => VoiceDecoder.make(shape)))

  /** A decoder answering from `toWav`, for tests of the code that handles voice notes. */
  static readonly layerTest = (toWav: VoiceDecoderShape["toWav"]): Layer.Layer<VoiceDecoder> =>
    Layer.succeed(VoiceDecoder, VoiceDecoder.make({ toWav }))
}

let processDecoder: ManagedRuntime.ManagedRuntime<VoiceDecoder, never> | undefined

/**
 * The decoder as a Promise, one per process, for code outside Effect. The package exports it (index.ts),
 * which also keeps the codec inside dist/index.js before voice notes are wired into the account.
 * Rejects with the {@link VoiceDecodeError} or {@link VoiceDecoderUnavailable} itself.
 */
export const silkToWav = async (silk: Uint8Array, limits?: Partial<VoiceDecodeLimits>): Promise<Uint8Array> => {
  processDecoder ??= ManagedRuntime.make(VoiceDecoder.Default)
  const exit = await processDecoder.runPromiseExit(Effect.flatMap(VoiceDecoder, (voice) => voice.toWav(silk, limits)))
  if (Exit.isSuccess(exit)) return exit.value.wav
  throw Cause.squash(exit.cause)
}
