import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import { aesKeyHex } from "../../../src/domain/AesKey.js"
import { inboundDownloadRequest } from "../../../src/ilink/CdnInboundItem.js"

const settings = { cdnBaseUrl: "https://novac2c.cdn.weixin.qq.com/c2c", maxBytes: 100 }
const hexKey = "00112233445566778899aabbccddeeff"
const aesKey = Buffer.from(hexKey, "ascii").toString("base64")
const media = { encrypt_query_param: "eqp", aes_key: aesKey, encrypt_type: 1 }

describe("inboundDownloadRequest (PROTOCOL §1.9, §6.3)", () => {
  it("a file announces its len and md5 for the download to check", () => {
    const request = Either.getOrThrow(inboundDownloadRequest(
      { type: 4, file_item: { media, file_name: "a.pdf", len: "42", md5: "0123456789ABCDEF0123456789ABCDEF" } },
      settings
    ))
    expect([request.expectedSize, request.expectedMd5, request.maxBytes]).toEqual([42, "0123456789abcdef0123456789abcdef", 100])
    expect(Option.map(request.key, aesKeyHex)).toEqual(Option.some(hexKey))
  })

  it("a video announces its video_md5; a malformed md5 or len is not announced", () => {
    const video = Either.getOrThrow(inboundDownloadRequest({ type: 5, video_item: { media, video_md5: "ffffffffffffffffffffffffffffffff" } }, settings))
    expect(video.expectedMd5).toBe("ffffffffffffffffffffffffffffffff")
    const file = Either.getOrThrow(inboundDownloadRequest({ type: 4, file_item: { media, len: "lots", md5: "xyz" } }, settings))
    expect([file.expectedSize, file.expectedMd5]).toEqual([undefined, undefined])
  })

  it("an image takes its aeskey first; a key-less image is plain; a voice needs a key", () => {
    const other = "ffeeddccbbaa99887766554433221100"
    const image = Either.getOrThrow(inboundDownloadRequest({ type: 2, image_item: { media, aeskey: other } }, settings))
    expect(Option.map(image.key, aesKeyHex)).toEqual(Option.some(other))
    const plain = Either.getOrThrow(inboundDownloadRequest({ type: 2, image_item: { media: { encrypt_query_param: "e" } } }, settings))
    expect(Option.isNone(plain.key)).toBe(true)
    const voice = inboundDownloadRequest({ type: 3, voice_item: { media: { encrypt_query_param: "e" } } }, settings)
    expect(Either.isLeft(voice) && voice.left._tag).toBe("AesKeyError")
  })

  it("an item without a media reference cannot be downloaded", () => {
    const result = inboundDownloadRequest({ type: 5, video_item: {} }, settings)
    expect(Either.isLeft(result) && result.left._tag).toBe("CdnNoLocation")
  })
})
