import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { chunkText, DEFAULT_CHUNK_LIMIT, planChunks } from "../../../src/domain/Chunker.js"

const fenceLine = /^ {0,3}(`{3,}|~{3,})/

/**
 * The documented relation to the source: each chunk is its source span plus only the fence lines it
 * added, spans are in order, and whatever lies between spans (and around them) is whitespace.
 */
const expectFaithful = (text: string, limit: number): void => {
  const spans = planChunks(text, limit)
  let previousEnd = 0
  for (const span of spans) {
    expect(span.text).toBe(span.reopen + text.slice(span.start, span.end) + span.close)
    expect(span.text.length).toBeLessThanOrEqual(limit)
    expect(span.text.trim().length).toBeGreaterThan(0)
    expect(span.start).toBeGreaterThanOrEqual(previousEnd)
    expect(text.slice(previousEnd, span.start).trim()).toBe("")
    if (span.reopen !== "") expect(span.reopen).toMatch(/^ {0,3}(`{3,}|~{3,})[^\n]*\n$/)
    if (span.close !== "") expect(span.close).toMatch(/^\n(`{3,}|~{3,})$/)
    previousEnd = span.end
  }
  expect(text.slice(previousEnd).trim()).toBe("")
  expect(chunkText(text, limit)).toEqual(spans.map((span) => span.text))
}

/** Lines that open or close a fence, counted per chunk: even means every block in the chunk is closed. */
const fenceLineCount = (chunk: string): number => chunk.split("\n").filter((line) => fenceLine.test(line)).length

const startsWithLowSurrogate = (s: string): boolean => {
  const code = s.charCodeAt(0)
  return code >= 0xdc00 && code <= 0xdfff
}

const word = FastCheck.constantFrom("alpha", "beta", "中文", "句子。", "end.", "😀", "👨‍👩‍👧‍👦", "x", "longerword")
const sentence = FastCheck.array(word, { minLength: 1, maxLength: 12 }).map((ws) => ws.join(" "))
const paragraph = FastCheck.array(sentence, { minLength: 1, maxLength: 4 }).map((ss) => ss.join("\n"))
const codeBlock = FastCheck.tuple(
  FastCheck.constantFrom("```", "```ts", "````", "~~~"),
  FastCheck.array(FastCheck.string({ maxLength: 30 }).map((l) => l.replace(/[\n`~]/g, "")), { maxLength: 15 })
).map(([fence, lines]) => `${fence}\n${lines.join("\n")}\n${fence.replace(/[a-z]+$/, "")}`)
const markdownDocument = FastCheck.array(FastCheck.oneof(paragraph, codeBlock), { maxLength: 12 })
  .map((blocks) => blocks.join("\n\n"))

describe("chunkText properties", () => {
  it("keeps every chunk within the limit, non-empty and faithful to the source", () => {
    FastCheck.assert(
      FastCheck.property(markdownDocument, FastCheck.integer({ min: 2, max: 300 }), (text, limit) => {
        expectFaithful(text, limit)
      }),
      { numRuns: 1500 }
    )
  })

  it("splits only at paragraph breaks when every paragraph fits the limit", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(paragraph, { minLength: 1, maxLength: 20 }),
        FastCheck.integer({ min: 0, max: 200 }),
        (paragraphs, slack) => {
          const limit = Math.max(2, ...paragraphs.map((p) => p.length)) + slack
          const text = paragraphs.join("\n\n")
          const chunks = chunkText(text, limit)
          expect(chunks.join("\n\n")).toBe(text)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("never splits a surrogate pair", () => {
    const emojiText = FastCheck.array(FastCheck.constantFrom("😀", "a", " ", "\n", "🇨🇳", "中"), { maxLength: 300 })
      .map((parts) => parts.join(""))
    FastCheck.assert(
      FastCheck.property(emojiText, FastCheck.integer({ min: 2, max: 40 }), (text, limit) => {
        for (const chunk of chunkText(text, limit)) {
          expect(startsWithLowSurrogate(chunk)).toBe(false)
          const last = chunk.charCodeAt(chunk.length - 1)
          expect(last >= 0xd800 && last <= 0xdbff).toBe(false)
        }
        expectFaithful(text, limit)
      }),
      { numRuns: 1000 }
    )
  })

  it("leaves every fenced block closed within each chunk when the limit leaves room to repair", () => {
    FastCheck.assert(
      FastCheck.property(markdownDocument, FastCheck.integer({ min: 80, max: 400 }), (text, limit) => {
        for (const chunk of chunkText(text, limit)) expect(fenceLineCount(chunk) % 2).toBe(0)
      }),
      { numRuns: 1000 }
    )
  })
})

describe("chunkText examples", () => {
  it("returns short text unchanged as a single chunk", () => {
    expect(chunkText("hello *world*\n")).toEqual(["hello *world*\n"])
  })

  it("returns no chunks for empty or blank text", () => {
    expect(chunkText("")).toEqual([])
    expect(chunkText(" \n\t\n")).toEqual([])
  })

  it("uses 2000 code units as the default limit", () => {
    expect(DEFAULT_CHUNK_LIMIT).toBe(2000)
    const text = ("word ".repeat(399) + "word\n\n").repeat(3)
    for (const chunk of chunkText(text)) expect(chunk.length).toBeLessThanOrEqual(2000)
    expect(chunkText("a".repeat(2000))).toHaveLength(1)
    expect(chunkText("a".repeat(2001))).toHaveLength(2)
  })

  it("prefers a paragraph break over a later line break", () => {
    const text = "first paragraph\n\nsecond line one\nsecond line two"
    expect(chunkText(text, 40)).toEqual(["first paragraph", "second line one\nsecond line two"])
  })

  it("falls back to line breaks, then sentence ends, then spaces", () => {
    expect(chunkText("line one here\nline two here", 20)).toEqual(["line one here", "line two here"])
    expect(chunkText("One two. Three four five", 20)).toEqual(["One two.", "Three four five"])
    expect(chunkText("aaa bbb ccc ddd eee", 10)).toEqual(["aaa bbb", "ccc ddd", "eee"])
  })

  it("keeps the indentation of the line that starts a chunk", () => {
    expect(chunkText("intro text\n    indented code", 20)).toEqual(["intro text", "    indented code"])
  })

  it("moves a code block whole into the next chunk rather than splitting it", () => {
    const code = "```ts\n" + "const x = 1\n".repeat(150) + "```"
    const text = "p".repeat(700) + "\n\n" + code + "\n\nafter"
    const chunks = chunkText(text, 2000)
    expect(chunks).toEqual(["p".repeat(700), code + "\n\nafter"])
  })

  it("closes and reopens a code block longer than the limit with the same info string", () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${"=".repeat(40)}`)
    const text = "Intro:\n\n```python title=x\n" + lines.join("\n") + "\n```\nOutro."
    const chunks = chunkText(text, 2000)
    expect(chunks.length).toBeGreaterThan(3)
    const codeChunks = chunks.slice(1, -1)
    for (const chunk of codeChunks) {
      expect(chunk.startsWith("```python title=x\n")).toBe(true)
      expect(chunk.endsWith("\n```")).toBe(true)
      expect(chunk.length).toBeLessThanOrEqual(2000)
    }
    // the code lines come back intact and in order once the added fences are dropped
    const recovered = codeChunks.flatMap((chunk) => chunk.split("\n").slice(1, -1))
    const last = chunks.at(-1)!
    expect(last.endsWith("```\nOutro.")).toBe(true)
    const tail = last.split("\n").slice(1, -2)
    expect([...recovered, ...tail]).toEqual(lines)
    expectFaithful(text, 2000)
  })

  it("cuts a single code line longer than the limit inside the fence and keeps the fences balanced", () => {
    const text = "```\n" + "x".repeat(500) + "\n```"
    const chunks = chunkText(text, 100)
    for (const chunk of chunks) {
      expect(chunk.startsWith("```\n")).toBe(true)
      expect(chunk.endsWith("\n```")).toBe(true)
    }
    expect(chunks.map((c) => c.slice(4, -4)).join("")).toBe("x".repeat(500))
    expectFaithful(text, 100)
  })

  it("splits a 1 MB text into chunks within the limit that reassemble to the original", () => {
    const paragraphText = "The quick brown fox jumps over the lazy dog. ".repeat(30).trim()
    const text = (paragraphText + "\n\n").repeat(Math.ceil(1_048_576 / (paragraphText.length + 2)))
    expect(text.length).toBeGreaterThanOrEqual(1_048_576)
    const chunks = chunkText(text)
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(DEFAULT_CHUNK_LIMIT)
    expect(chunks.join("\n\n") + "\n\n").toBe(text)
  })

  it("splits a 1 MB text without any break characters by hard cuts at the limit", () => {
    const text = "x".repeat(1_048_576)
    const chunks = chunkText(text)
    expect(chunks).toHaveLength(Math.ceil(1_048_576 / 2000))
    expect(chunks.join("")).toBe(text)
  })

  it("splits CJK text without spaces after a full stop", () => {
    const sentenceText = "这是一个没有空格的中文句子。"
    const text = sentenceText.repeat(300)
    const chunks = chunkText(text, 100)
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(100)
      expect(chunk.endsWith("。")).toBe(true)
    }
    expect(chunks.join("")).toBe(text)
  })

  it("hard-cuts CJK text that has no punctuation at exactly the limit", () => {
    const text = "中".repeat(250)
    expect(chunkText(text, 100).map((c) => c.length)).toEqual([100, 100, 50])
  })

  it("moves an emoji that straddles the limit whole into the next chunk", () => {
    const text = "a".repeat(1999) + "😀" + "b".repeat(10)
    expect(chunkText(text)).toEqual(["a".repeat(1999), "😀" + "b".repeat(10)])
  })

  it("keeps a ZWJ emoji sequence together at the boundary", () => {
    const family = "👨‍👩‍👧‍👦"
    const text = "a".repeat(1995) + family + "b"
    expect(chunkText(text)).toEqual(["a".repeat(1995), family + "b"])
  })

  it("treats a nonsensical limit as the smallest workable one or the default", () => {
    expect(chunkText("abcdef", 0)).toEqual(["ab", "cd", "ef"])
    expect(chunkText("abc", Number.NaN)).toEqual(["abc"])
  })
})
