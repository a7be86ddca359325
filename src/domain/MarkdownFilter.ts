/**
 * Streaming Markdown filter for outbound text (PROTOCOL §5.4).
 *
 * WeChat renders most Markdown acceptably, so the filter keeps nearly everything and only removes what
 * shows up badly: images (`![alt](url)`, alt included), H5/H6 heading prefixes, and single/triple
 * emphasis markers around text that contains CJK characters (WeChat does not render them there).
 * Code fences and inline code are never touched.
 *
 * Two deliberate differences from the official filter: inline code spans are skipped whole (it claims to
 * keep them but filters their content), and an unfinished `![` or `***`/`___` gives up at the end of its
 * line instead of swallowing the rest of the reply, code fences included.
 *
 * The filter is a small state machine over a pending buffer. It holds back only the characters whose
 * meaning depends on what comes next (a trailing `*`, `_`, `!`, an unfinished fence line, an open
 * inline construct), so feeding any split of a text yields the same output as feeding it whole.
 *
 * @example
 * ```ts
 * filterMarkdown("English *中文* ![logo](x.png)") // "English 中文 "
 * const filter = new MarkdownFilter()
 * filter.feed("hello *") // "hello "
 * filter.feed("world*")  // "*world*"
 * filter.flush()         // ""
 * ```
 */

const CJK = /[\u2E80-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF]/

const FENCE = "```"

/** True when the text contains a character that WeChat's emphasis rendering chokes on. */
export const containsCjk = (text: string): boolean => CJK.test(text)

type InlineKind = "image" | "bold3" | "italic" | "ubold3" | "uitalic" | "code"

interface OpenInline {
  readonly kind: InlineKind
  /** the opening marker as written (`![`, `***`, `*`, `___`, `_`, or a run of backticks) */
  readonly marker: string
  acc: string
  /** how much of `acc` has been scanned without reaching a decision, so long lines are scanned once */
  scanned: number
}

const isOnly = (text: string, allowed: (c: string) => boolean): boolean => {
  for (const c of text) if (!allowed(c)) return false
  return true
}

export class MarkdownFilter {
  private pending = ""
  private inFence = false
  private atLineStart = true
  private inline: OpenInline | undefined = undefined
  private out = ""

  /** Consumes a chunk and returns the text that is now certain; the rest waits for more input. */
  feed(chunk: string): string {
    this.pending += chunk
    this.pump(false)
    return this.take()
  }

  /** Ends the stream: emits everything still held, unfinished constructs as they were written. */
  flush(): string {
    this.pump(true)
    if (this.inline !== undefined) {
      this.out += this.inline.marker + this.inline.acc
      this.inline = undefined
    }
    this.out += this.pending
    this.pending = ""
    this.inFence = false
    this.atLineStart = true
    return this.take()
  }

  private take(): string {
    const text = this.out
    this.out = ""
    return text
  }

  private pump(flushing: boolean): void {
    while (this.step(flushing)) {
      // each step either consumes input or reports that it must wait
    }
  }

  private step(flushing: boolean): boolean {
    if (this.inFence) return this.fenceStep(flushing)
    if (this.inline !== undefined) return this.inlineStep(flushing)
    if (this.pending.length === 0) return false
    if (this.atLineStart) return this.lineStartStep(flushing)
    return this.bodyStep(flushing)
  }

  private emit(length: number): void {
    this.out += this.pending.slice(0, length)
    this.pending = this.pending.slice(length)
  }

  /** Emits through the next newline (landing at line start), or everything when there is none. */
  private emitLine(): void {
    const newline = this.pending.indexOf("\n")
    if (newline === -1) {
      this.emit(this.pending.length)
      this.atLineStart = false
    } else {
      this.emit(newline + 1)
      this.atLineStart = true
    }
  }

  // --- inside a code fence: everything passes; only a closing fence line changes state -----------------

  private fenceStep(flushing: boolean): boolean {
    const buf = this.pending
    if (buf.length === 0) return false
    if (this.atLineStart) {
      // a line that might still turn out to be the closing fence waits for its third backtick
      if (!flushing && buf.length < FENCE.length && FENCE.startsWith(buf)) return false
      if (buf.startsWith(FENCE)) {
        const newline = buf.indexOf("\n")
        if (newline === -1 && !flushing) return false
        this.emit(newline === -1 ? buf.length : newline + 1)
        this.inFence = false
        this.atLineStart = newline !== -1
        return true
      }
    }
    this.emitLine()
    return true
  }

  // --- at the start of a line: headings, rules, fence openers -------------------------------------------

  private lineStartStep(flushing: boolean): boolean {
    const buf = this.pending
    const first = buf[0]!
    switch (first) {
      case "\n":
        this.emit(1)
        return true
      case "`": {
        if (buf.length < FENCE.length && isOnly(buf, (c) => c === "`")) {
          if (!flushing) return false
          return this.bodyStep(flushing)
        }
        if (!buf.startsWith(FENCE)) return this.bodyStep(flushing)
        const newline = buf.indexOf("\n")
        if (newline === -1 && !flushing) return false
        this.emit(newline === -1 ? buf.length : newline + 1)
        this.inFence = true
        this.atLineStart = newline !== -1
        return true
      }
      case "#": {
        let run = 0
        while (buf[run] === "#") run++
        if (run === buf.length) return flushing ? this.bodyStep(flushing) : false
        if ((run === 5 || run === 6) && buf[run] === " ") {
          this.pending = buf.slice(run + 1)
          this.atLineStart = false
          return true
        }
        return this.bodyStep(flushing)
      }
      case " ":
      case "\t":
        if (isOnly(buf, (c) => c === " " || c === "\t")) return flushing ? this.bodyStep(flushing) : false
        return this.bodyStep(flushing)
      case "-":
      case "*":
      case "_":
        return this.ruleStep(first, flushing)
      default:
        return this.bodyStep(flushing)
    }
  }

  /** `---`, `***`, `___`, `- - -`: a whole line of one marker (and spaces) is a rule and passes as is. */
  private ruleStep(marker: string, flushing: boolean): boolean {
    const buf = this.pending
    let end = 0
    let markers = 0
    while (end < buf.length && (buf[end] === marker || buf[end] === " ")) {
      if (buf[end] === marker) markers++
      end++
    }
    if (end === buf.length && !flushing) return false
    const endsLine = end === buf.length || buf[end] === "\n"
    if (endsLine && markers >= 3) {
      this.emit(end === buf.length ? end : end + 1)
      this.atLineStart = end !== buf.length
      return true
    }
    return this.bodyStep(flushing)
  }

  // --- ordinary text ------------------------------------------------------------------------------------

  private bodyStep(flushing: boolean): boolean {
    const buf = this.pending
    let i = 0
    while (i < buf.length) {
      const c = buf[i]!
      if (c === "\n") {
        this.emit(i + 1)
        this.atLineStart = true
        return true
      }
      if (c === "!") {
        if (i + 1 === buf.length && !flushing) return this.holdFrom(i)
        if (buf[i + 1] === "[") return this.open("image", i, 2)
        i++
        continue
      }
      if (c === "`") {
        let run = 0
        while (buf[i + run] === "`") run++
        if (i + run === buf.length) {
          if (!flushing) return this.holdFrom(i)
          i += run
          continue
        }
        return this.open("code", i, run)
      }
      if (c === "*" || c === "_") {
        let run = 0
        while (buf[i + run] === c && run < 3) run++
        if (run < 3 && i + run === buf.length && !flushing) return this.holdFrom(i)
        if (run === 3) return this.open(c === "*" ? "bold3" : "ubold3", i, 3)
        if (run === 2) {
          // `**x**` / `__x__` stay as they are
          i += 2
          continue
        }
        const next = buf[i + 1]
        if (next !== undefined && next !== " " && next !== "\n") {
          return this.open(c === "*" ? "italic" : "uitalic", i, 1)
        }
        i++
        continue
      }
      i++
    }
    this.emit(buf.length)
    this.atLineStart = false
    return buf.length > 0
  }

  private holdFrom(index: number): boolean {
    if (index === 0) return false
    this.emit(index)
    this.atLineStart = false
    return true
  }

  private open(kind: InlineKind, index: number, markerLength: number): boolean {
    this.emit(index)
    const marker = this.pending.slice(0, markerLength)
    this.pending = this.pending.slice(markerLength)
    this.inline = { kind, marker, acc: "", scanned: 0 }
    this.atLineStart = false
    return true
  }

  // --- an open inline construct collects input until it can decide -------------------------------------

  private inlineStep(flushing: boolean): boolean {
    const inline = this.inline!
    const moved = this.pending.length > 0
    inline.acc += this.pending
    this.pending = ""
    switch (inline.kind) {
      case "bold3":
      case "ubold3":
        return this.closeTriple(inline, inline.kind === "bold3" ? "***" : "___") || moved
      case "italic":
      case "uitalic":
        return this.closeSingle(inline, inline.kind === "italic" ? "*" : "_", flushing) || moved
      case "image":
        return this.closeImage(inline) || moved
      case "code":
        return this.closeCode(inline, flushing) || moved
    }
  }

  private finishInline(emitted: string, rest: string, atLineStart: boolean): true {
    this.out += emitted
    this.pending = rest
    this.inline = undefined
    this.atLineStart = atLineStart
    return true
  }

  private wrapUnlessCjk(content: string, marker: string): string {
    return containsCjk(content) ? content : marker + content + marker
  }

  /**
   * Unlike the official filter, an inline construct never spans lines: a newline before it completes
   * gives it up, so a stray `***` or `![` cannot swallow the code fence on a later line.
   */
  private abandonAtNewline(inline: OpenInline, before: number): boolean {
    const newline = inline.acc.indexOf("\n")
    if (newline === -1 || newline >= before) return false
    return this.finishInline(
      inline.marker + inline.acc.slice(0, newline + 1),
      inline.acc.slice(newline + 1),
      true
    )
  }

  private closeTriple(inline: OpenInline, marker: string): boolean {
    const close = inline.acc.indexOf(marker)
    if (this.abandonAtNewline(inline, close === -1 ? Infinity : close)) return true
    if (close === -1) return false
    const content = inline.acc.slice(0, close)
    return this.finishInline(this.wrapUnlessCjk(content, marker), inline.acc.slice(close + 3), false)
  }

  private closeSingle(inline: OpenInline, marker: string, flushing: boolean): boolean {
    const acc = inline.acc
    let i = inline.scanned
    while (i < acc.length) {
      const c = acc[i]
      if (c === "\n") return this.finishInline(marker + acc.slice(0, i + 1), acc.slice(i + 1), true)
      if (c === marker) {
        if (i + 1 === acc.length && !flushing) break
        if (acc[i + 1] === marker) {
          i += 2
          continue
        }
        return this.finishInline(this.wrapUnlessCjk(acc.slice(0, i), marker), acc.slice(i + 1), false)
      }
      i++
    }
    inline.scanned = i
    return false
  }

  /**
   * Inline code passes verbatim up to the closing run of the same length. A line that never closes it
   * means the backticks were literal: they are emitted and the text after them is filtered as usual.
   */
  private closeCode(inline: OpenInline, flushing: boolean): boolean {
    const acc = inline.acc
    let i = inline.scanned
    while (i < acc.length) {
      const c = acc[i]
      if (c === "\n") break
      if (c === "`") {
        let run = 0
        while (acc[i + run] === "`") run++
        if (i + run === acc.length && !flushing) {
          inline.scanned = i
          return false
        }
        if (run === inline.marker.length) {
          return this.finishInline(inline.marker + acc.slice(0, i + run), acc.slice(i + run), false)
        }
        i += run
        continue
      }
      i++
    }
    if (i === acc.length && !flushing) {
      inline.scanned = i
      return false
    }
    return this.finishInline(inline.marker, acc, false)
  }

  private closeImage(inline: OpenInline): boolean {
    const acc = inline.acc
    const bracket = acc.indexOf("]")
    if (this.abandonAtNewline(inline, bracket === -1 ? Infinity : bracket)) return true
    if (bracket === -1 || bracket + 1 === acc.length) return false
    if (acc[bracket + 1] !== "(") {
      return this.finishInline("![" + acc.slice(0, bracket + 1), acc.slice(bracket + 1), false)
    }
    const paren = acc.indexOf(")", bracket + 2)
    if (this.abandonAtNewline(inline, paren === -1 ? Infinity : paren)) return true
    if (paren === -1) return false
    return this.finishInline("", acc.slice(paren + 1), false)
  }
}

/** One-shot form used by the outbound text paths. */
export const filterMarkdown = (text: string): string => {
  const filter = new MarkdownFilter()
  return filter.feed(text) + filter.flush()
}
