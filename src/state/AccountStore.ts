/**
 * AccountStore: the logged-in accounts on disk, in the official plugin's files (PROTOCOL §3.3, §3.5, §3.8):
 * the index `accounts.json` (2-space JSON), each account's credentials `accounts/<id>.json` (2-space JSON,
 * mode 0600), and removal of everything an account left in the state dir.
 *
 * Every method normalizes the id it is given (StatePaths `accountFiles`). Credentials are read from the
 * account's own file, then the raw-id file, then the legacy `credentials.json` (token only).
 */
import { DateTime, Effect, Layer, Option, Redacted } from "effect"
import { join } from "node:path"
import { normalizeAccountId } from "../domain/AccountId.js"
import { accountFiles, legacyCredentialsFile, StateDir } from "./StatePaths.js"
import { StateFiles } from "./StateFiles.js"
import {
  accountIdsOf,
  AccountsIndexFile,
  indexEntries,
  LegacyCredentialsFile,
  type StoredAccount,
  StoredAccountFile,
  type StoredAccountUpdate
} from "./StoredFiles.js"

const indentedJson = (value: unknown): string => JSON.stringify(value, null, 2)

/** The account file after a login (PROTOCOL §3.3 step 2): blank fields keep the stored ones, a blank userId clears it. */
const mergeLogin = (existing: StoredAccount, update: StoredAccountUpdate, now: string): Record<string, string> => {
  const newToken = update.token !== undefined && Redacted.value(update.token) !== "" ? update.token : undefined
  const token = newToken ?? existing.token
  const savedAt = token !== undefined ? now : existing.savedAt
  const baseUrl = update.baseUrl !== undefined && update.baseUrl !== "" ? update.baseUrl : existing.baseUrl
  const userId = update.userId === undefined
    ? existing.userId
    : update.userId.trim() === ""
    ? undefined
    : update.userId.trim()
  const record: Record<string, string> = {}
  if (token !== undefined) record.token = Redacted.value(token)
  if (savedAt !== undefined) record.savedAt = savedAt
  if (baseUrl !== undefined) record.baseUrl = baseUrl
  if (userId !== undefined) record.userId = userId
  return record
}

export class AccountStore extends Effect.Service<AccountStore>()("openclaw-weixin/AccountStore", {
  effect: Effect.gen(function*() {
    const paths = yield* StateDir
    const files = yield* StateFiles
    // accounts.json is read-modify-write; serialize those updates within this process.
    const indexLock = yield* Effect.makeSemaphore(1)

    const readIndexEntries = files.readJson(paths.accountsIndexFile, AccountsIndexFile).pipe(
      Effect.map(Option.match({ onNone: () => [] as Array<string>, onSome: indexEntries }))
    )
    const writeIndex = (entries: ReadonlyArray<string>) =>
      files.writeText(paths.accountsIndexFile, indentedJson(entries))

    /** Normalized, de-duplicated ids of accounts.json; a missing or corrupt index is empty. */
    const list = Effect.fn("AccountStore.list")(function*() {
      return accountIdsOf(yield* readIndexEntries)
    })

    /** Adds the account to accounts.json unless it is there (in any spelling). */
    const register = Effect.fn("AccountStore.register")(function*(rawId: string) {
      const { accountId } = accountFiles(paths, rawId)
      yield* indexLock.withPermits(1)(Effect.gen(function*() {
        const entries = yield* readIndexEntries
        if (accountIdsOf(entries).includes(accountId)) return
        yield* writeIndex([...entries, accountId])
      }))
    })

    /** Drops every spelling of the account from accounts.json. */
    const unregister = Effect.fn("AccountStore.unregister")(function*(rawId: string) {
      const { accountId } = accountFiles(paths, rawId)
      yield* indexLock.withPermits(1)(Effect.gen(function*() {
        const entries = yield* readIndexEntries
        const kept = entries.filter((entry) => normalizeAccountId(entry) !== accountId)
        if (kept.length !== entries.length) yield* writeIndex(kept)
      }))
    })

    /** The stored credentials: own file, raw-id file, then the legacy credentials.json (token only). */
    const load = Effect.fn("AccountStore.load")(function*(rawId: string) {
      for (const file of accountFiles(paths, rawId).credentialSources) {
        const stored = yield* files.readJson(file, StoredAccountFile)
        if (Option.isSome(stored)) return stored
      }
      const legacy = yield* files.readJson(legacyCredentialsFile(paths), LegacyCredentialsFile)
      return Option.map(legacy, ({ token }): StoredAccount => ({ token }))
    })

    /** Merges a login into the account's own file, stamping `savedAt` from the Clock. */
    const save = Effect.fn("AccountStore.save")(function*(rawId: string, update: StoredAccountUpdate) {
      const file = accountFiles(paths, rawId).credentials
      const existing = Option.getOrElse(yield* files.readJson(file, StoredAccountFile), (): StoredAccount => ({}))
      const now = DateTime.formatIso(yield* DateTime.now)
      yield* files.writeText(file, indentedJson(mergeLogin(existing, update, now)))
    })

    /**
     * Deletes every file of the account (credentials, cursor, context tokens, the raw-id fallbacks, our own
     * files and temp files, the legacy allow-list) and its index entry. Other accounts are not touched.
     */
    const remove = Effect.fn("AccountStore.remove")(function*(rawId: string) {
      const names = accountFiles(paths, rawId)
      const listed = yield* files.list(paths.accountsDir)
      const owned = listed.filter(names.ownsName).map((name) => join(paths.accountsDir, name))
      yield* Effect.forEach([...names.removable, ...owned, ...names.allowFrom], files.remove, { discard: true })
      yield* unregister(names.accountId)
    })

    return { list, register, unregister, load, save, remove } as const
  }),
  dependencies: [StateDir.layer, StateFiles.layer]
}) {
  /** in memory (StateFiles.layerMemory), for tests of any folder */
  static readonly layerMemory: Layer.Layer<AccountStore> = AccountStore.DefaultWithoutDependencies.pipe(
    Layer.provide(Layer.merge(StateDir.layerMemory, StateFiles.layerMemory))
  )
}
