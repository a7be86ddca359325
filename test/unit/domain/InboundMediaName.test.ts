import { describe, expect, it } from "@effect/vitest"
import { mimeFromFileName, safeFileName } from "../../../src/domain/InboundMediaName.js"

describe("safeFileName (PROTOCOL §6.3)", () => {
  it("keeps only the last path segment, whatever the separators", () => {
    expect(safeFileName("../../etc/passwd")).toBe("passwd")
    expect(safeFileName("..\\..\\windows\\win.ini")).toBe("win.ini")
    expect(safeFileName("/abs/报告 2024.pdf")).toBe("报告 2024.pdf")
  })

  it("drops control characters and leading dots, and gives up on names with nothing left", () => {
    expect(safeFileName("a\u0000b\nc.txt")).toBe("abc.txt")
    expect(safeFileName(".hidden")).toBe("hidden")
    for (const nothing of [undefined, "", "..", ".", "../", "  ", "a/.."]) expect(safeFileName(nothing)).toBeUndefined()
  })

  it("keeps the end of a very long name, extension included", () => {
    const name = safeFileName(`${"x".repeat(500)}.pdf`)
    expect(name?.length).toBe(200)
    expect(name?.endsWith(".pdf")).toBe(true)
  })
})

describe("mimeFromFileName (PROTOCOL §6.5)", () => {
  it("reads the last extension in any case; unknown or missing is undefined", () => {
    expect(mimeFromFileName("Report.PDF")).toBe("application/pdf")
    expect(mimeFromFileName("a.tar.gz")).toBe("application/gzip")
    expect(mimeFromFileName("photo.JPEG")).toBe("image/jpeg")
    expect(mimeFromFileName("noext")).toBeUndefined()
    expect(mimeFromFileName("a.xyz")).toBeUndefined()
    expect(mimeFromFileName(undefined)).toBeUndefined()
  })
})
