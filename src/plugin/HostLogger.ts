/**
 * Logging: every Effect log line of the plugin goes to the host's logger (`api.logger`, or the account's
 * `ctx.log` when the line is annotated with an `accountId` whose account the host started), after
 * redaction. Secrets never reach the host (ARCHITECTURE "Where we differ", PROTOCOL §9):
 *
 * - values of known secret keys are masked wherever they appear as `"key":"value"`, `key=value` or
 *   `key: value` (bot tokens, context tokens, Authorization, typing tickets, AES keys, upload params);
 * - `Bearer <token>` is masked;
 * - any exact secret value the plugin registered (`SecretValues.remember`, e.g. a bot token it loaded) is
 *   masked wherever it appears, even inside free text;
 * - annotations go through the same filter, and annotations whose key is a secret key are masked whole.
 *
 * `Redacted` values already print as `<redacted>`; this is the net for everything else.
 */
import { Cause, HashMap, Layer, List, Logger, LogLevel } from "effect"

/** Where log lines go: the host's loggers, looked up at the moment of each line. */
export interface HostLogSink {
  readonly debug?: ((message: string) => void) | undefined
  readonly info: (message: string) => void
  readonly warn: (message: string) => void
  readonly error: (message: string) => void
}

/** Mutable routing table: the plugin-wide logger and one sink per account the host started. */
export class LogSinks {
  fallback: HostLogSink | undefined = undefined
  private readonly accounts = new Map<string, HostLogSink>()

  /** Routes lines of `accountId` to `sink` until the returned function is called. */
  bindAccount(accountId: string, sink: HostLogSink): () => void {
    this.accounts.set(accountId, sink)
    return () => {
      if (this.accounts.get(accountId) === sink) this.accounts.delete(accountId)
    }
  }

  sinkFor(accountId: string | undefined): HostLogSink | undefined {
    return (accountId === undefined ? undefined : this.accounts.get(accountId)) ?? this.fallback
  }
}

/** Exact secret values to mask wherever they appear (short values are ignored: they would mask noise). */
export class SecretValues {
  private readonly values = new Set<string>()
  static readonly MIN_LENGTH = 6

  remember(value: string | undefined): void {
    const trimmed = value?.trim()
    if (trimmed !== undefined && trimmed.length >= SecretValues.MIN_LENGTH) this.values.add(trimmed)
  }

  forget(value: string): void {
    this.values.delete(value.trim())
  }

  /** longest first, so a secret that contains another is masked whole */
  list(): ReadonlyArray<string> {
    return [...this.values].sort((a, b) => b.length - a.length)
  }
}

export const REDACTED = "<redacted>"

/** Keys whose values are secrets, in the spellings the wire, the files and the headers use. */
export const SECRET_KEYS: ReadonlyArray<string> = [
  "bot_token",
  "token",
  "context_token",
  "contextToken",
  "authorization",
  "typing_ticket",
  "typingTicket",
  "aes_key",
  "aeskey",
  "aesKey",
  "upload_param",
  "uploadParam",
  "encrypt_query_param",
  "x-encrypted-param",
  "verify_code"
]

const secretKeySet = new Set(SECRET_KEYS.map((key) => key.toLowerCase()))
export const isSecretKey = (key: string): boolean => secretKeySet.has(key.toLowerCase())

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const keyAlternatives = SECRET_KEYS.map(escapeRegExp).join("|")
// "key": "value" (JSON, possibly escaped inside another JSON string)
const JSON_PAIR = new RegExp(`(\\\\?"(?:${keyAlternatives})\\\\?"\\s*:\\s*\\\\?")((?:[^"\\\\]|\\\\(?!"))*)(\\\\?")`, "gi")
// key=value (query strings, log text) and key: value (headers); stops at separators
const PLAIN_PAIR = new RegExp(`(\\b(?:${keyAlternatives})\\b\\s*[=:]\\s*)(?!<redacted>)([^\\s&"',;)}\\]]+)`, "gi")
const BEARER = /(\bBearer\s+)(?!<redacted>)[^\s"',;]+/gi

/** Masks every secret in `text`: known keys' values, bearer tokens and registered secret values. */
export const redactText = (text: string, secrets?: SecretValues): string => {
  let out = text
  if (secrets !== undefined) {
    for (const value of secrets.list()) {
      if (out.includes(value)) out = out.split(value).join(REDACTED)
    }
  }
  return out
    .replace(JSON_PAIR, (_match, open: string, _value: string, close: string) => `${open}${REDACTED}${close}`)
    .replace(BEARER, (_match, prefix: string) => `${prefix}${REDACTED}`)
    .replace(PLAIN_PAIR, (_match, prefix: string) => `${prefix}${REDACTED}`)
}

const render = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value instanceof Error) return value.message
  try {
    const json = JSON.stringify(value)
    return json === undefined ? String(value) : json
  } catch {
    return String(value)
  }
}

/** The one line a log call becomes: `[accountId] message key=value … (cause)`, redacted. */
export const formatLogLine = (
  options: {
    readonly message: unknown
    readonly annotations: HashMap.HashMap<string, unknown>
    readonly cause: Cause.Cause<unknown>
    readonly spans?: List.List<{ readonly label: string }>
  },
  secrets?: SecretValues
): string => {
  const messages = Array.isArray(options.message) ? options.message : [options.message]
  const text = messages.map(render).join(" ")
  let accountPrefix = ""
  const extras: Array<string> = []
  for (const [key, value] of HashMap.toEntries(options.annotations)) {
    if (key === "accountId") {
      accountPrefix = `[${render(value)}] `
      continue
    }
    extras.push(`${key}=${isSecretKey(key) ? REDACTED : render(value)}`)
  }
  const causeText = Cause.isEmpty(options.cause) ? "" : ` (${Cause.pretty(options.cause).split("\n")[0] ?? ""})`
  const line = `${accountPrefix}${text}${extras.length === 0 ? "" : ` ${extras.join(" ")}`}${causeText}`
  return redactText(line, secrets)
}

const accountOf = (annotations: HashMap.HashMap<string, unknown>): string | undefined => {
  const value = HashMap.get(annotations, "accountId")
  return value._tag === "Some" && typeof value.value === "string" ? value.value : undefined
}

/** A Logger that formats, redacts and forwards each line to the host sink chosen for it. */
export const makeHostLogger = (sinks: LogSinks, secrets?: SecretValues): Logger.Logger<unknown, void> =>
  Logger.make((options) => {
    const sink = sinks.sinkFor(accountOf(options.annotations))
    if (sink === undefined) return
    const line = formatLogLine(options, secrets)
    try {
      if (LogLevel.greaterThanEqual(options.logLevel, LogLevel.Error)) sink.error(line)
      else if (LogLevel.greaterThanEqual(options.logLevel, LogLevel.Warning)) sink.warn(line)
      else if (LogLevel.greaterThanEqual(options.logLevel, LogLevel.Info)) sink.info(line)
      else sink.debug?.(line)
    } catch {
      // a failing host logger must not take the plugin down with it
    }
  })

const HOST_LEVELS: Readonly<Record<string, LogLevel.LogLevel>> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  silent: LogLevel.None
}

/**
 * The level the host runs at by `OPENCLAW_LOG_LEVEL` (its own override of `logging.level`: trace, debug,
 * info, warn, error, fatal, silent), so `OPENCLAW_LOG_LEVEL=debug` lets our debug lines through too.
 * Unset or unknown: info.
 */
export const hostLogLevel = (env: Readonly<Record<string, string | undefined>> = process.env): LogLevel.LogLevel =>
  HOST_LEVELS[env["OPENCLAW_LOG_LEVEL"]?.trim().toLowerCase() ?? ""] ?? LogLevel.Info

/** Replaces Effect's default logger with the host logger; lines below `minimumLevel` are dropped. */
export const hostLoggingLayer = (
  sinks: LogSinks,
  secrets?: SecretValues,
  minimumLevel: LogLevel.LogLevel = hostLogLevel()
): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, makeHostLogger(sinks, secrets)),
    Logger.minimumLogLevel(minimumLevel)
  )
