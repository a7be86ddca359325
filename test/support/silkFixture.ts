/**
 * Real SILK voice data for tests, made with the codec's own encoder from a known signal: four 300 ms
 * segments (a 300 Hz tone, silence, a 700 Hz tone, silence) at 24 kHz, so a decode can be checked against
 * what went in, segment by segment.
 */
import { encode } from "silk-wasm"

export const SAMPLE_RATE = 24_000
export const SEGMENT_MS = 300
/** tone of each segment in Hz; 0 is silence */
export const SEGMENT_TONES = [300, 0, 700, 0] as const
export const SIGNAL_MS = SEGMENT_MS * SEGMENT_TONES.length
const AMPLITUDE = 8_000

/** The known signal: 16-bit mono samples at 24 kHz. */
export const testSignal = (): Int16Array => {
  const perSegment = (SAMPLE_RATE * SEGMENT_MS) / 1000
  const samples = new Int16Array(perSegment * SEGMENT_TONES.length)
  for (let i = 0; i < samples.length; i++) {
    const tone = SEGMENT_TONES[Math.floor(i / perSegment)] ?? 0
    samples[i] = tone === 0 ? 0 : Math.round(AMPLITUDE * Math.sin((2 * Math.PI * tone * i) / SAMPLE_RATE))
  }
  return samples
}

/** `samples` encoded as WeChat sends voice notes: `0x02 "#!SILK_V3"`, then 20 ms frames. */
export const encodeSilk = async (samples: Int16Array): Promise<Uint8Array> =>
  (await encode(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength), SAMPLE_RATE)).data

/** The frames of a WeChat-form stream, each with its 2-byte length. */
export const silkFrames = (stream: Uint8Array): Array<Uint8Array> => {
  const frames: Array<Uint8Array> = []
  let offset = 10
  while (offset < stream.byteLength) {
    const size = stream[offset]! | (stream[offset + 1]! << 8)
    frames.push(stream.subarray(offset, offset + 2 + size))
    offset += 2 + size
  }
  return frames
}

export const concatBytes = (...parts: ReadonlyArray<Uint8Array | ReadonlyArray<number>>): Uint8Array => {
  const arrays = parts.map((part) => (part instanceof Uint8Array ? part : Uint8Array.from(part)))
  const out = new Uint8Array(arrays.reduce((sum, part) => sum + part.byteLength, 0))
  let offset = 0
  for (const part of arrays) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** Root mean square of the samples. */
export const rms = (samples: Int16Array): number =>
  Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / Math.max(1, samples.length))

/** Amplitude of the `hz` component of the samples (Goertzel). */
export const toneLevel = (samples: Int16Array, hz: number): number => {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE)
  let previous = 0
  let beforePrevious = 0
  for (const x of samples) {
    const current = x + coefficient * previous - beforePrevious
    beforePrevious = previous
    previous = current
  }
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
  return (2 * Math.sqrt(Math.max(0, power))) / samples.length
}

/** The middle of segment `index`, leaving out `marginMs` at each edge (the codec shifts audio by a few frames). */
export const segmentMiddle = (samples: Int16Array, index: number, marginMs = 80): Int16Array => {
  const perSegment = (SAMPLE_RATE * SEGMENT_MS) / 1000
  const margin = (SAMPLE_RATE * marginMs) / 1000
  return samples.subarray(index * perSegment + margin, (index + 1) * perSegment - margin)
}
