/**
 * Which upload media type a file goes as, by its MIME type (PROTOCOL §5.1, §1.8.5): pictures as IMAGE,
 * videos as VIDEO, everything else as FILE. Audio is a FILE too: the server refuses VOICE uploads
 * (PROTOCOL Appendix C), so a voice note cannot be sent as one.
 *
 * @example
 * ```ts
 * uploadMediaTypeOf("image/png; charset=binary") // 1
 * uploadMediaTypeOf("audio/mpeg") // 3
 * ```
 */
import { UploadMediaType } from "../wire/Message.js"

/** The upload media types we send; VOICE (4) is never one of them. */
export type OutboundUploadMediaType = typeof UploadMediaType.IMAGE | typeof UploadMediaType.VIDEO | typeof UploadMediaType.FILE

/** The media type of a MIME type; parameters and case are ignored, an absent or unknown type is a FILE. */
export const uploadMediaTypeOf = (mime: string | undefined): OutboundUploadMediaType => {
  const essence = (mime ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
  if (essence.startsWith("image/")) return UploadMediaType.IMAGE
  if (essence.startsWith("video/")) return UploadMediaType.VIDEO
  return UploadMediaType.FILE
}
