/**
 * Shared set-up of the state tests and of the tests that run an Inbox: the state services in a fresh temp
 * dir (a copy of the official plugin's state, or with the warnings captured), and the Inbox's two stores
 * (InboxJournal, CursorStore) over a real dir or memory, with a switch per operation to make it fail (a
 * full disk, a read-only mount).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Context, Effect, Layer, Logger, type Scope } from "effect"
import { fileURLToPath } from "node:url"
import { CursorStore } from "../../src/state/CursorStore.js"
import { InboxJournal } from "../../src/state/InboxJournal.js"
import { State, type StateServices } from "../../src/state/State.js"
import { StateError, type StateOperation } from "../../src/state/StateError.js"
import { accountFiles, StateDir } from "../../src/state/StatePaths.js"

/** The state services in a fresh temp dir; `warnings` collects every warning logged while `body` runs. */
export const inStateDirWithWarnings = <A, E>(
  prefix: string,
  body: (stateDir: string, warnings: ReadonlyArray<string>) => Effect.Effect<A, E, StateServices | FileSystem.FileSystem>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stateDir = yield* fs.makeTempDirectoryScoped({ prefix })
    const warnings: Array<string> = []
    const capture = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    return yield* body(stateDir, warnings).pipe(
      Effect.provide(State.layerAt(stateDir)),
      Effect.provide(Logger.replace(Logger.defaultLogger, capture))
    )
  }).pipe(Effect.provide(NodeContext.layer))

export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/official-state", import.meta.url))
/** the fixture's account with all four files */
export const OWNER = "b0f5860fdecb-im-bot"
/** the fixture's account known only by raw-id files */
export const RAW_ONLY = "7c1e0a9d2f44-im-bot"

/** Runs `body` with the state services rooted at a fresh temp dir (a copy of the fixture if asked). */
export const inStateDir = <A, E>(
  options: { readonly fixture: boolean },
  body: (stateDir: string) => Effect.Effect<A, E, StateServices | FileSystem.FileSystem>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stateDir = yield* fs.makeTempDirectoryScoped({ prefix: "ocw-state-" })
    if (options.fixture) yield* fs.copy(FIXTURE_DIR, stateDir, { overwrite: true })
    return yield* body(stateDir).pipe(Effect.provide(State.layerAt(stateDir)))
  }).pipe(Effect.provide(NodeContext.layer))

export const readText = (file: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file))

export const modeOf = (file: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.stat(file)).pipe(Effect.map((info) => info.mode & 0o777))

/** The operations of the Inbox's stores that a test can make fail. */
export type InboxStorageOperation = "saveCursor" | "append" | "read" | "replace"

export interface InboxStorage {
  /** the two stores, each call failing with a StateError while its switch in `failing` is set */
  readonly journal: InboxJournal
  readonly cursors: CursorStore
  /** when set, the named operation fails with this message */
  readonly failing: Map<InboxStorageOperation, string>
  /** provides `journal` and `cursors` (or replacements built from them) */
  readonly provide: <A, E, R>(
    effect: Effect.Effect<A, E, R>,
    replace?: { readonly journal?: InboxJournal; readonly cursors?: CursorStore }
  ) => Effect.Effect<A, E, Exclude<R, InboxJournal | CursorStore>>
  /** the journal's lines right now (ignores `failing`) */
  readonly lines: (accountId: string) => Effect.Effect<ReadonlyArray<string>>
  /** the stored cursor right now (ignores `failing`) */
  readonly cursor: (accountId: string) => Effect.Effect<string>
  readonly journalPath: (accountId: string) => string
  readonly cursorPath: (accountId: string) => string
}

/** The Inbox's stores over `state` (State.layerAt(dir) or State.layerMemory), with failure switches. */
export const makeInboxStorage = (state: Layer.Layer<StateServices>): Effect.Effect<InboxStorage, never, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(state)
    const realJournal = yield* Effect.provide(InboxJournal, context)
    const realCursors = yield* Effect.provide(CursorStore, context)
    const paths = yield* Effect.provide(StateDir, context)
    const failing = new Map<InboxStorageOperation, string>()
    const guard = <A>(
      name: InboxStorageOperation,
      accountId: string,
      operation: StateOperation,
      effect: Effect.Effect<A, StateError>
    ): Effect.Effect<A, StateError> =>
      Effect.suspend(() => {
        const reason = failing.get(name)
        const path = name === "saveCursor" ? accountFiles(paths, accountId).cursor : realJournal.path(accountId)
        return reason === undefined ? effect : Effect.fail(new StateError({ path, operation, message: reason }))
      })
    const journal = InboxJournal.make({
      path: realJournal.path,
      append: (id, lines) => guard("append", id, "append", realJournal.append(id, lines)),
      read: (id) => guard("read", id, "read", realJournal.read(id)),
      replace: (id, lines) => guard("replace", id, "write", realJournal.replace(id, lines))
    })
    const cursors = CursorStore.make({
      // reading the cursor never fails: an unreadable file is no cursor
      load: realCursors.load,
      save: (id, buf) => guard("saveCursor", id, "write", realCursors.save(id, buf))
    })
    const provide = <A, E, R>(
      effect: Effect.Effect<A, E, R>,
      replace: { readonly journal?: InboxJournal; readonly cursors?: CursorStore } = {}
    ): Effect.Effect<A, E, Exclude<R, InboxJournal | CursorStore>> =>
      Effect.provide(
        effect,
        Context.make(InboxJournal, replace.journal ?? journal).pipe(Context.add(CursorStore, replace.cursors ?? cursors))
      )
    const storage: InboxStorage = {
      journal,
      cursors,
      failing,
      provide,
      lines: (id) => Effect.orDie(realJournal.read(id)),
      cursor: (id) => realCursors.load(id),
      journalPath: (id) => realJournal.path(id),
      cursorPath: (id) => accountFiles(paths, id).cursor
    }
    return storage
  })

/** The Inbox's stores in memory. */
export const memoryInboxStorage = makeInboxStorage(State.layerMemory)

/** The Inbox's stores in the state dir `dir`. */
export const fileInboxStorage = (dir: string) => makeInboxStorage(State.layerAt(dir))
