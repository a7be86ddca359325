/**
 * Typed failures of voice-note decoding (SILK → WAV, PROTOCOL §6.4). A voice note that cannot be decoded
 * still reaches the agent as a placeholder; these say why, in words fit for a log line. They quote no
 * audio content beyond sizes and offsets.
 *
 * @example
 * ```ts
 * voice.toWav(silk).pipe(
 *   Effect.catchTags({
 *     VoiceDecodeError: (e) => placeholder(e.message),
 *     VoiceDecoderUnavailable: (e) => placeholder(e.message)
 *   })
 * )
 * ```
 */
import { Schema } from "effect"

/** Why one voice note could not be decoded; the next one may well succeed. */
export const VoiceDecodeProblem = Schema.Literal(
  /** 0 bytes */
  "empty",
  /** no `#!SILK_V3` header: another codec, or a key that decrypted to garbage */
  "not_silk",
  /** a SILK header, then frames that do not add up */
  "corrupt",
  /** more bytes than the size cap */
  "too_large",
  /** more audio than the duration cap */
  "too_long",
  /** the codec itself refused or trapped */
  "decoder_failed",
  /** the codec did not answer in time */
  "timeout"
)
export type VoiceDecodeProblem = typeof VoiceDecodeProblem.Type

export class VoiceDecodeError extends Schema.TaggedError<VoiceDecodeError>("openclaw-weixin/VoiceDecodeError")(
  "VoiceDecodeError",
  {
    problem: VoiceDecodeProblem,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `voice note not decoded (${this.problem.replace("_", " ")}): ${this.detail}`
  }
}

/**
 * The SILK codec could not be loaded (its module or its .wasm missing, unreadable or changed on disk).
 * Nothing about the voice note itself; a later call tries the load again.
 */
export class VoiceDecoderUnavailable extends Schema.TaggedError<VoiceDecoderUnavailable>(
  "openclaw-weixin/VoiceDecoderUnavailable"
)("VoiceDecoderUnavailable", {
  detail: Schema.String
}) {
  override get message(): string {
    return `the SILK voice decoder is unavailable: ${this.detail}; voice notes arrive without audio until it loads`
  }
}

/** A thrown value in one line, for `detail`. */
export const describeCause = (cause: unknown): string => {
  const text = cause instanceof Error ? `${cause.name === "Error" ? "" : `${cause.name}: `}${cause.message}` : String(cause)
  return text.replace(/\s+/g, " ").trim().slice(0, 300)
}
