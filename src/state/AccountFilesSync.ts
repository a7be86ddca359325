/**
 * Synchronous reads of the account index and credential files, for the host's synchronous config adapter
 * (`listAccountIds`, `resolveAccount` must return values, not promises). The same file names (StatePaths),
 * schemas and fallbacks (PROTOCOL §3.5, §3.8) as AccountStore, which stays the only writer.
 */
import { Effect, Option, Schema } from "effect"
import * as Fs from "node:fs"
import { accountFiles, legacyCredentialsFile, resolveStatePaths, type StatePaths } from "./StatePaths.js"
import {
  accountIdsOf,
  AccountsIndexFile,
  indexEntries,
  LegacyCredentialsFile,
  type StoredAccount,
  StoredAccountFile
} from "./StoredFiles.js"

/** The state dir layout from the environment (OPENCLAW_STATE_DIR …), read now. */
export const currentStatePaths = (): StatePaths => Effect.runSync(resolveStatePaths)

const readText = (file: string): string | undefined => {
  try {
    return Fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

const readJson = <A, I>(file: string, schema: Schema.Schema<A, I>): Option.Option<A> => {
  const text = readText(file)
  return text === undefined ? Option.none() : Schema.decodeUnknownOption(Schema.parseJson(schema))(text)
}

/** Normalized, de-duplicated ids from accounts.json; missing or corrupt → []. */
export const listAccountIdsSync = (paths: StatePaths): ReadonlyArray<string> =>
  accountIdsOf(indexEntries(Option.getOrElse(readJson(paths.accountsIndexFile, AccountsIndexFile), () => [])))

/** The stored credentials of one account: own file, then raw-id file, then the legacy credentials file. */
export const loadStoredAccountSync = (paths: StatePaths, rawId: string): Option.Option<StoredAccount> => {
  for (const file of accountFiles(paths, rawId).credentialSources) {
    const stored = readJson(file, StoredAccountFile)
    if (Option.isSome(stored)) return stored
  }
  const legacy = readJson(legacyCredentialsFile(paths), LegacyCredentialsFile)
  return Option.map(legacy, ({ token }): StoredAccount => ({ token }))
}
