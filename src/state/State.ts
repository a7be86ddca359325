/**
 * Every state service in one layer, for composition roots and tests: the stores, plus the state dir
 * and the file operations they share (one StateFiles, so a corrupt file warns once, and in memory one
 * Map that all of them see).
 *
 * - `State.layer`: the real state dir from the environment (PROTOCOL §3.6)
 * - `State.layerAt(dir)`: a given state dir (tests, tools)
 * - `State.layerMemory`: everything in memory, with the same observable semantics
 */
import { Layer } from "effect"
import { AccountStore } from "./AccountStore.js"
import { ContextTokenStore } from "./ContextTokenStore.js"
import { CursorStore } from "./CursorStore.js"
import { DebugModeStore } from "./DebugModeStore.js"
import { InboxJournal } from "./InboxJournal.js"
import { QuoteJournal } from "./QuoteJournal.js"
import { StateDir } from "./StatePaths.js"
import { StateFiles } from "./StateFiles.js"

export type StateStores = AccountStore | CursorStore | ContextTokenStore | InboxJournal | QuoteJournal | DebugModeStore
export type StateServices = StateStores | StateDir | StateFiles

const stores = Layer.mergeAll(
  AccountStore.DefaultWithoutDependencies,
  CursorStore.DefaultWithoutDependencies,
  ContextTokenStore.DefaultWithoutDependencies,
  InboxJournal.DefaultWithoutDependencies,
  QuoteJournal.DefaultWithoutDependencies,
  DebugModeStore.DefaultWithoutDependencies
)

const over = (base: Layer.Layer<StateDir | StateFiles>): Layer.Layer<StateServices> =>
  Layer.provideMerge(stores, base)

export const State = {
  layer: over(Layer.merge(StateDir.layer, StateFiles.layer)),
  layerAt: (stateDir: string, credentialsDir?: string): Layer.Layer<StateServices> =>
    over(Layer.merge(StateDir.layerAt(stateDir, credentialsDir), StateFiles.layer)),
  layerMemory: over(Layer.merge(StateDir.layerMemory, StateFiles.layerMemory))
} as const
