/**
 * What the server would check of an outgoing media item (PROTOCOL §5.1, §6.1): its `encrypt_query_param`
 * names an object this bot uploaded for this recipient and the CDN confirmed, `aes_key` is base64 of that
 * object's hex key, the sizes are the object's (`mid_size` / `video_size` the ciphertext, `len` the
 * plaintext), the item kind matches the announced `media_type`, and a file name is a plain base name.
 * Each mismatch is a violation; `sentMediaOf` resolves a sent item to the plaintext the user would get.
 */
import type { CdnStore, StoredObject } from "./Cdn.js"

interface MediaRef {
  readonly field: "image_item" | "video_item" | "file_item"
  readonly mediaType: 1 | 2 | 3
  readonly payload: Record<string, unknown>
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

const refOf = (item: unknown): MediaRef | undefined => {
  if (!isObject(item)) return undefined
  const kinds = [
    [2, "image_item", 1],
    [5, "video_item", 2],
    [4, "file_item", 3]
  ] as const
  for (const [type, field, mediaType] of kinds) {
    const payload = item[field]
    if (item["type"] === type && isObject(payload)) return { field, mediaType, payload }
  }
  return undefined
}

/** The uploaded object a sent item refers to, with its kind and file name; undefined for other items. */
export const sentMediaOf = (
  cdn: CdnStore,
  item: unknown
): { readonly kind: "image" | "video" | "file"; readonly fileName: string | undefined; readonly object: StoredObject | undefined } | undefined => {
  const ref = refOf(item)
  if (ref === undefined) return undefined
  const media = isObject(ref.payload["media"]) ? ref.payload["media"] : {}
  const param = typeof media["encrypt_query_param"] === "string" ? media["encrypt_query_param"] : ""
  const kind = ref.field === "image_item" ? "image" : ref.field === "video_item" ? "video" : "file"
  const fileName = typeof ref.payload["file_name"] === "string" ? ref.payload["file_name"] : undefined
  return { kind, fileName, object: cdn.objects.get(param) }
}

/** Problems of the media items of one sendmessage by `botId` to `toUserId`. */
export const mediaItemProblems = (cdn: CdnStore, botId: string, toUserId: string, items: ReadonlyArray<unknown>): Array<string> => {
  const problems: Array<string> = []
  items.forEach((item, index) => {
    const ref = refOf(item)
    if (ref === undefined) return
    const where = `msg.item_list[${index}].${ref.field}`
    const media = isObject(ref.payload["media"]) ? ref.payload["media"] : {}
    const object = cdn.objects.get(typeof media["encrypt_query_param"] === "string" ? media["encrypt_query_param"] : "")
    if (object === undefined || object.origin._tag !== "Upload") {
      problems.push(`${where}.media.encrypt_query_param names no uploaded object`)
      return
    }
    const origin = object.origin
    if (origin.botId !== botId) problems.push(`${where} refers to an upload of another bot`)
    if (origin.toUserId !== toUserId) problems.push(`${where} was uploaded for ${origin.toUserId}, sent to ${toUserId}`)
    if (!object.confirmed) problems.push(`${where} refers to an upload the CDN never confirmed (no x-encrypted-param)`)
    if (origin.mediaType !== ref.mediaType) {
      problems.push(`${where} is sent as media type ${ref.mediaType}, uploaded as ${origin.mediaType}`)
    }
    const expectedKey = Buffer.from(object.keyHex, "ascii").toString("base64")
    if (media["aes_key"] !== expectedKey) problems.push(`${where}.media.aes_key is not base64 of the upload's hex key`)
    const plaintextBytes = object.plaintext?.length
    if (ref.field === "file_item") {
      if (ref.payload["len"] !== String(plaintextBytes)) problems.push(`${where}.len must be the plaintext size ${plaintextBytes}`)
      const name = ref.payload["file_name"]
      // a base name: no path, no control characters, not empty
      if (typeof name !== "string" || name === "" || /[/\\\u0000-\u001f\u007f]/.test(name) || name === "." || name === "..") {
        problems.push(`${where}.file_name must be a plain base name, got ${JSON.stringify(name)}`)
      }
    } else {
      const sizeField = ref.field === "image_item" ? "mid_size" : "video_size"
      if (ref.payload[sizeField] !== object.ciphertext.length) {
        problems.push(`${where}.${sizeField} must be the ciphertext size ${object.ciphertext.length}`)
      }
    }
  })
  return problems
}
