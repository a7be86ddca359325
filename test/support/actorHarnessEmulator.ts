/**
 * Runs one account the production way (the AccountRunner: stored login → resolved settings → actor,
 * real ILinkApi over HTTP, real state stores) against the sandbox emulator, with an in-memory host, for
 * integration tests. Each start has a scope of its own, so a test can stop and start the account again.
 */
import { Deferred, Effect, Exit, Fiber, Layer, Redacted, Scope } from "effect"
import type { AccountActorHandle } from "../../src/account/AccountActor.js"
import { AccountRunner } from "../../src/account/AccountRunner.js"
import { makeAccountState, type ParkedPhase } from "../../src/account/AccountStatus.js"
import type { AgentTurnsService } from "../../src/account/AgentTurns.js"
import { defaultChannelConfig } from "../../src/config/ChannelConfig.js"
import { type ActorSettings, ActorTuning } from "../../src/config/Tuning.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { AccountStore } from "../../src/state/AccountStore.js"
import { State } from "../../src/state/State.js"
import type { Emulator } from "../../sandbox/emulator/Emulator.js"
import { InboundMediaStore } from "../../src/account/InboundMediaStore.js"

export interface EmulatorActor {
  readonly handle: AccountActorHandle
  /** the run; it ends with the parked phase */
  readonly run: Fiber.RuntimeFiber<ParkedPhase, unknown>
  /** stops the account and waits for its finalizers */
  readonly stop: Effect.Effect<void>
}

/** Stores the bot's login in `stateDir` (as a QR login does) and runs the account until `stop`. */
export const startActorOnEmulator = (options: {
  readonly emulator: Emulator
  readonly botId: string
  readonly token: string
  readonly stateDir: string
  readonly host: AgentTurnsService
  readonly settings?: Partial<ActorSettings>
}) =>
  Effect.gen(function*() {
    const accountId = normalizeAccountId(options.botId)
    const scope = yield* Scope.make()
    // the HTTP client's pool lives as long as the account, not just while it starts
    const context = yield* Layer.buildWithScope(
      AccountRunner.layer.pipe(
        Layer.provide(Layer.succeed(ActorTuning, { initialPollTimeoutMs: 5_000, ...options.settings })),
        Layer.provideMerge(Layer.mergeAll(ILinkApi.Default, State.layerAt(options.stateDir), InboundMediaStore.layerMemory))
      ),
      scope
    )
    const [runner, store] = yield* Effect.all([AccountRunner, AccountStore]).pipe(Effect.provide(context))
    yield* store.save(accountId, { token: Redacted.make(options.token), baseUrl: options.emulator.baseUrl })
    const state = yield* makeAccountState
    const started = yield* Deferred.make<AccountActorHandle>()
    const run = yield* runner.run(accountId, { turns: options.host, config: defaultChannelConfig }, {
      state,
      onStarted: (actor) => Effect.asVoid(Deferred.succeed(started, actor))
    }).pipe(Effect.forkIn(scope))
    const handle = yield* Deferred.await(started).pipe(
      Effect.raceFirst(Effect.flatMap(Fiber.await(run), (exit) => Effect.dieMessage(`the account did not start: ${String(exit)}`)))
    )
    const actor: EmulatorActor = { handle, run, stop: Scope.close(scope, Exit.void) }
    return actor
  })
