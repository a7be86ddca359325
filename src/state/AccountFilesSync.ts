/**
 * Synchronous reads of the account index and credential files, for the host's synchronous config adapter
 * (`listAccountIds`, `resolveAccount` must return values, not promises). Same files, same schemas and the
 * same fallbacks as StateStore (ILINK §3.5, §3.8); StateStore stays the only writer.
 */
import { Effect, Option, Schema } from "effect"
import * as Fs from "node:fs"
import { join as joinPath } from "node:path"
import { deriveRawAccountId, normalizeAccountId } from "../domain/AccountId.js"
import { resolveStatePaths, type StatePaths } from "./StateStore.js"
import { AccountsIndexFile, LegacyCredentialsFile, type StoredAccount, StoredAccountFile } from "./StoredFiles.js"

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
export const listAccountIdsSync = (paths: StatePaths): ReadonlyArray<string> => {
  const entries: ReadonlyArray<unknown> = Option.getOrElse(readJson(paths.accountsIndexFile, AccountsIndexFile), () => [])
  const ids = entries.filter((entry): entry is string => typeof entry === "string" && entry.trim() !== "")
  return [...new Set(ids.map(normalizeAccountId))]
}

/** The stored credentials of one account: own file, then raw-id file, then the legacy credentials file. */
export const loadStoredAccountSync = (paths: StatePaths, rawId: string): Option.Option<StoredAccount> => {
  const id = normalizeAccountId(rawId)
  const own = readJson(joinPath(paths.accountsDir, `${id}.json`), StoredAccountFile)
  if (Option.isSome(own)) return own
  const rawAccountId = deriveRawAccountId(id)
  if (rawAccountId !== undefined) {
    const raw = readJson(joinPath(paths.accountsDir, `${rawAccountId}.json`), StoredAccountFile)
    if (Option.isSome(raw)) return raw
  }
  const legacy = readJson(joinPath(paths.stateDir, "credentials", "openclaw-weixin", "credentials.json"), LegacyCredentialsFile)
  return Option.map(legacy, ({ token }): StoredAccount => ({ token }))
}
