/**
 * StateStore: every file the plugin keeps in the OpenClaw state dir (ILINK §2.2, §3.5, §3.6, §3.8, §4).
 *
 * The official plugin's files are read and written in its exact formats, so an existing install is picked
 * up without a new QR login and a user can switch back:
 *   <state>/openclaw-weixin/accounts.json                    index, 2-space JSON
 *   <state>/openclaw-weixin/accounts/<id>.json               credentials, 2-space JSON, mode 0600
 *   <state>/openclaw-weixin/accounts/<id>.sync.json          cursor, compact JSON
 *   <state>/openclaw-weixin/accounts/<id>.context-tokens.json  context tokens, compact JSON
 *   <credentials>/openclaw-weixin-<safe id>-allowFrom.json   legacy allow-list (only deleted here)
 *
 * Our own files live beside them and cannot collide with them: `accounts/<id>.ocw-<name>.json` (JSON
 * records) and `accounts/<id>.ocw-<name>.jsonl` (append-only journals). `<id>` is a normalized id, which
 * never contains a dot, and `<name>` matches `[a-z0-9][a-z0-9-]*`, so no official `<x>.json`,
 * `<x>.sync.json` or `<raw id>.json` file can ever have one of these names.
 *
 * Methods:
 *   paths                                   resolved directories and the index file
 *   listAccountIds()                        normalized, de-duplicated ids from accounts.json
 *   registerAccount(id) / unregisterAccount(id)
 *   loadAccount(id) -> Option<StoredAccount>   own file, raw-id file, legacy credentials.json
 *   saveAccount(id, update)                 merge per ILINK §3.3 step 2
 *   loadCursor(id) -> string / saveCursor(id, buf)
 *   loadContextTokens(id) -> Record / saveContextTokens(id, map)
 *   readOwnJson(id, name, schema) / writeOwnJson(id, name, value, schema)
 *   appendJournal(id, name, lines) / readJournal(id, name) / replaceJournal(id, name, lines)
 *   journalPath(id, name)                   the journal's file path, for log lines
 *   removeAccount(id)
 *
 * Every method normalizes the id it is given, so no caller can make a path escape the state dir.
 * Every write is atomic (temp file, fsync, rename, directory fsync); files are 0600, created dirs 0700.
 * Corrupt or unknown-shaped files read as missing, with one warning per file per store instance.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { Config, DateTime, Effect, Layer, Option, Redacted, Ref, Schema } from "effect"
import * as Os from "node:os"
import { join as joinPath } from "node:path"
import { allowFromFileName, deriveRawAccountId, normalizeAccountId } from "../domain/AccountId.js"
import {
  AccountsIndexFile,
  ContextTokensFile,
  LegacyCredentialsFile,
  StoredAccountFile,
  type StoredAccount,
  type StoredAccountUpdate,
  SyncFile
} from "./StoredFiles.js"
import {
  appendLinesDurably,
  ensurePrivateDirectory,
  isTempFileName,
  StateError,
  type StateOperation,
  toStateError,
  writeFileAtomic
} from "./AtomicFile.js"

export { StateError } from "./AtomicFile.js"
export type { StoredAccount, StoredAccountUpdate } from "./StoredFiles.js"

export interface StatePaths {
  readonly stateDir: string
  readonly weixinDir: string
  readonly accountsDir: string
  readonly credentialsDir: string
  readonly accountsIndexFile: string
}

const WEIXIN_DIR_NAME = "openclaw-weixin"
const OWN_FILE_INFIX = ".ocw-"
const OWN_FILE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/

/** Directory layout for a given state dir; `credentialsDir` defaults to `<state>/credentials`. */
export const statePathsFor = (stateDir: string, credentialsDir?: string): StatePaths => {
  const weixinDir = joinPath(stateDir, WEIXIN_DIR_NAME)
  return {
    stateDir,
    weixinDir,
    accountsDir: joinPath(weixinDir, "accounts"),
    credentialsDir: credentialsDir ?? joinPath(stateDir, "credentials"),
    accountsIndexFile: joinPath(weixinDir, "accounts.json")
  }
}


const trimmedEnv = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((value) => value.trim())
  )

/** ILINK §3.6: OPENCLAW_STATE_DIR, then CLAWDBOT_STATE_DIR, then ~/.openclaw; OPENCLAW_OAUTH_DIR for credentials. */
export const resolveStatePaths = Effect.gen(function*() {
  const openclawStateDir = yield* trimmedEnv("OPENCLAW_STATE_DIR")
  const clawdbotStateDir = yield* trimmedEnv("CLAWDBOT_STATE_DIR")
  const oauthDir = yield* trimmedEnv("OPENCLAW_OAUTH_DIR")
  const stateDir = openclawStateDir !== ""
    ? openclawStateDir
    : clawdbotStateDir !== ""
    ? clawdbotStateDir
    : joinPath(Os.homedir(), ".openclaw")
  return statePathsFor(stateDir, oauthDir !== "" ? oauthDir : undefined)
}).pipe(Effect.orDie)

const compactJson = (value: unknown): string => JSON.stringify(value)
const indentedJson = (value: unknown): string => JSON.stringify(value, null, 2)
const encoder = new TextEncoder()

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

const makeStateStore = (paths: StatePaths) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const warnedFiles = yield* Ref.make<ReadonlySet<string>>(new Set())
    // accounts.json is read-modify-write; serialize those updates within this process.
    const indexLock = yield* Effect.makeSemaphore(1)
    const provideFileSystem = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
      Effect.provideService(Effect.provideService(effect, FileSystem.FileSystem, fs), Path.Path, path)

    const warnOnce = (file: string, problem: string) =>
      Ref.modify(warnedFiles, (seen): [boolean, ReadonlySet<string>] =>
        seen.has(file) ? [false, seen] : [true, new Set([...seen, file])]).pipe(
          Effect.flatMap((first) =>
            first ? Effect.logWarning(problem).pipe(
              Effect.annotateLogs({ file })
            ) : Effect.void
          )
        )

    /** File text, or None when the file does not exist. Other read failures are typed errors. */
    const readTextIfPresent = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.map(Option.some),
        Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<string>())),
        Effect.mapError(toStateError(file, "read"))
      )

    /** Decode a JSON file; missing → None; corrupt or unknown shape → None with a warning. */
    const readJsonFile = <A, I>(file: string, schema: Schema.Schema<A, I>) =>
      Effect.gen(function*() {
        const text = yield* readTextIfPresent(file)
        if (Option.isNone(text)) return Option.none<A>()
        const decoded = Schema.decodeUnknownOption(Schema.parseJson(schema))(text.value)
        if (Option.isNone(decoded)) {
          yield* warnOnce(file, `${file} is not valid JSON of the expected shape; treating it as missing (fix or delete it)`)
        }
        return decoded
      })

    /** Like readJsonFile but unreadable files also read as None (with a warning). */
    const readJsonFileLeniently = <A, I>(file: string, schema: Schema.Schema<A, I>) =>
      readJsonFile(file, schema).pipe(
        Effect.catchTag("StateError", (error) =>
          warnOnce(file, `${error.message}; treating it as missing`).pipe(Effect.as(Option.none<A>())))
      )

    const writeAtomically = (directory: string, file: string, text: string) =>
      provideFileSystem(
        ensurePrivateDirectory(directory).pipe(Effect.zipRight(writeFileAtomic(file, encoder.encode(text))))
      )

    const removeIfPresent = (file: string) =>
      fs.remove(file).pipe(
        Effect.catchIf(isNotFound, () => Effect.void),
        Effect.mapError(toStateError(file, "remove"))
      )

    const accountFile = (id: string, suffix: string) => path.join(paths.accountsDir, `${id}${suffix}`)

    /** Where an account's journal lives (for messages that tell an operator where to look). */
    const journalPath = (rawId: string, name: string): string =>
      accountFile(normalizeAccountId(rawId), `${OWN_FILE_INFIX}${name}.jsonl`)

    const ownFile = (rawId: string, name: string, extension: ".json" | ".jsonl", operation: StateOperation) =>
      Effect.gen(function*() {
        const id = normalizeAccountId(rawId)
        const file = accountFile(id, `${OWN_FILE_INFIX}${name}${extension}`)
        if (!OWN_FILE_NAME.test(name)) {
          return yield* new StateError({
            path: file,
            operation,
            message: `invalid state file name "${name}"; use lowercase letters, digits and "-" only`
          })
        }
        return file
      })

    const journalText = (file: string, lines: ReadonlyArray<string>) =>
      lines.some((line) => line.includes("\n"))
        ? Effect.fail(
          new StateError({
            path: file,
            operation: "append",
            message: `a journal line for ${file} contains a newline; encode each record as one line`
          })
        )
        : Effect.succeed(lines)

    // ---- accounts index -------------------------------------------------------------------------

    const readIndexEntries = Effect.gen(function*() {
      const entries = yield* readJsonFile(paths.accountsIndexFile, AccountsIndexFile)
      return Option.match(entries, {
        onNone: () => [] as Array<string>,
        onSome: (values) =>
          values.filter((value): value is string => typeof value === "string" && value.trim() !== "")
      })
    })

    const writeIndex = (ids: ReadonlyArray<string>) =>
      writeAtomically(paths.weixinDir, paths.accountsIndexFile, indentedJson(ids))

    const listAccountIds = Effect.fn("StateStore.listAccountIds")(function*() {
      const entries = yield* readIndexEntries
      return [...new Set(entries.map(normalizeAccountId))] as ReadonlyArray<string>
    })

    const registerAccount = Effect.fn("StateStore.registerAccount")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* indexLock.withPermits(1)(Effect.gen(function*() {
        const entries = yield* readIndexEntries
        if (entries.some((entry) => normalizeAccountId(entry) === id)) return
        yield* writeIndex([...entries, id])
      }))
    })

    const unregisterAccount = Effect.fn("StateStore.unregisterAccount")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      yield* indexLock.withPermits(1)(Effect.gen(function*() {
        const entries = yield* readIndexEntries
        const kept = entries.filter((entry) => normalizeAccountId(entry) !== id)
        if (kept.length !== entries.length) yield* writeIndex(kept)
      }))
    })

    // ---- credentials ----------------------------------------------------------------------------

    const legacyCredentialsFile = path.join(paths.stateDir, "credentials", WEIXIN_DIR_NAME, "credentials.json")

    const loadAccount = Effect.fn("StateStore.loadAccount")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      const own = yield* readJsonFile(accountFile(id, ".json"), StoredAccountFile)
      if (Option.isSome(own)) return own
      const rawAccountId = deriveRawAccountId(id)
      if (rawAccountId !== undefined) {
        const raw = yield* readJsonFile(accountFile(rawAccountId, ".json"), StoredAccountFile)
        if (Option.isSome(raw)) return raw
      }
      const legacy = yield* readJsonFile(legacyCredentialsFile, LegacyCredentialsFile)
      return Option.map(legacy, ({ token }): StoredAccount => ({ token }))
    })

    const saveAccount = Effect.fn("StateStore.saveAccount")(function*(rawId: string, update: StoredAccountUpdate) {
      const id = normalizeAccountId(rawId)
      const file = accountFile(id, ".json")
      const existing = Option.getOrElse(yield* readJsonFile(file, StoredAccountFile), (): StoredAccount => ({}))
      const newToken = update.token !== undefined && Redacted.value(update.token) !== "" ? update.token : undefined
      const token = newToken ?? existing.token
      const savedAt = token !== undefined ? DateTime.formatIso(yield* DateTime.now) : existing.savedAt
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
      yield* writeAtomically(paths.accountsDir, file, indentedJson(record))
    })

    // ---- cursor ---------------------------------------------------------------------------------

    const legacySyncFile = path.join(
      paths.stateDir,
      "agents",
      "default",
      "sessions",
      ".openclaw-weixin-sync",
      "default.json"
    )

    const loadCursor = Effect.fn("StateStore.loadCursor")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      const rawAccountId = deriveRawAccountId(id)
      const candidates = [
        accountFile(id, ".sync.json"),
        ...(rawAccountId !== undefined ? [accountFile(rawAccountId, ".sync.json")] : []),
        legacySyncFile
      ]
      for (const file of candidates) {
        const sync = yield* readJsonFileLeniently(file, SyncFile)
        if (Option.isSome(sync)) return sync.value.get_updates_buf
      }
      return ""
    })

    const saveCursor = Effect.fn("StateStore.saveCursor")(function*(rawId: string, getUpdatesBuf: string) {
      const id = normalizeAccountId(rawId)
      yield* writeAtomically(
        paths.accountsDir,
        accountFile(id, ".sync.json"),
        compactJson({ get_updates_buf: getUpdatesBuf })
      )
    })

    // ---- context tokens -------------------------------------------------------------------------

    const loadContextTokens = Effect.fn("StateStore.loadContextTokens")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      const stored = yield* readJsonFileLeniently(accountFile(id, ".context-tokens.json"), ContextTokensFile)
      const entries = Option.match(stored, {
        onNone: () => [],
        onSome: (record) =>
          Object.entries(record).filter((entry): entry is [string, string] =>
            typeof entry[1] === "string" && entry[1] !== ""
          )
      })
      // fromEntries defines own properties, so a "__proto__" key cannot touch the prototype.
      return Object.fromEntries(entries) as Readonly<Record<string, string>>
    })

    const saveContextTokens = Effect.fn("StateStore.saveContextTokens")(
      function*(rawId: string, tokens: Readonly<Record<string, string>>) {
        const id = normalizeAccountId(rawId)
        yield* writeAtomically(paths.accountsDir, accountFile(id, ".context-tokens.json"), compactJson(tokens))
      }
    )

    // ---- our own records and journals -----------------------------------------------------------

    const readOwnJson = Effect.fn("StateStore.readOwnJson")(
      function*<A, I>(rawId: string, name: string, schema: Schema.Schema<A, I>) {
        const file = yield* ownFile(rawId, name, ".json", "read")
        return yield* readJsonFile(file, schema)
      }
    )

    const writeOwnJson = Effect.fn("StateStore.writeOwnJson")(
      function*<A, I>(rawId: string, name: string, value: A, schema: Schema.Schema<A, I>) {
        const file = yield* ownFile(rawId, name, ".json", "write")
        const text = yield* Schema.encode(Schema.parseJson(schema))(value).pipe(
          Effect.mapError((error) =>
            new StateError({
              path: file,
              operation: "write",
              message: `refusing to write ${file}: the value does not match its schema (${error.message})`
            })
          )
        )
        yield* writeAtomically(paths.accountsDir, file, text)
      }
    )

    const appendJournal = Effect.fn("StateStore.appendJournal")(
      function*(rawId: string, name: string, lines: ReadonlyArray<string>) {
        const file = yield* ownFile(rawId, name, ".jsonl", "append")
        yield* journalText(file, lines)
        if (lines.length === 0) return
        yield* provideFileSystem(appendLinesDurably(file, lines))
      }
    )

    const readJournal = Effect.fn("StateStore.readJournal")(function*(rawId: string, name: string) {
      const file = yield* ownFile(rawId, name, ".jsonl", "read")
      const text = yield* readTextIfPresent(file)
      if (Option.isNone(text)) return [] as ReadonlyArray<string>
      const segments = text.value.split("\n")
      // After the last "\n" there is either nothing or a line cut short by a crash.
      const tail = segments.pop()
      if (tail !== undefined && tail !== "") {
        yield* Effect.logWarning(`dropping an incomplete last line of ${file} (left by an interrupted write)`).pipe(
          Effect.annotateLogs({ file })
        )
      }
      return segments as ReadonlyArray<string>
    })

    const replaceJournal = Effect.fn("StateStore.replaceJournal")(
      function*(rawId: string, name: string, lines: ReadonlyArray<string>) {
        const file = yield* ownFile(rawId, name, ".jsonl", "write")
        yield* journalText(file, lines)
        yield* writeAtomically(paths.accountsDir, file, lines.map((line) => `${line}\n`).join(""))
      }
    )

    // ---- removal --------------------------------------------------------------------------------

    const listAccountsDir = fs.readDirectory(paths.accountsDir).pipe(
      Effect.catchIf(isNotFound, () => Effect.succeed([] as Array<string>)),
      Effect.mapError(toStateError(paths.accountsDir, "list"))
    )

    const removeAccount = Effect.fn("StateStore.removeAccount")(function*(rawId: string) {
      const id = normalizeAccountId(rawId)
      const rawAccountId = deriveRawAccountId(id)
      const ownPrefix = `${id}${OWN_FILE_INFIX}`
      const names = yield* listAccountsDir
      const ownAndTemp = names.filter((name) =>
        name.startsWith(ownPrefix) || (isTempFileName(name) && name.startsWith(`.${id}.`))
      )
      const accountFiles = [
        accountFile(id, ".json"),
        accountFile(id, ".sync.json"),
        accountFile(id, ".context-tokens.json"),
        // raw-id files would otherwise resurrect the account through the §3.5 fallback
        ...(rawAccountId !== undefined
          ? [accountFile(rawAccountId, ".json"), accountFile(rawAccountId, ".sync.json")]
          : []),
        ...ownAndTemp.map((name) => path.join(paths.accountsDir, name))
      ]
      const allowFromFiles = [id, ...(rawAccountId !== undefined ? [rawAccountId] : [])].flatMap((key) =>
        Option.toArray(allowFromFileName(key)).map((name) => path.join(paths.credentialsDir, name))
      )
      yield* Effect.forEach([...accountFiles, ...allowFromFiles], removeIfPresent, { discard: true })
      yield* unregisterAccount(id)
    })

    return {
      paths,
      listAccountIds,
      registerAccount,
      unregisterAccount,
      loadAccount,
      saveAccount,
      loadCursor,
      saveCursor,
      loadContextTokens,
      saveContextTokens,
      readOwnJson,
      writeOwnJson,
      appendJournal,
      readJournal,
      replaceJournal,
      journalPath,
      removeAccount
    } as const
  })

const platformLayer = Layer.merge(NodeFileSystem.layer, NodePath.layer)

export class StateStore extends Effect.Service<StateStore>()("openclaw-weixin/StateStore", {
  effect: Effect.flatMap(resolveStatePaths, makeStateStore),
  dependencies: [platformLayer]
}) {
  /** A store rooted at `stateDir` (credentials under `<stateDir>/credentials`), for tests and tools. */
  static layerAt = (stateDir: string, credentialsDir?: string): Layer.Layer<StateStore> =>
    Layer.effect(StateStore, Effect.map(makeStateStore(statePathsFor(stateDir, credentialsDir)), StateStore.make))
      .pipe(Layer.provide(platformLayer))
}
