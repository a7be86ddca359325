/**
 * What error details may quote of wire data: the start of a server body and the account of a decode
 * failure, with the values of token-like keys masked. Error details are serialisable and end up in log
 * lines and statuses, so they must never carry a bot token, context token, typing ticket or AES key.
 * Over-masking is fine: the text is only for humans.
 */
import { ParseResult } from "effect"

/** How much of a body an error detail quotes. */
export const SNIPPET_CHARS = 200

/**
 * Masks the values of token-like JSON keys (`context_token`, `bot_token`, `typing_ticket`, `aes_key`, …).
 * A value cut off mid-string (a truncated body) is masked too.
 */
export const maskSecretValues = (text: string): string =>
  text.replace(/"([A-Za-z_]*(?:token|ticket|aes_?key)[A-Za-z_]*)"\s*:\s*"(?:[^"\\]|\\.)*("|$)/gi, "\"$1\":\"<redacted>\"")

/** The start of a body, for diagnosis, with token-like values masked; masked before it is cut, so no secret leaks half. */
export const redactSnippet = (body: string): string => maskSecretValues(body.slice(0, SNIPPET_CHARS * 4)).slice(0, SNIPPET_CHARS)

const SECRET_KEY = /token|ticket|aes_?key/i

/**
 * A short, secret-free account of a decode failure: `path: problem` per issue, each cut to a readable
 * length. The value a problem quotes is masked where it sits under a secret key, whatever its type.
 */
export const describeParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const path = issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".")
      const underSecret = issue.path.some((segment) => typeof segment === "string" && SECRET_KEY.test(segment))
      const message = underSecret
        ? issue.message.replace(/\bactual\b[\s\S]*$/, "actual <redacted>")
        : maskSecretValues(issue.message)
      return `${path}: ${message.length > 160 ? `${message.slice(0, 160)}…` : message}`
    })
    .slice(0, 5)
    .join("; ")
