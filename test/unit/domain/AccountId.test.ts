import { describe, expect, it } from "@effect/vitest"
import { FastCheck, Option } from "effect"
import {
  allowFromFileName,
  allowFromSafeKey,
  deriveRawAccountId,
  normalizeAccountId
} from "../../../src/domain/AccountId.js"

describe("normalizeAccountId", () => {
  it("turns an iLink bot id into the official file-name form", () => {
    expect(normalizeAccountId("b0f5860fdecb@im.bot")).toBe("b0f5860fdecb-im-bot")
    expect(normalizeAccountId("  B0F5860FDECB@im.wechat ")).toBe("b0f5860fdecb-im-wechat")
  })

  it("lowercases an id that is already valid and keeps its dashes and underscores", () => {
    expect(normalizeAccountId("Work_Bot-1")).toBe("work_bot-1")
  })

  it("maps blank input to default", () => {
    expect(normalizeAccountId("")).toBe("default")
    expect(normalizeAccountId("   ")).toBe("default")
    expect(normalizeAccountId(undefined)).toBe("default")
  })

  it("collapses runs of other characters to one dash and strips dashes at both ends", () => {
    expect(normalizeAccountId("a//b")).toBe("a-b")
    expect(normalizeAccountId("a/b")).toBe("a-b")
    expect(normalizeAccountId("--x!!y--")).toBe("x-y")
  })

  it("cannot produce a path that leaves the state dir", () => {
    expect(normalizeAccountId("../../etc")).toBe("etc")
    expect(normalizeAccountId("..")).toBe("default")
    expect(normalizeAccountId(".")).toBe("default")
    expect(normalizeAccountId("/")).toBe("default")
    expect(normalizeAccountId("..\\..\\windows")).toBe("windows")
  })

  it("maps prototype-like keys to default", () => {
    expect(normalizeAccountId("__proto__")).toBe("default")
    expect(normalizeAccountId("constructor")).toBe("default")
    expect(normalizeAccountId("Prototype")).toBe("default")
  })

  it("prefixes Windows device names with an underscore", () => {
    expect(normalizeAccountId("CON")).toBe("_con")
    expect(normalizeAccountId("nul")).toBe("_nul")
    expect(normalizeAccountId("Aux")).toBe("_aux")
    expect(normalizeAccountId("prn")).toBe("_prn")
    expect(normalizeAccountId("COM1")).toBe("_com1")
    expect(normalizeAccountId("lpt9")).toBe("_lpt9")
    expect(normalizeAccountId("console")).toBe("console")
  })

  it("cuts long ids to 64 characters", () => {
    expect(normalizeAccountId(`${"x".repeat(100)}@im.bot`)).toHaveLength(64)
  })

  it("always yields a non-empty id of [a-z0-9_-] at most 65 chars long, and is idempotent", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: "binary", maxLength: 120 }), (raw) => {
        const id = normalizeAccountId(raw)
        expect(id).toMatch(/^[a-z0-9_-]{1,65}$/)
        expect(normalizeAccountId(id)).toBe(id)
      })
    )
  })
})

describe("deriveRawAccountId", () => {
  it("restores the raw iLink suffixes", () => {
    expect(deriveRawAccountId("b0f5860fdecb-im-bot")).toBe("b0f5860fdecb@im.bot")
    expect(deriveRawAccountId("abc-im-wechat")).toBe("abc@im.wechat")
    expect(deriveRawAccountId("-im-bot")).toBe("@im.bot")
  })

  it("returns undefined for other ids", () => {
    expect(deriveRawAccountId("")).toBeUndefined()
    expect(deriveRawAccountId("work")).toBeUndefined()
    expect(deriveRawAccountId("abc-im-botx")).toBeUndefined()
  })
})

describe("allowFrom file name", () => {
  it("keeps @ and dots and lowercases", () => {
    expect(allowFromFileName("abc@im.bot")).toEqual(Option.some("openclaw-weixin-abc@im.bot-allowFrom.json"))
    expect(allowFromFileName(" ABC-im-bot ")).toEqual(Option.some("openclaw-weixin-abc-im-bot-allowFrom.json"))
  })

  it("replaces path and reserved characters and parent references", () => {
    expect(allowFromSafeKey("a/b\\c:d*e?f\"g<h>i|j")).toEqual(Option.some("a_b_c_d_e_f_g_h_i_j"))
    expect(allowFromSafeKey("../x")).toEqual(Option.some("__x"))
  })

  it("has no safe form for empty or underscore-only keys", () => {
    expect(allowFromSafeKey("  ")).toEqual(Option.none())
    expect(allowFromSafeKey("/")).toEqual(Option.none())
    expect(allowFromFileName("")).toEqual(Option.none())
  })

  it("never contains a path separator", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ maxLength: 60 }), (raw) => {
        Option.map(allowFromFileName(raw), (name) => {
          expect(name).not.toMatch(/[\\/]/)
          expect(name).not.toContain("..")
        })
      })
    )
  })
})
