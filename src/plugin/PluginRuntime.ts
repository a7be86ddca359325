/**
 * The bridge between the host's promise-based adapter calls and the plugin's one ManagedRuntime.
 *
 * The runtime is built lazily, on the first adapter call, never at registration: `register` also runs in
 * `cli-metadata` / `discovery` processes that only want metadata, and the CLI (`channels login`,
 * `message send`) calls adapters in a `discovery` process where no account must start polling.
 * A failed effect rejects the host's promise with the typed error itself, so the host prints its message.
 */
import { Cause, type Effect, Exit, type Layer, type LogLevel } from "effect"
import type { InboundMediaStore } from "../account/InboundMediaStore.js"
import type { CdnTimeoutsShape } from "../ilink/CdnTimeouts.js"
import type { ILinkApi } from "../ilink/ILinkApi.js"
import { LogSinks, SecretValues } from "./HostLogger.js"
import { makePluginRuntime, type PluginManagedRuntime, type PluginServices } from "./PluginLayer.js"
import type { StateServices } from "../state/State.js"
import type { ChannelTurns } from "../host/ChannelTurns.js"
import type { MediaLoader } from "../host/MediaLoader.js"
import type { QrRenderer } from "../login/QrRender.js"

export interface PluginRuntimeOverrides {
  readonly channelTurns?: Layer.Layer<ChannelTurns, never, MediaLoader> | undefined
  readonly mediaLoader?: Layer.Layer<MediaLoader> | undefined
  readonly state?: Layer.Layer<StateServices> | undefined
  readonly ilinkApi?: Layer.Layer<ILinkApi> | undefined
  readonly mediaStore?: Layer.Layer<InboundMediaStore> | undefined
  readonly cdnTimeouts?: CdnTimeoutsShape | undefined
  readonly qrRenderer?: Layer.Layer<QrRenderer> | undefined
  readonly minimumLogLevel?: LogLevel.LogLevel | undefined
}

export class PluginRuntime {
  readonly sinks = new LogSinks()
  readonly secrets = new SecretValues()
  private managed: PluginManagedRuntime | undefined
  private overrides: PluginRuntimeOverrides

  constructor(overrides: PluginRuntimeOverrides = {}) {
    this.overrides = overrides
  }

  /** Replaces layers before the runtime is built. */
  configure(overrides: PluginRuntimeOverrides): void {
    this.overrides = { ...this.overrides, ...overrides }
  }

  /** True once an adapter call has built the runtime. */
  get started(): boolean {
    return this.managed !== undefined
  }

  private runtime(): PluginManagedRuntime {
    if (this.managed === undefined) {
      this.managed = makePluginRuntime({ sinks: this.sinks, secrets: this.secrets, ...this.overrides })
    }
    return this.managed
  }

  private transient = false
  private inFlight = 0

  /**
   * In a CLI process (`channels login`, `message send`: registration mode `discovery` without `full`) the
   * runtime is released when no call is running, so nothing (HTTP keep-alive, timers) holds the command
   * open. The gateway process registers `full` and keeps its runtime until unload.
   */
  setTransient(transient: boolean): void {
    this.transient = transient
  }

  /** Runs one host call; rejects with the effect's own error (or defect) when it fails. */
  async run<A, E>(effect: Effect.Effect<A, E, PluginServices>, signal?: AbortSignal): Promise<A> {
    this.inFlight += 1
    try {
      const exit = await this.runtime().runPromiseExit(effect, signal === undefined ? undefined : { signal })
      if (Exit.isSuccess(exit)) return exit.value
      throw Cause.squash(exit.cause)
    } finally {
      this.inFlight -= 1
      if (this.transient && this.inFlight === 0) await this.dispose()
    }
  }

  /** Runs an effect only if the runtime exists already (e.g. stop for an account that never started). */
  async runIfStarted<A, E>(effect: Effect.Effect<A, E, PluginServices>, otherwise: A): Promise<A> {
    return this.managed === undefined ? otherwise : this.run(effect)
  }

  /** Stops every account and releases every resource; a later adapter call builds a fresh runtime. */
  async dispose(): Promise<void> {
    const managed = this.managed
    this.managed = undefined
    if (managed !== undefined) await managed.dispose()
  }
}
