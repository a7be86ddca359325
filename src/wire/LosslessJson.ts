/**
 * JSON parsing that keeps 64-bit ids exact (PROTOCOL §1.5).
 *
 * iLink may send `message_id`, `msg_id` and `svr_id` as bare uint64 numbers, which `JSON.parse` would round.
 * `rewriteIdIntegersAsStrings` walks the text once, tracking whether it is inside a string literal, and
 * quotes the bare integer values of exactly those keys; nothing inside a string value is ever touched.
 *
 * @example
 * ```ts
 * parseLossless('{"message_id": 18446744073709551615}') // Either.right({ message_id: "18446744073709551615" })
 * ```
 */
import { Data, Either } from "effect"

/** The keys whose integer values are 64-bit ids. */
export const LOSSLESS_ID_KEYS: ReadonlySet<string> = new Set(["message_id", "msg_id", "svr_id"])

export class InvalidJsonError extends Data.TaggedError("InvalidJsonError")<{ readonly message: string }> {}

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= "0" && ch <= "9"
const isJsonSpace = (ch: string | undefined): boolean => ch === " " || ch === "\t" || ch === "\n" || ch === "\r"

/**
 * Returns `text` with every bare integer value of an id key wrapped in quotes. Never throws; text that
 * is not valid JSON comes back changed only where the same rule applies, and `JSON.parse` reports it.
 * Numbers with a fraction or exponent are left alone (they are not ids; quoting them would hide that).
 */
export const rewriteIdIntegersAsStrings = (text: string): string => {
  let out = ""
  let copiedUpTo = 0
  let lastStringContent: string | undefined = undefined
  let i = 0
  const n = text.length
  while (i < n) {
    const ch = text[i]
    if (ch === "\"") {
      // skip the whole string literal, honouring backslash escapes
      const start = i + 1
      i = start
      while (i < n && text[i] !== "\"") {
        i += text[i] === "\\" ? 2 : 1
      }
      lastStringContent = text.slice(start, Math.min(i, n))
      i += 1
      continue
    }
    if (ch === ":") {
      const key = lastStringContent
      lastStringContent = undefined
      i += 1
      if (key === undefined || !LOSSLESS_ID_KEYS.has(key)) continue
      let j = i
      while (isJsonSpace(text[j])) j += 1
      const numberStart = j
      if (text[j] === "-") j += 1
      if (!isDigit(text[j])) continue
      while (isDigit(text[j])) j += 1
      const next = text[j]
      if (next === "." || next === "e" || next === "E") continue
      out += text.slice(copiedUpTo, numberStart) + "\"" + text.slice(numberStart, j) + "\""
      copiedUpTo = j
      i = j
      continue
    }
    if (!isJsonSpace(ch)) lastStringContent = ch === "," || ch === "{" ? undefined : lastStringContent
    i += 1
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo)
}

/** `JSON.parse` after {@link rewriteIdIntegersAsStrings}; a syntax error is returned, never thrown. */
export const parseLossless = (text: string): Either.Either<unknown, InvalidJsonError> =>
  Either.try({
    try: () => JSON.parse(rewriteIdIntegersAsStrings(text)) as unknown,
    catch: (cause) => new InvalidJsonError({ message: cause instanceof Error ? cause.message : String(cause) })
  })

/** Plain `JSON.parse` with the same error shape, for endpoints that carry no 64-bit ids. */
export const parseJson = (text: string): Either.Either<unknown, InvalidJsonError> =>
  Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (cause) => new InvalidJsonError({ message: cause instanceof Error ? cause.message : String(cause) })
  })
