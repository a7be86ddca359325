import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { EmptyPeerIdError, looksLikeWeixinUserId, normalizePeerId } from "../../../src/domain/PeerId.js"

const normalized = (raw: string) => Either.getOrThrow(normalizePeerId(raw))

describe("normalizePeerId", () => {
  it("trims and keeps a bare id in its original case", () => {
    expect(normalized("  o9cq8Abc@im.wechat \n")).toEqual({ id: "o9cq8Abc@im.wechat", key: "o9cq8abc@im.wechat" })
  })

  it.each([
    ["user:o9Cq@im.wechat"],
    ["USER:o9Cq@im.wechat"],
    ["openclaw-weixin:o9Cq@im.wechat"],
    ["OpenClaw-Weixin:user:o9Cq@im.wechat"],
    ["openclaw-weixin: user: o9Cq@im.wechat"],
    ["user:openclaw-weixin:o9Cq@im.wechat"]
  ])("strips the target prefixes of %j but not the id's case", (raw) => {
    expect(normalized(raw)).toEqual({ id: "o9Cq@im.wechat", key: "o9cq@im.wechat" })
  })

  it("leaves a prefix-like text inside the id alone", () => {
    expect(normalized("abcuser:x@im.wechat").id).toBe("abcuser:x@im.wechat")
  })

  it.each([[""], ["   "], ["user:"], ["openclaw-weixin:user:  "]])("fails with EmptyPeerIdError for %j", (raw) => {
    const result = normalizePeerId(raw)
    expect(Either.isLeft(result)).toBe(true)
    const error = Either.getLeft(result).pipe((o) => (o._tag === "Some" ? o.value : undefined))
    expect(error).toBeInstanceOf(EmptyPeerIdError)
    expect(error?._tag).toBe("EmptyPeerIdError")
    expect(error?.raw).toBe(raw)
    expect(error?.message).toContain("@im.wechat")
  })

  it("gives ids that differ only in case or prefix the same key and keeps each id's case", () => {
    const idChar = FastCheck.constantFrom(..."abcXYZ019_-@.")
    const idText = FastCheck.array(idChar, { minLength: 1, maxLength: 20 }).map((cs) => cs.join(""))
      .filter((id) => !/^(openclaw-weixin|user):/i.test(id))
    FastCheck.assert(
      FastCheck.property(idText, FastCheck.constantFrom("", "user:", "openclaw-weixin:", "OPENCLAW-WEIXIN:User:"),
        (id, prefix) => {
          const plain = normalized(id)
          const prefixed = normalized(` ${prefix}${id.toUpperCase()} `)
          expect(prefixed.key).toBe(plain.key)
          expect(prefixed.id).toBe(id.toUpperCase())
          expect(plain.id).toBe(id)
        })
    )
  })
})

describe("looksLikeWeixinUserId", () => {
  it.each([
    ["o9cq8abc@im.wechat", true],
    ["user:o9cq8abc@IM.WECHAT", true],
    ["openclaw-weixin:user:o9cq8abc@im.wechat ", true],
    ["b0f5860fdecb@im.bot", false],
    ["o9cq8abc@im.wechat.example", false],
    ["", false],
    ["user:", false]
  ])("says %j is a WeChat user id: %s", (raw, expected) => {
    expect(looksLikeWeixinUserId(raw)).toBe(expected)
  })
})
