/**
 * What every adapter of the ChannelPlugin shares: the lazily built runtime, where the state dir is, and
 * the terminal the CLI login talks to. Tests build their own; index.ts builds the process-wide one.
 */
import type { StatePaths } from "../layers/StateStore.js"
import { PluginRuntime } from "./PluginRuntime.js"
import { currentStatePaths } from "./StoredAccountsSync.js"

export interface PluginDeps {
  readonly runtime: PluginRuntime
  /** the state dir layout, read at each call (the environment decides it) */
  readonly statePaths: () => StatePaths
  /**
   * The host config last seen (registration, startAccount): web login gets no config from the host, so
   * it reads the QR base URL from here.
   */
  readonly latestConfig: { value: unknown }
  /** where `auth.login` reads the verify code from and prints its prompt */
  readonly terminal: {
    readonly input: NodeJS.ReadableStream
    readonly output: NodeJS.WritableStream
  }
}

export const makePluginDeps = (overrides: Partial<PluginDeps> = {}): PluginDeps => ({
  runtime: overrides.runtime ?? new PluginRuntime(),
  statePaths: overrides.statePaths ?? currentStatePaths,
  latestConfig: overrides.latestConfig ?? { value: undefined },
  terminal: overrides.terminal ?? { input: process.stdin, output: process.stdout }
})
