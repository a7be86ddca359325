import { describe, expect, it } from "@effect/vitest"
import { pcmDurationMs, VOICE_PCM_FORMAT, WAV_HEADER_BYTES, wavFile } from "../../../src/account/WavContainer.js"

/** Every field of a 44-byte header, read back the way a WAV reader does. */
const readHeader = (file: Uint8Array) => {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const ascii = (offset: number) => String.fromCharCode(...file.subarray(offset, offset + 4))
  return {
    riff: ascii(0),
    riffSize: view.getUint32(4, true),
    wave: ascii(8),
    fmt: ascii(12),
    fmtSize: view.getUint32(16, true),
    format: view.getUint16(20, true),
    channels: view.getUint16(22, true),
    sampleRate: view.getUint32(24, true),
    byteRate: view.getUint32(28, true),
    blockAlign: view.getUint16(32, true),
    bitsPerSample: view.getUint16(34, true),
    data: ascii(36),
    dataSize: view.getUint32(40, true)
  }
}

describe("wavFile", () => {
  it("writes the 44-byte RIFF header of 24 kHz mono 16-bit PCM, then the samples unchanged", () => {
    const pcm = Uint8Array.from({ length: 4800 }, (_, i) => (i * 37) & 0xff)
    const file = wavFile(pcm, VOICE_PCM_FORMAT)
    expect(WAV_HEADER_BYTES).toBe(44)
    expect(file.byteLength).toBe(44 + 4800)
    expect(readHeader(file)).toEqual({
      riff: "RIFF",
      riffSize: 4800 + 36,
      wave: "WAVE",
      fmt: "fmt ",
      fmtSize: 16,
      format: 1,
      channels: 1,
      sampleRate: 24_000,
      byteRate: 48_000,
      blockAlign: 2,
      bitsPerSample: 16,
      data: "data",
      dataSize: 4800
    })
    expect(Buffer.from(file.subarray(44)).equals(Buffer.from(pcm))).toBe(true)
  })

  it("derives byte rate and block align from the format", () => {
    const header = readHeader(wavFile(new Uint8Array(8), { sampleRate: 44_100, channels: 2, bitsPerSample: 16 }))
    expect([header.channels, header.sampleRate, header.byteRate, header.blockAlign, header.bitsPerSample]).toEqual([2, 44_100, 176_400, 4, 16])
  })

  it("makes a valid empty file from no samples", () => {
    const header = readHeader(wavFile(new Uint8Array(0), VOICE_PCM_FORMAT))
    expect([header.riffSize, header.dataSize]).toEqual([36, 0])
  })

  it("refuses samples that are not whole frames", () => {
    expect(() => wavFile(new Uint8Array(3), VOICE_PCM_FORMAT)).toThrow(RangeError)
    expect(() => wavFile(new Uint8Array(6), { sampleRate: 8000, channels: 2, bitsPerSample: 16 })).toThrow(/whole 4-byte frames/)
  })

  it("measures duration: 48 000 bytes of 24 kHz mono 16-bit are one second", () => {
    expect(pcmDurationMs(48_000, VOICE_PCM_FORMAT)).toBe(1000)
    expect(pcmDurationMs(960, VOICE_PCM_FORMAT)).toBe(20)
    expect(pcmDurationMs(47, VOICE_PCM_FORMAT)).toBe(0)
  })
})
