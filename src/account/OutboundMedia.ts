/**
 * Outbound media as the Outbox sends it (PROTOCOL §5.1, §6.2): a loaded file (its plaintext as an
 * `UploadSource`, its MIME type and base name) becomes, after its upload to the CDN, one IMAGE, VIDEO or
 * FILE item. Loading is the host's business (src/host/MediaLoader.ts); this file only uploads and shapes
 * the item, so the Outbox can treat a media item like a text chunk: same order, same token, own receipt.
 *
 * @example
 * ```ts
 * const item = yield* uploadMediaItem(uploader, { to: "u@im.wechat", media: { source, contentType: "image/png", fileName: "chart.png" } })
 * ```
 */
import { Effect, Schema } from "effect"
import { type OutboundUploadMediaType, uploadMediaTypeOf } from "../domain/MediaRouting.js"
import type { CdnUpload, UploadedMedia } from "../ilink/CdnUpload.js"
import type { UploadSource } from "../ilink/CdnUploadSource.js"
import type { ILinkConnection } from "../ilink/ILinkConnection.js"
import { UploadMediaType, type MessageItem, MessageItemType } from "../wire/Message.js"

/** One file to send: the bytes as they were loaded (never re-encoded), its MIME type and its name. */
export interface OutboundMedia {
  readonly source: UploadSource
  /** decides IMAGE / VIDEO / FILE (PROTOCOL §5.1); unknown or absent is a FILE */
  readonly contentType: string | undefined
  /** the base name shown for a FILE (`file_item.file_name`) */
  readonly fileName: string
  /** send as a FILE whatever the MIME type (the host's `forceDocument`) */
  readonly asFile?: boolean | undefined
}

/** What the Outbox needs to upload: the CDN client and the account's CDN base URL. */
export interface MediaUploader {
  readonly cdn: CdnUpload
  readonly cdnBaseUrl: string
}

/** A file of a send could not be uploaded; nothing of that send went out. */
export class MediaUploadFailed extends Schema.TaggedError<MediaUploadFailed>("openclaw-weixin/MediaUploadFailed")(
  "MediaUploadFailed",
  {
    peer: Schema.String,
    fileName: Schema.String,
    /** the tag of the CDN or iLink error behind it */
    cause: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    return `the file ${JSON.stringify(this.fileName)} for ${this.peer} could not be uploaded to WeChat's CDN: ${this.reason}; ` +
      "nothing of this message was sent"
  }
}

/** The upload media type of a file: its MIME type's, unless the caller asked for a document. */
export const mediaTypeOf = (media: OutboundMedia): OutboundUploadMediaType =>
  media.asFile === true ? UploadMediaType.FILE : uploadMediaTypeOf(media.contentType)

/** The item that references an uploaded file (PROTOCOL §5.1 shapes). */
export const mediaItemOf = (
  mediaType: OutboundUploadMediaType,
  uploaded: UploadedMedia,
  fileName: string
): MessageItem => {
  switch (mediaType) {
    case UploadMediaType.IMAGE:
      return { type: MessageItemType.IMAGE, image_item: { media: uploaded.media, mid_size: uploaded.ciphertextBytes } }
    case UploadMediaType.VIDEO:
      return { type: MessageItemType.VIDEO, video_item: { media: uploaded.media, video_size: uploaded.ciphertextBytes } }
    case UploadMediaType.FILE:
      return {
        type: MessageItemType.FILE,
        file_item: { media: uploaded.media, file_name: fileName, len: String(uploaded.plaintextBytes) }
      }
  }
}

/** Uploads one file for `to` and answers the item that shows it. */
export const uploadMediaItem = (
  uploader: MediaUploader,
  request: { readonly conn: ILinkConnection; readonly to: string; readonly media: OutboundMedia }
): Effect.Effect<MessageItem, MediaUploadFailed> => {
  const mediaType = mediaTypeOf(request.media)
  return uploader.cdn.upload({
    conn: request.conn,
    toUserId: request.to,
    mediaType,
    source: request.media.source,
    cdnBaseUrl: uploader.cdnBaseUrl
  }).pipe(
    Effect.map((uploaded) => mediaItemOf(mediaType, uploaded, request.media.fileName)),
    Effect.mapError((error) =>
      new MediaUploadFailed({ peer: request.to, fileName: request.media.fileName, cause: error._tag, reason: error.message })
    ),
    Effect.withSpan("Outbox.uploadMedia")
  )
}
