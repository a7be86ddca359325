/**
 * Account id rules (PROTOCOL §3.7, §3.8). Pure functions, no I/O.
 *
 * - `normalizeAccountId` follows the host's rule so our file names match the official plugin's
 *   (`b0f5860fdecb@im.bot` → `b0f5860fdecb-im-bot`). The result only ever contains `[a-z0-9_-]`, so it
 *   can never name a parent directory or contain a path separator.
 * - One deliberate extension: a result that is a Windows device name (`con`, `prn`, `aux`, `nul`,
 *   `com0`–`com9`, `lpt0`–`lpt9`) gets a `_` prefix (`con` → `_con`), because `con.json` cannot be created
 *   on Windows. The host never produces such ids from real iLink bot ids (they end in `-im-bot`).
 * - `deriveRawAccountId` maps a normalized id back to the raw iLink form for the legacy file fallbacks.
 * - `allowFromSafeKey` / `allowFromFileName` build the legacy allowFrom file name of §3.8.
 */
import { Option } from "effect"

export const DEFAULT_ACCOUNT_ID = "default"

const MAX_ACCOUNT_ID_LENGTH = 64
const ALREADY_CANONICAL = /^[a-z0-9][a-z0-9_-]{0,63}$/i
const OUTSIDE_ALLOWED_RUN = /[^a-z0-9_-]+/g
// Keys that would mutate Object.prototype if used as a plain-object key.
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "prototype", "constructor"])
const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/

const canonicalize = (trimmed: string): string => {
  const lower = trimmed.toLowerCase()
  if (ALREADY_CANONICAL.test(trimmed)) return lower
  return lower
    .replace(OUTSIDE_ALLOWED_RUN, "-")
    .replace(/^-+/, "")
    .replace(/-+$/, "")
    .slice(0, MAX_ACCOUNT_ID_LENGTH)
}

/** Normalized account id: the key used for every file name, map key and log annotation. */
export const normalizeAccountId = (raw: string | null | undefined): string => {
  const trimmed = (raw ?? "").trim()
  if (trimmed === "") return DEFAULT_ACCOUNT_ID
  const canonical = canonicalize(trimmed)
  if (canonical === "" || PROTOTYPE_KEYS.has(canonical)) return DEFAULT_ACCOUNT_ID
  if (WINDOWS_DEVICE_NAME.test(canonical)) return `_${canonical}`
  return canonical
}

/** The raw iLink id a normalized id came from, when its suffix says so (`x-im-bot` → `x@im.bot`). */
export const deriveRawAccountId = (normalizedId: string): string | undefined => {
  if (normalizedId.endsWith("-im-bot")) return `${normalizedId.slice(0, -"-im-bot".length)}@im.bot`
  if (normalizedId.endsWith("-im-wechat")) return `${normalizedId.slice(0, -"-im-wechat".length)}@im.wechat`
  return undefined
}

/**
 * The "safe key" of the legacy allowFrom file name: trim, lowercase, each of `\ / : * ? " < > |` → `_`,
 * `..` → `_`. `@` and `.` survive. Empty or `_` has no safe form.
 */
export const allowFromSafeKey = (raw: string): Option.Option<string> => {
  const key = raw
    .trim()
    .toLowerCase()
    .replace(/[\\/:*?"<>|]/g, "_")
    .replace(/\.\./g, "_")
  return key === "" || key === "_" ? Option.none() : Option.some(key)
}

export const WEIXIN_CHANNEL_ID = "openclaw-weixin"

/** `openclaw-weixin-<safe id>-allowFrom.json`, or None when the id has no safe form. */
export const allowFromFileName = (accountId: string): Option.Option<string> =>
  Option.map(allowFromSafeKey(accountId), (key) => `${WEIXIN_CHANNEL_ID}-${key}-allowFrom.json`)
