/**
 * Markdown-safe splitting of long outbound text (our addition; the official plugin sends one item, PROTOCOL §5.5).
 *
 * Lengths are counted in UTF-16 code units (`string.length`): that never under-counts what the server
 * sees, and a cut is always moved back so it never separates a surrogate pair or, where possible, a
 * grapheme cluster (emoji with modifiers or ZWJ sequences).
 *
 * Cut preference: paragraph break, line break, sentence end, space, then a hard cut. A cut never falls
 * inside a fenced code block unless that block alone is longer than the limit; then the chunk closes the
 * fence and the next chunk reopens it with the same opening line, so each chunk renders on its own.
 *
 * Relation to the input (checked by the tests): for each chunk, `text === reopen + source.slice(start, end)
 * + close`, where `reopen`/`close` are the added fence lines (empty when nothing was added), the spans are
 * in order, and the source text between consecutive spans (and after the last one) is whitespace only.
 *
 * @example
 * ```ts
 * chunkText("first paragraph\n\nsecond paragraph", 20) // ["first paragraph", "second paragraph"]
 * ```
 */

/** Default chunk size in UTF-16 code units; well under the ~5,000 characters the server rejects (PROTOCOL App. C). */
export const DEFAULT_CHUNK_LIMIT = 2000

/** One planned chunk and where it came from in the source text. */
export interface ChunkSpan {
  /** the chunk as sent */
  readonly text: string
  /** source range [start, end) the chunk carries */
  readonly start: number
  readonly end: number
  /** fence opening line (plus newline) added in front because the previous chunk closed this block early */
  readonly reopen: string
  /** newline plus closing fence added at the end because the block continues in the next chunk */
  readonly close: string
}

interface FenceBlock {
  /** index of the first character of the opening line */
  readonly start: number
  /** index of the newline that ends the opening line (text.length when there is none) */
  readonly openLineEnd: number
  /** index just past the closing line's last character (before its newline); text.length when unclosed */
  readonly end: number
  readonly openLine: string
  readonly closeMarker: string
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/

/** Finds the fenced code blocks (backtick or tilde fences, CommonMark-style closing rules). */
const findFences = (text: string): ReadonlyArray<FenceBlock> => {
  const blocks: Array<FenceBlock> = []
  let open: { start: number; openLineEnd: number; openLine: string; marker: string } | undefined
  let lineStart = 0
  while (lineStart <= text.length) {
    const newline = text.indexOf("\n", lineStart)
    const lineEnd = newline === -1 ? text.length : newline
    const line = text.slice(lineStart, lineEnd)
    if (open === undefined) {
      const match = FENCE_OPEN.exec(line)
      const marker = match?.[1]
      if (match && marker && !(marker[0] === "`" && match[2]!.includes("`"))) {
        open = { start: lineStart, openLineEnd: lineEnd, openLine: line, marker }
      }
    } else {
      const marker = FENCE_CLOSE.exec(line)?.[1]
      if (marker && marker[0] === open.marker[0] && marker.length >= open.marker.length) {
        blocks.push({ ...open, end: lineEnd, closeMarker: open.marker })
        open = undefined
      }
    }
    if (newline === -1) break
    lineStart = newline + 1
  }
  if (open !== undefined) blocks.push({ ...open, end: text.length, closeMarker: open.marker })
  return blocks
}

const isWhitespace = (c: string | undefined): boolean =>
  c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v"

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" })

/**
 * The largest cut ≤ `hi` and > `lo` that does not split a grapheme cluster, else a code point; undefined
 * only when not even one code point fits.
 */
const hardCut = (text: string, lo: number, hi: number): number | undefined => {
  let best: number | undefined
  // clusters are short; looking back a little is enough to find the boundary before `hi`
  const from = Math.max(lo, hi - 64)
  let offset = from
  for (const { segment } of graphemes.segment(text.slice(from, hi + 1))) {
    const next = offset + segment.length
    if (next > hi) break
    if (next > lo) best = next
    offset = next
  }
  // `from` itself may sit mid-cluster; the segmenter then reports odd clusters, so only trust code points
  if (best === undefined || best <= from) {
    let cut = hi
    if (cut > lo && cut < text.length && isHighSurrogate(text.charCodeAt(cut - 1))) cut--
    return cut > lo ? cut : undefined
  }
  return best
}

const SENTENCE_END = /[.!?](?=\s)|[。！？]/g

export const planChunks = (text: string, limit: number = DEFAULT_CHUNK_LIMIT): ReadonlyArray<ChunkSpan> => {
  // two code units always fit one code point, so every step makes progress
  const max = Number.isFinite(limit) ? Math.max(2, Math.floor(limit)) : DEFAULT_CHUNK_LIMIT
  if (text.trim().length === 0) return []
  if (text.length <= max) return [{ text, start: 0, end: text.length, reopen: "", close: "" }]

  const fences = findFences(text)
  /** The block a cut at `cut` would fall inside (binary search: blocks are sorted and disjoint). */
  const fenceAround = (cut: number): FenceBlock | undefined => {
    let low = 0
    let high = fences.length - 1
    while (low <= high) {
      const middle = (low + high) >> 1
      const block = fences[middle]!
      if (cut <= block.start) high = middle - 1
      else if (cut >= block.end) low = middle + 1
      else return block
    }
    return undefined
  }
  /** The block that starts at `pos` (after whitespace only) or that `pos` is inside of. */
  const blockAt = (pos: number): FenceBlock | undefined => {
    const block = fences.find((b) => b.end > pos)
    if (block === undefined) return undefined
    return block.start <= pos || text.slice(pos, block.start).trim() === "" ? block : undefined
  }
  const isSafeCut = (cut: number): boolean => fenceAround(cut) === undefined

  /** The last occurrence of `needle` whose cut lies in (lo, hi] outside any fence; cut = index + shift. */
  const lastSafe = (needle: string, lo: number, hi: number, shift: number): number | undefined => {
    let index = text.lastIndexOf(needle, hi - shift)
    while (index !== -1 && index + shift > lo) {
      if (isSafeCut(index + shift)) return index + shift
      index = text.lastIndexOf(needle, index - 1)
    }
    return undefined
  }

  const lastSentenceEnd = (lo: number, hi: number): number | undefined => {
    let found: number | undefined
    // one character past `hi` so the lookahead can see the whitespace after a final full stop
    const window = text.slice(lo, hi + 1)
    for (const match of window.matchAll(SENTENCE_END)) {
      const cut = lo + match.index + match[0].length
      if (cut > lo && cut <= hi && isSafeCut(cut)) found = cut
    }
    return found
  }

  const lastSpace = (lo: number, hi: number): number | undefined => {
    const space = lastSafe(" ", lo, hi, 0)
    const tab = lastSafe("\t", lo, hi, 0)
    return space === undefined ? tab : tab === undefined ? space : Math.max(space, tab)
  }

  const safeCut = (lo: number, hi: number): number | undefined => {
    const preferred =
      lastSafe("\n\n", lo, hi, 0) ?? lastSafe("\n", lo, hi, 0) ?? lastSentenceEnd(lo, hi) ?? lastSpace(lo, hi)
    if (preferred !== undefined) return preferred
    const cut = hardCut(text, lo, hi)
    return cut !== undefined && isSafeCut(cut) ? cut : undefined
  }

  /** Where the next chunk starts: past the whitespace at the cut, but keeping the next line's indentation. */
  const nextStart = (cut: number): number => {
    let index = cut
    let afterNewline = -1
    while (index < text.length && isWhitespace(text[index])) {
      if (text[index] === "\n") afterNewline = index + 1
      index++
    }
    return afterNewline === -1 ? index : index === text.length ? index : afterNewline
  }

  const spans: Array<ChunkSpan> = []
  const push = (reopen: string, start: number, end: number, close: string): void => {
    const body = text.slice(start, end)
    if (reopen === "" && close === "" && body.trim().length === 0) return
    spans.push({ text: reopen + body + close, start, end, reopen, close })
  }

  let pos = 0
  let reopen = ""
  while (pos < text.length) {
    const budget = max - reopen.length
    if (text.length - pos <= budget) {
      push(reopen, pos, pos + trimmedLength(text, pos, text.length), "")
      break
    }
    const cut = safeCut(pos, pos + budget)
    if (cut !== undefined) {
      push(reopen, pos, pos + trimmedLength(text, pos, cut), "")
      pos = nextStart(cut)
      reopen = ""
      continue
    }

    // no safe cut: a code block longer than the budget starts here (or we are inside one)
    const block = blockAt(pos)
    const close = block === undefined ? "" : "\n" + block.closeMarker
    const reopenLine = block === undefined ? "" : block.openLine + "\n"
    const repairable = block !== undefined && (reopenLine.length + close.length) * 2 <= max
    if (repairable) {
      const innerBudget = max - reopen.length - close.length
      const lo = Math.max(pos, block.openLineEnd)
      const hi = Math.min(pos + innerBudget, block.end)
      if (hi > lo) {
        const newline = text.lastIndexOf("\n", hi)
        const inner = newline > lo ? newline : hardCut(text, lo, hi)
        if (inner !== undefined) {
          push(reopen, pos, inner, close)
          pos = text[inner] === "\n" ? inner + 1 : inner
          reopen = reopenLine
          continue
        }
      }
    }

    // nothing renders cleanly (absurdly small limit or opening line): cut hard and accept it
    const forced = hardCut(text, pos, pos + budget) ?? pos + Math.min(budget, text.length - pos)
    push(reopen, pos, forced, "")
    pos = forced
    reopen = ""
  }
  return spans
}

const trimmedLength = (text: string, start: number, end: number): number => {
  let index = end
  while (index > start && isWhitespace(text[index - 1])) index--
  return index - start
}

/** Splits `text` into non-empty chunks of at most `limit` code units; blank text gives no chunks. */
export const chunkText = (text: string, limit: number = DEFAULT_CHUNK_LIMIT): ReadonlyArray<string> =>
  planChunks(text, limit).map((span) => span.text)
