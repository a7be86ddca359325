/**
 * Shapes of the records the plugin keeps on disk (PROTOCOL §3.8, §4): the official plugin's formats, so an
 * existing install is read as-is and a user can switch back, and the one record of our own beside them.
 * Unknown extra keys are ignored on read.
 */
import { type Redacted, Schema } from "effect"
import { normalizeAccountId } from "../domain/AccountId.js"

/** `accounts/<id>.json`: the credentials of one bot account. Every key is optional on disk. */
export const StoredAccountFile = Schema.Struct({
  token: Schema.optional(Schema.Redacted(Schema.String)),
  savedAt: Schema.optional(Schema.String),
  baseUrl: Schema.optional(Schema.String),
  userId: Schema.optional(Schema.String)
})
export type StoredAccount = typeof StoredAccountFile.Type

/** What a successful login contributes to the account file (merged per PROTOCOL §3.3 step 2). */
export interface StoredAccountUpdate {
  readonly token?: Redacted.Redacted<string>
  readonly baseUrl?: string
  readonly userId?: string
}

/** Legacy `<state>/credentials/openclaw-weixin/credentials.json`: only the token is used. */
export const LegacyCredentialsFile = Schema.Struct({
  token: Schema.Redacted(Schema.String)
})

/** `accounts/<id>.sync.json` and the legacy sync file: the long-poll cursor. */
export const SyncFile = Schema.Struct({
  get_updates_buf: Schema.String
})

/** `accounts.json`: any JSON array; entries that are not non-blank strings are skipped by the reader. */
export const AccountsIndexFile = Schema.Array(Schema.Unknown)

/** The usable entries of accounts.json, as written: the non-blank strings. */
export const indexEntries = (index: ReadonlyArray<unknown>): Array<string> =>
  index.filter((value): value is string => typeof value === "string" && value.trim() !== "")

/** The account ids an index names: normalized, de-duplicated, in file order. */
export const accountIdsOf = (entries: ReadonlyArray<string>): ReadonlyArray<string> => [
  ...new Set(entries.map(normalizeAccountId))
]

/** `accounts/<id>.context-tokens.json`: userId → context_token; non-string values are skipped by the reader. */
export const ContextTokensFile = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** Our own per-peer fields, kept beside the official token file (`accounts/<id>.ocw-context-activity.json`). */
export const PeerActivity = Schema.Struct({
  lastInboundAt: Schema.optional(Schema.Number),
  repliesSince: Schema.Number
})
export type PeerActivity = typeof PeerActivity.Type

/** The activity file: user id exactly as the server sent it → that peer's activity. */
export const ContextActivityFile = Schema.Struct({
  version: Schema.Literal(1),
  peers: Schema.Record({ key: Schema.String, value: PeerActivity })
})
export type ContextActivityFile = typeof ContextActivityFile.Type
