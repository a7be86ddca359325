/**
 * The `bot_agent` string sent in `base_info` (PROTOCOL §1.4): a user-agent-like list of `Name/Version`
 * products, each optionally followed by one `(comment)`. Whatever the user configured is reduced to the
 * valid parts, capped at 256 UTF-8 bytes, and falls back to `OpenClaw` when nothing valid is left.
 *
 * @example
 * ```ts
 * sanitizeBotAgent("My Bot ValidApp/1.0") // "ValidApp/1.0"
 * sanitizeBotAgent(undefined)             // "OpenClaw"
 * ```
 */

export const DEFAULT_BOT_AGENT = "OpenClaw"
export const MAX_BOT_AGENT_BYTES = 256

const PRODUCT = /^[A-Za-z0-9_.-]{1,32}\/[A-Za-z0-9_.+-]{1,32}$/
// printable ASCII except the parentheses themselves
const COMMENT_INNER = /^[\x20-\x27\x2A-\x7E]{1,64}$/

const utf8Length = (text: string): number => Buffer.byteLength(text, "utf8")

/** Joins tokens that open a comment with the following ones until the comment closes or input ends. */
const mergeCommentTokens = (tokens: ReadonlyArray<string>): Array<string> => {
  const merged: Array<string> = []
  let open: string | undefined = undefined
  for (const token of tokens) {
    if (open !== undefined) {
      open = `${open} ${token}`
      if (open.endsWith(")")) {
        merged.push(open)
        open = undefined
      }
    } else if (token.startsWith("(") && !token.endsWith(")")) {
      open = token
    } else {
      merged.push(token)
    }
  }
  if (open !== undefined) merged.push(open)
  return merged
}

/** Accepted items in order: a product alone or `product (comment)`. */
const acceptedItems = (tokens: ReadonlyArray<string>): Array<string> => {
  const items: Array<string> = []
  let pending: string | undefined = undefined
  for (const token of tokens) {
    if (token.startsWith("(")) {
      const isClosed = token.length >= 2 && token.endsWith(")")
      const inner = isClosed ? token.slice(1, -1) : ""
      if (pending !== undefined) {
        items.push(isClosed && COMMENT_INNER.test(inner) ? `${pending} ${token}` : pending)
        pending = undefined
      }
      continue
    }
    if (pending !== undefined) items.push(pending)
    pending = PRODUCT.test(token) ? token : undefined
  }
  if (pending !== undefined) items.push(pending)
  return items
}

/** Sanitises a configured `botAgent` value (any type; non-strings fall back to the default). */
export const sanitizeBotAgent = (configured: unknown): string => {
  if (typeof configured !== "string" || configured.trim() === "") return DEFAULT_BOT_AGENT
  const tokens = configured.trim().split(/\s+/)
  const items = acceptedItems(mergeCommentTokens(tokens))
  if (items.length === 0) return DEFAULT_BOT_AGENT
  let result = ""
  for (const item of items) {
    const candidate = result === "" ? item : `${result} ${item}`
    if (utf8Length(candidate) > MAX_BOT_AGENT_BYTES) break
    result = candidate
  }
  return result === "" ? DEFAULT_BOT_AGENT : result
}
