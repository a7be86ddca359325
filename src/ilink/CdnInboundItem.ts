/**
 * From an inbound media item to the download that fetches it (PROTOCOL §1.9, §6.1, §6.3): its CDN
 * reference, its key (an image's `aeskey` first; a key-less image is plain), and what it announces about
 * the plaintext (`len` and `md5` of a file, `video_md5` of a video), so the download can check them.
 *
 * @example
 * ```ts
 * const request = yield* inboundDownloadRequest(item, { cdnBaseUrl, maxBytes })
 * const bytes = yield* cdn.bytes(request)
 * ```
 */
import { Either } from "effect"
import { type AesKeyError, inboundMediaKey, type MediaItemKind } from "../domain/AesKey.js"
import type { CDNMedia, FileMessageItem, ImageMessageItem, VideoMessageItem, VoiceMessageItem } from "../wire/Message.js"
import { type CdnDownloadRequest, itemLength } from "./CdnDownload.js"
import { CdnNoLocation } from "./CdnError.js"

export type InboundMediaItem = ImageMessageItem | VoiceMessageItem | FileMessageItem | VideoMessageItem

const hexMd5 = (value: string | undefined) => (value !== undefined && /^[0-9a-fA-F]{32}$/.test(value.trim()) ? value.trim().toLowerCase() : undefined)

interface Described {
  readonly kind: MediaItemKind
  readonly media: CDNMedia | undefined
  readonly imageAeskey?: string | undefined
  readonly size?: number | undefined
  readonly md5?: string | undefined
}

const describeItem = (item: InboundMediaItem): Described => {
  switch (item.type) {
    case 2:
      return { kind: "image", media: item.image_item.media, imageAeskey: item.image_item.aeskey }
    case 3:
      return { kind: "voice", media: item.voice_item.media }
    case 4:
      return { kind: "file", media: item.file_item.media, size: itemLength(item.file_item.len), md5: hexMd5(item.file_item.md5) }
    case 5:
      return { kind: "video", media: item.video_item.media, md5: hexMd5(item.video_item.video_md5) }
  }
}

/** The download of an item's media (the original, not a thumbnail). */
export const inboundDownloadRequest = (
  item: InboundMediaItem,
  settings: { readonly cdnBaseUrl: string; readonly maxBytes: number }
): Either.Either<CdnDownloadRequest, AesKeyError | CdnNoLocation> => {
  const described = describeItem(item)
  const media = described.media
  if (media === undefined) {
    return Either.left(new CdnNoLocation({ operation: "download", detail: `the ${described.kind} item has no media reference` }))
  }
  return Either.map(
    inboundMediaKey({ kind: described.kind, aesKey: media.aes_key, imageAeskey: described.imageAeskey }),
    (key): CdnDownloadRequest => ({
      media,
      key,
      cdnBaseUrl: settings.cdnBaseUrl,
      maxBytes: settings.maxBytes,
      ...(described.size === undefined ? {} : { expectedSize: described.size }),
      ...(described.md5 === undefined ? {} : { expectedMd5: described.md5 })
    })
  )
}
