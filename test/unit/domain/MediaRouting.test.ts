import { describe, expect, it } from "@effect/vitest"
import { uploadMediaTypeOf } from "../../../src/domain/MediaRouting.js"

describe("uploadMediaTypeOf (PROTOCOL §5.1)", () => {
  it("sends pictures as IMAGE (1), videos as VIDEO (2)", () => {
    expect(["image/png", "image/jpeg", "IMAGE/WEBP", "image/gif; foo=bar"].map(uploadMediaTypeOf)).toEqual([1, 1, 1, 1])
    expect(["video/mp4", "video/quicktime", " Video/webm "].map(uploadMediaTypeOf)).toEqual([2, 2, 2])
  })

  it("sends everything else as FILE (3): documents, audio, unknown and absent types", () => {
    expect(
      ["application/pdf", "audio/mpeg", "audio/silk", "text/plain", "application/octet-stream", "", "imagefoo", undefined]
        .map(uploadMediaTypeOf)
    ).toEqual([3, 3, 3, 3, 3, 3, 3, 3])
  })
})
