import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { filterMarkdown, MarkdownFilter } from "../../../src/domain/MarkdownFilter.js"

/** Feeds `text` cut at the given offsets and returns everything the filter produced. */
const feedSplit = (text: string, cuts: ReadonlyArray<number>): string => {
  const filter = new MarkdownFilter()
  const offsets = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b)
  let output = ""
  let previous = 0
  for (const offset of offsets) {
    output += filter.feed(text.slice(previous, offset))
    previous = offset
  }
  return output + filter.feed(text.slice(previous)) + filter.flush()
}

describe("filterMarkdown (one-shot examples of PROTOCOL §5.4)", () => {
  it.each([
    ["before ![alt](url) after", "before  after"],
    ["*中文*", "中文"],
    ["*hello 你好*", "hello 你好"],
    ["English *中文* English", "English 中文 English"],
    ["##### Small Heading", "Small Heading"],
    ["###### Smaller", "Smaller"],
    ["> *中*", "> 中"],
    ["*unclosed\nnext", "*unclosed\nnext"],
    ["![alt](url", "![alt](url"]
  ])("turns %j into %j", (input, expected) => {
    expect(filterMarkdown(input)).toBe(expected)
  })

  it("counts Hangul and CJK compatibility ideographs as CJK, but not fullwidth Latin", () => {
    expect(filterMarkdown("*한국어*")).toBe("한국어")
    expect(filterMarkdown("*\uF900*")).toBe("\uF900")
    expect(filterMarkdown("*\u2E80*")).toBe("\u2E80")
    expect(filterMarkdown("*ｆｕｌｌ*")).toBe("*ｆｕｌｌ*")
  })

  it("keeps emphasis whose content has no CJK, re-wrapped exactly", () => {
    const text = "a *word* b _word_ c ***strong*** d ___strong___"
    expect(filterMarkdown(text)).toBe(text)
  })

  it("strips triple markers around CJK content but keeps double markers", () => {
    expect(filterMarkdown("***重要*** and ___注意___")).toBe("重要 and 注意")
    expect(filterMarkdown("**粗体** and __下划__")).toBe("**粗体** and __下划__")
  })

  it("keeps headings H1-H4, rules, lists, quotes, tables, links and strikethrough verbatim", () => {
    const text = [
      "# H1",
      "#### H4",
      "---",
      "***",
      "___",
      "- - -",
      "- item *one*",
      "* item",
      "1. first",
      "> quoted",
      "| a | b |",
      "|---|---|",
      "[link](https://example.com) ~~gone~~",
      "####### seven hashes stay"
    ].join("\n")
    expect(filterMarkdown(text)).toBe(text)
  })

  it("only strips an H5/H6 prefix at the start of a line", () => {
    expect(filterMarkdown("text ##### not a heading")).toBe("text ##### not a heading")
    expect(filterMarkdown("intro\n##### Small")).toBe("intro\nSmall")
    expect(filterMarkdown("#####no space")).toBe("#####no space")
  })

  it("leaves code fences and everything inside them untouched", () => {
    const text = "```md\n*中文* ![x](y)\n##### h\n```\n*中文*"
    expect(filterMarkdown(text)).toBe("```md\n*中文* ![x](y)\n##### h\n```\n中文")
  })

  it("leaves inline code untouched", () => {
    expect(filterMarkdown("run `*中文*` now *中文*")).toBe("run `*中文*` now 中文")
    expect(filterMarkdown("a `` ` `` b")).toBe("a `` ` `` b")
  })

  it("keeps a bracket that is not followed by a link target", () => {
    expect(filterMarkdown("look ![this] here")).toBe("look ![this] here")
  })

  it("does not let an unfinished image or triple marker swallow later lines", () => {
    expect(filterMarkdown("![broken\n```\n![x](y)\n```")).toBe("![broken\n```\n![x](y)\n```")
    expect(filterMarkdown("***open\n##### h")).toBe("***open\nh")
  })

  it("passes snake_case identifiers through", () => {
    expect(filterMarkdown("call my_func_name now")).toBe("call my_func_name now")
  })
})

describe("MarkdownFilter streaming (PROTOCOL §5.4)", () => {
  it("holds a trailing * until it knows whether it opens emphasis", () => {
    const filter = new MarkdownFilter()
    expect(filter.feed("hello *")).toBe("hello ")
    expect(filter.feed("world* end")).toBe("*world* end")
    expect(filter.flush()).toBe("")
  })

  it("holds a trailing ! until it knows whether an image follows", () => {
    const filter = new MarkdownFilter()
    expect(filter.feed("see !")).toBe("see ")
    expect(filter.feed("[alt](url) end")).toBe(" end")
    expect(filter.flush()).toBe("")
  })

  it("does not hold a trailing ~", () => {
    const filter = new MarkdownFilter()
    expect(filter.feed("text ~")).toBe("text ~")
  })

  it("holds inline code until its closing backticks arrive and passes it verbatim", () => {
    const filter = new MarkdownFilter()
    expect(filter.feed("run `*中")).toBe("run ")
    expect(filter.feed("文*` ok *中*")).toBe("`*中文*` ok ")
    expect(filter.flush()).toBe("中")
  })

  it("treats backticks that never close on their line as literal and filters the rest of the line", () => {
    const filter = new MarkdownFilter()
    expect(filter.feed("a ` *中文*")).toBe("a ")
    expect(filter.feed("\nnext")).toBe("` 中文\nnext")
  })

  it("emits the opening marker and its content unprocessed when the stream ends inside emphasis", () => {
    const filter = new MarkdownFilter()
    expect(filter.feed("a *中文 still open")).toBe("a ")
    expect(filter.flush()).toBe("*中文 still open")
  })

  it("can be reused after flush, starting again at a line start", () => {
    const filter = new MarkdownFilter()
    filter.feed("```\ncode")
    filter.flush()
    expect(filter.feed("##### next\n")).toBe("next\n")
  })
})

// an alphabet dense in the characters the state machine reacts to
const markdownPiece = FastCheck.constantFrom(
  "*", "_", "!", "[", "]", "(", ")", "#", "`", "~", "-", ">", "|", " ", "\t", "\n", "a", "b", "中", "文",
  "```", "##### ", "![x](y)", "***", "___", "**", "__", "\n---\n", "`c`", "😀"
)
const markdownText = FastCheck.array(markdownPiece, { maxLength: 60 }).map((pieces) => pieces.join(""))

describe("MarkdownFilter properties", () => {
  it("gives the same output for any split of the input as for the whole input", () => {
    FastCheck.assert(
      FastCheck.property(markdownText, FastCheck.array(FastCheck.nat(), { maxLength: 12 }), (text, cuts) => {
        expect(feedSplit(text, cuts)).toBe(filterMarkdown(text))
      }),
      { numRuns: 3000 }
    )
  })

  it("gives the same output when fed one character at a time", () => {
    FastCheck.assert(
      FastCheck.property(markdownText, (text) => {
        const filter = new MarkdownFilter()
        let output = ""
        for (const c of text) output += filter.feed(c)
        expect(output + filter.flush()).toBe(filterMarkdown(text))
      }),
      { numRuns: 1000 }
    )
  })

  it("passes text without any of the characters *_!#`~- through unchanged", () => {
    const plain = FastCheck.string({ unit: "grapheme", maxLength: 200 }).map((s) => s.replace(/[*_!#`~-]/g, ""))
    const withNewlines = FastCheck.array(plain, { maxLength: 5 }).map((lines) => lines.join("\n"))
    FastCheck.assert(
      FastCheck.property(withNewlines, FastCheck.array(FastCheck.nat(), { maxLength: 5 }), (text, cuts) => {
        expect(filterMarkdown(text)).toBe(text)
        expect(feedSplit(text, cuts)).toBe(text)
      }),
      { numRuns: 1000 }
    )
  })

  it("never changes the content of a code fence, whatever surrounds it", () => {
    const codeLine = FastCheck.string({ unit: "grapheme-ascii", maxLength: 40 })
      .map((line) => line.replace(/\n/g, ""))
      .filter((line) => !line.startsWith("```"))
    const code = FastCheck.array(FastCheck.oneof(codeLine, markdownText.map((t) => t.replace(/\n/g, "")))
      .filter((line) => !line.startsWith("```")), { maxLength: 6 }).map((lines) => lines.join("\n"))
    // surrounding text may hold any markup but no backticks of its own, and ends its last line
    const around = markdownText.map((t) => t.replace(/`/g, ""))
    FastCheck.assert(
      FastCheck.property(around, code, around, (before, body, after) => {
        const block = "```py\n" + body + "\n```\n"
        const text = before + "\n" + block + after
        expect(filterMarkdown(text)).toContain("\n" + block)
      }),
      { numRuns: 2000 }
    )
  })
})
