/**
 * Where the plugin's files live, and every file-name rule of the state dir (PROTOCOL §3.5, §3.6, §3.8).
 *
 * The official plugin's files keep their exact names, so an existing install is picked up without a new
 * QR login and a user can switch back:
 *   <state>/openclaw-weixin/accounts.json                      index
 *   <state>/openclaw-weixin/accounts/<id>.json                 credentials
 *   <state>/openclaw-weixin/accounts/<id>.sync.json            cursor
 *   <state>/openclaw-weixin/accounts/<id>.context-tokens.json  context tokens
 *   <credentials>/openclaw-weixin-<safe id>-allowFrom.json     legacy allow-list (only deleted here)
 * plus the fallbacks read for older installs: `<raw id>.json`, `<raw id>.sync.json`,
 * `<state>/credentials/openclaw-weixin/credentials.json` and the legacy default sync file.
 *
 * Our own files live beside them and cannot collide with them: `accounts/<id>.ocw-<name>.json` (records)
 * and `accounts/<id>.ocw-<name>.jsonl` (journals). `<id>` is a normalized id, which never contains a dot,
 * and `<name>` matches `[a-z0-9][a-z0-9-]*`, so no official `<x>.json`, `<x>.sync.json` or
 * `<raw id>.json` file can ever have one of these names.
 *
 * Every name is built from `accountFiles(paths, rawId)`, which normalizes the id itself: no caller can
 * hand in an id that escapes the accounts dir.
 */
import { type Brand, Config, Context, Effect, Layer, Option } from "effect"
import { join } from "node:path"
import { resolveOAuthDir, resolveStateDir } from "openclaw/plugin-sdk/state-paths"
import { allowFromFileName, deriveRawAccountId, normalizeAccountId } from "../domain/AccountId.js"

export interface StatePaths {
  readonly stateDir: string
  readonly weixinDir: string
  readonly accountsDir: string
  readonly credentialsDir: string
  readonly accountsIndexFile: string
}

const WEIXIN_DIR_NAME = "openclaw-weixin"

/** Directory layout for a given state dir; `credentialsDir` defaults to `<state>/credentials`. */
export const statePathsFor = (stateDir: string, credentialsDir?: string): StatePaths => {
  const weixinDir = join(stateDir, WEIXIN_DIR_NAME)
  return {
    stateDir,
    weixinDir,
    accountsDir: join(weixinDir, "accounts"),
    credentialsDir: credentialsDir ?? join(stateDir, "credentials"),
    accountsIndexFile: join(weixinDir, "accounts.json")
  }
}

const trimmedEnv = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((value) => value.trim())
  )

/** The environment variables the state dir depends on (read through Effect's Config, so tests can set them). */
const STATE_ENV = ["OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR", "OPENCLAW_OAUTH_DIR", "OPENCLAW_HOME", "HOME", "USERPROFILE"] as const

/**
 * PROTOCOL §3.6, with the host's own rules so the plugin and the host never disagree: the host's
 * `resolveStateDir` (OPENCLAW_STATE_DIR with `~` and relative paths resolved, else the home dir —
 * OPENCLAW_HOME first — and its `.openclaw`, or an existing legacy dir), except that the official plugin's
 * CLAWDBOT_STATE_DIR, when set and OPENCLAW_STATE_DIR is not, names the state dir explicitly. Credentials:
 * the host's `resolveOAuthDir` (OPENCLAW_OAUTH_DIR, else `<state>/credentials`).
 */
export const resolveStatePaths: Effect.Effect<StatePaths> = Effect.gen(function*() {
  const env: Record<string, string> = {}
  for (const name of STATE_ENV) {
    const value = yield* trimmedEnv(name)
    if (value !== "") env[name] = value
  }
  const clawdbotStateDir = env["CLAWDBOT_STATE_DIR"]
  const stateEnv = env["OPENCLAW_STATE_DIR"] === undefined && clawdbotStateDir !== undefined
    ? { ...env, OPENCLAW_STATE_DIR: clawdbotStateDir }
    : env
  const stateDir = resolveStateDir(stateEnv)
  const credentialsDir = resolveOAuthDir(env, stateDir)
  return statePathsFor(stateDir, credentialsDir)
}).pipe(Effect.orDie)

/** The state dir as a service, so every store of one layer uses the same one. */
export class StateDir extends Context.Tag("openclaw-weixin/StateDir")<StateDir, StatePaths>() {
  /** from the environment (PROTOCOL §3.6) */
  static readonly layer: Layer.Layer<StateDir> = Layer.effect(StateDir, resolveStatePaths)
  /** rooted at `stateDir` (credentials under `<stateDir>/credentials` unless given), for tests and tools */
  static readonly layerAt = (stateDir: string, credentialsDir?: string): Layer.Layer<StateDir> =>
    Layer.succeed(StateDir, statePathsFor(stateDir, credentialsDir))
  /** the directory the in-memory stores pretend to live in; nothing is ever written there */
  static readonly layerMemory: Layer.Layer<StateDir> = StateDir.layerAt("/openclaw-weixin-memory/state")
}

// ---- temp files --------------------------------------------------------------------------------

const TEMP_MARKER = ".tmp-"

/** The temp file an atomic write of `targetName` goes through: `.<target name>.tmp-<unique>`. */
export const tempFileNameFor = (targetName: string, unique: string): string => `.${targetName}${TEMP_MARKER}${unique}`

/** True for the temp files atomic writes create (and may leave behind after a crash). */
export const isTempFileName = (name: string): boolean => name.startsWith(".") && name.includes(TEMP_MARKER)

// ---- our own files -----------------------------------------------------------------------------

const OWN_FILE_INFIX = ".ocw-"
const OWN_FILE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/

/** The `<name>` of one of our own files; made only by `ownFileName`, so it always matches the rule. */
export type OwnFileName = string & Brand.Brand<"OwnFileName">

/** Checks a name of our own files; names are constants in code, so a bad one is a programming error. */
export const ownFileName = (name: string): OwnFileName => {
  if (!OWN_FILE_NAME.test(name)) {
    throw new Error(`invalid state file name "${name}"; use lowercase letters, digits and "-" only`)
  }
  return name as OwnFileName
}

const INBOX_JOURNAL = ownFileName("inbox")
const CONTEXT_ACTIVITY = ownFileName("context-activity")

// ---- per account -------------------------------------------------------------------------------

/** The legacy single-account credentials file (PROTOCOL §3.5); always under the state dir itself. */
export const legacyCredentialsFile = (paths: StatePaths): string =>
  join(paths.stateDir, "credentials", WEIXIN_DIR_NAME, "credentials.json")

/** The legacy cursor file of the single-account era (PROTOCOL §2.2). */
export const legacyCursorFile = (paths: StatePaths): string =>
  join(paths.stateDir, "agents", "default", "sessions", ".openclaw-weixin-sync", "default.json")

export interface AccountFiles {
  /** the normalized id every name below is built from */
  readonly accountId: string
  /** `accounts/<id>.json` */
  readonly credentials: string
  /** account files read for the credentials, in order (PROTOCOL §3.5), before `legacyCredentialsFile` */
  readonly credentialSources: ReadonlyArray<string>
  /** `accounts/<id>.sync.json` */
  readonly cursor: string
  /** files read for the cursor, in order: own, raw id, the legacy default (PROTOCOL §2.2) */
  readonly cursorSources: ReadonlyArray<string>
  /** `accounts/<id>.context-tokens.json`: the official token file (PROTOCOL §4) */
  readonly contextTokens: string
  /** `accounts/<id>.ocw-context-activity.json`: our reply windows and budgets beside the tokens */
  readonly contextActivity: string
  /** `accounts/<id>.ocw-inbox.jsonl`: the inbox journal */
  readonly inboxJournal: string
  /** another file of our own */
  readonly own: (name: OwnFileName, extension: ".json" | ".jsonl") => string
  /** files of fixed name that removing the account deletes (raw-id ones too: they would resurrect it) */
  readonly removable: ReadonlyArray<string>
  /** true for a name in the accounts dir that is one of this account's own files or a temp file of it */
  readonly ownsName: (name: string) => boolean
  /** the legacy allow-list files of this account (PROTOCOL §3.8) */
  readonly allowFrom: ReadonlyArray<string>
}

/** Every file of one account; `rawId` is normalized here. */
export const accountFiles = (paths: StatePaths, rawId: string): AccountFiles => {
  const accountId = normalizeAccountId(rawId)
  const rawAccountId = deriveRawAccountId(accountId)
  const inAccounts = (id: string, suffix: string) => join(paths.accountsDir, `${id}${suffix}`)
  const own = (name: OwnFileName, extension: ".json" | ".jsonl") =>
    inAccounts(accountId, `${OWN_FILE_INFIX}${name}${extension}`)
  const credentials = inAccounts(accountId, ".json")
  const cursor = inAccounts(accountId, ".sync.json")
  const rawCredentials = rawAccountId === undefined ? [] : [inAccounts(rawAccountId, ".json")]
  const rawCursor = rawAccountId === undefined ? [] : [inAccounts(rawAccountId, ".sync.json")]
  const contextTokens = inAccounts(accountId, ".context-tokens.json")
  const ownPrefix = `${accountId}${OWN_FILE_INFIX}`
  return {
    accountId,
    credentials,
    credentialSources: [credentials, ...rawCredentials],
    cursor,
    cursorSources: [cursor, ...rawCursor, legacyCursorFile(paths)],
    contextTokens,
    contextActivity: own(CONTEXT_ACTIVITY, ".json"),
    inboxJournal: own(INBOX_JOURNAL, ".jsonl"),
    own,
    removable: [credentials, cursor, contextTokens, ...rawCredentials, ...rawCursor],
    ownsName: (name) => name.startsWith(ownPrefix) || (isTempFileName(name) && name.startsWith(`.${accountId}.`)),
    allowFrom: [accountId, ...(rawAccountId === undefined ? [] : [rawAccountId])].flatMap((key) =>
      Option.toArray(allowFromFileName(key)).map((name) => join(paths.credentialsDir, name))
    )
  }
}
