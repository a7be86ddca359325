/**
 * Runs a real AccountActor (real ILinkApi over HTTP, real state stores) against the sandbox emulator,
 * with a recording Host, for integration tests.
 */
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import { AccountActor, type AccountActorHandle } from "../../src/account/AccountActor.js"
import type { AccountSettings } from "../../src/account/AccountSettings.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import type { HostService } from "../../src/account/AgentTurns.js"
import { Host } from "../../src/account/AgentTurns.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { State } from "../../src/state/State.js"
import type { Emulator } from "../../sandbox/emulator/Emulator.js"

export interface EmulatorActor {
  readonly handle: AccountActorHandle
  /** stops the actor and waits for its finalizers */
  readonly stop: Effect.Effect<void>
}

/** Starts one actor for `botId` in a scope of its own, so a test can stop and restart it. */
export const startActorOnEmulator = (options: {
  readonly emulator: Emulator
  readonly botId: string
  readonly token: string
  readonly stateDir: string
  readonly host: HostService
  readonly settings?: Partial<AccountSettings>
}) =>
  Effect.gen(function*() {
    const accountId = normalizeAccountId(options.botId)
    const layer = Layer.mergeAll(
      ILinkApi.Default,
      State.layerAt(options.stateDir),
      Layer.succeed(Host, options.host)
    )
    const scope = yield* Scope.make()
    // the HTTP client's pool lives as long as the actor, not just while `run` starts it
    const context = yield* Layer.buildWithScope(layer, scope)
    const handle = yield* AccountActor.run({
      accountId,
      connection: { baseUrl: options.emulator.baseUrl, token: Redacted.make(options.token), accountId },
      settings: { initialPollTimeoutMs: 5_000, ...options.settings }
    }).pipe(Scope.extend(scope), Effect.provide(context))
    const actor: EmulatorActor = { handle, stop: Scope.close(scope, Exit.void) }
    return actor
  })
