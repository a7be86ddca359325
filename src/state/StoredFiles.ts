/**
 * Shapes of the records the plugin keeps on disk (ILINK §3.8, §4), in the official plugin's formats so an
 * existing install is read as-is and a user can switch back. Unknown extra keys are ignored on read.
 */
import { type Redacted, Schema } from "effect"

/** `accounts/<id>.json`: the credentials of one bot account. Every key is optional on disk. */
export const StoredAccountFile = Schema.Struct({
  token: Schema.optional(Schema.Redacted(Schema.String)),
  savedAt: Schema.optional(Schema.String),
  baseUrl: Schema.optional(Schema.String),
  userId: Schema.optional(Schema.String)
})
export type StoredAccount = typeof StoredAccountFile.Type

/** What a successful login contributes to the account file (merged per ILINK §3.3 step 2). */
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

/** `accounts/<id>.context-tokens.json`: userId → context_token; non-string values are skipped by the reader. */
export const ContextTokensFile = Schema.Record({ key: Schema.String, value: Schema.Unknown })
