/**
 * The WAV container a decoded voice note travels in (PROTOCOL §6.4): a 44-byte RIFF header (`RIFF`, `WAVE`,
 * one `fmt ` chunk for integer PCM, one `data` chunk) followed by the little-endian samples. Pure: no I/O.
 *
 * @example
 * ```ts
 * const wav = wavFile(pcm, VOICE_PCM_FORMAT) // 44 + pcm.length bytes, ready for the host's media store
 * ```
 */

/** Shape of the samples: integer PCM, little-endian, interleaved when there is more than one channel. */
export interface PcmFormat {
  readonly sampleRate: number
  readonly channels: number
  readonly bitsPerSample: 8 | 16 | 24 | 32
}

/** Voice notes become 24 kHz mono 16-bit PCM (PROTOCOL §6.4), what the host's speech-to-text reads. */
export const VOICE_PCM_FORMAT: PcmFormat = { sampleRate: 24_000, channels: 1, bitsPerSample: 16 }

export const WAV_HEADER_BYTES = 44

/** RIFF sizes are 32-bit: the largest data chunk a 44-byte header can describe. */
export const WAV_MAX_DATA_BYTES = 0xffff_ffff - (WAV_HEADER_BYTES - 8)

/** Bytes of one sample frame (one sample of every channel). */
export const blockAlign = (format: PcmFormat): number => format.channels * (format.bitsPerSample / 8)

/** Bytes of one second of audio. */
export const byteRate = (format: PcmFormat): number => format.sampleRate * blockAlign(format)

/** Milliseconds of audio in `pcmBytes` bytes of samples (rounded down). */
export const pcmDurationMs = (pcmBytes: number, format: PcmFormat): number =>
  Math.floor((pcmBytes * 1000) / byteRate(format))

/**
 * `pcm` wrapped in a WAV file. The samples must be whole sample frames and fit a RIFF size; callers bound
 * them first, so a violation is a programming error (thrown), not an input problem.
 */
export const wavFile = (pcm: Uint8Array, format: PcmFormat): Uint8Array => {
  const align = blockAlign(format)
  if (!Number.isInteger(align) || align <= 0 || !Number.isInteger(format.sampleRate) || format.sampleRate <= 0) {
    throw new RangeError(`wavFile: unusable PCM format ${JSON.stringify(format)}`)
  }
  if (pcm.byteLength % align !== 0 || pcm.byteLength > WAV_MAX_DATA_BYTES) {
    throw new RangeError(`wavFile: ${pcm.byteLength} bytes are not whole ${align}-byte frames under the RIFF limit`)
  }
  const file = new Uint8Array(WAV_HEADER_BYTES + pcm.byteLength)
  const view = new DataView(file.buffer)
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i))
  }
  ascii(0, "RIFF")
  view.setUint32(4, file.byteLength - 8, true)
  ascii(8, "WAVE")
  ascii(12, "fmt ")
  view.setUint32(16, 16, true) // fmt chunk size for plain PCM
  view.setUint16(20, 1, true) // format 1: integer PCM
  view.setUint16(22, format.channels, true)
  view.setUint32(24, format.sampleRate, true)
  view.setUint32(28, byteRate(format), true)
  view.setUint16(32, align, true)
  view.setUint16(34, format.bitsPerSample, true)
  ascii(36, "data")
  view.setUint32(40, pcm.byteLength, true)
  file.set(pcm, WAV_HEADER_BYTES)
  return file
}
