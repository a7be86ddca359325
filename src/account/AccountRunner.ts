/**
 * AccountRunner: the one way an account runs, in the gateway, in every test and in every benchmark
 * (ARCHITECTURE "Actors and supervision"). One run loads the stored login, resolves the account's settings
 * from the host binding's config (config/ResolvedAccount.ts), and runs the AccountActor until it parks.
 *
 * Typed terminal states end the run with the parked phase, never with a failure, so the Supervisor parks
 * the account instead of restarting it in a loop: the session expired (`AuthExpired`), no token is stored
 * (`NotLoggedIn`), or the base URL can never work (`BadConfig`). Anything else (a state file that cannot
 * be read, a defect) fails the run, and the Supervisor restarts it on its schedule.
 */
import { Clock, Context, Effect, Either, Layer, type Scope } from "effect"
import type { ChannelConfig } from "../config/ChannelConfig.js"
import { resolveWeixinAccount } from "../config/ResolvedAccount.js"
import { ActorTuning } from "../config/Tuning.js"
import { CdnTimeouts } from "../ilink/CdnTimeouts.js"
import { CdnUpload } from "../ilink/CdnUpload.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import { ILinkConnection } from "../ilink/ILinkConnection.js"
import { ILinkSettings } from "../ilink/ILinkSettings.js"
import { AccountStore } from "../state/AccountStore.js"
import { ContextTokenStore } from "../state/ContextTokenStore.js"
import { CursorStore } from "../state/CursorStore.js"
import { DebugModeStore } from "../state/DebugModeStore.js"
import { InboxJournal } from "../state/InboxJournal.js"
import { QuoteJournal } from "../state/QuoteJournal.js"
import type { StateStores } from "../state/State.js"
import type { StateError } from "../state/StateError.js"
import { AccountActor, type AccountActorHandle } from "./AccountActor.js"
import { AccountPhase, type AccountStateRef, type ParkedPhase, setPhase, whatToDo } from "./AccountStatus.js"
import { AgentTurns, type AgentTurnsService } from "./AgentTurns.js"
import { InboundMedia } from "./InboundMedia.js"
import { InboundMediaStore } from "./InboundMediaStore.js"

/**
 * What the host gave an account when it started it (`gateway.startAccount`): who runs its agent turns,
 * and the decoded channel config. Handed to the Supervisor once and kept for every restart and resume.
 */
export interface HostBinding {
  readonly turns: AgentTurnsService
  readonly config: ChannelConfig
}

/** Why a run failed (the Supervisor restarts it): the state dir could not be read. */
export type AccountRunError = StateError

export interface AccountRunOptions {
  /** where the run publishes its status */
  readonly state: AccountStateRef
  /** told once the actor runs; what it acquires is released when the run ends */
  readonly onStarted?: (actor: AccountActorHandle) => Effect.Effect<void, never, Scope.Scope>
}

export interface AccountRunnerService {
  /** Runs the account until it parks, and returns the parked phase. Interrupting it stops the account. */
  readonly run: (
    accountId: string,
    binding: HostBinding,
    options: AccountRunOptions
  ) => Effect.Effect<ParkedPhase, AccountRunError>
}

const make = Effect.gen(function*() {
  const api = yield* ILinkApi
  const cdn = yield* CdnUpload
  // only the stores: the whole layer context would also carry the layer's Scope into the actor
  const stores = Context.pick(AccountStore, CursorStore, ContextTokenStore, InboxJournal, QuoteJournal, DebugModeStore)(
    yield* Effect.context<StateStores>()
  )
  const accounts = Context.get(stores, AccountStore)
  // read where the runner is built: runs are forked from whoever starts them, with their context
  const tuning = yield* ActorTuning
  const cdnTimeouts = yield* CdnTimeouts
  const inboundMedia = yield* InboundMedia
  const mediaStore = yield* InboundMediaStore

  const park = (accountId: string, options: AccountRunOptions, phase: ParkedPhase) =>
    Effect.zipRight(
      Effect.zipRight(
        setPhase(options.state, phase),
        Effect.logWarning(`account parked: ${whatToDo(phase)}`).pipe(Effect.annotateLogs({ accountId }))
      ),
      Effect.succeed(phase)
    )

  // Not an Effect.fn, and one `provide` for every service: whatever wraps the run stays on the fiber's
  // stack (and in memory) as long as the account runs.
  const run = (accountId: string, binding: HostBinding, options: AccountRunOptions) =>
    Effect.gen(function*() {
      const account = resolveWeixinAccount(binding.config, accountId, yield* accounts.load(accountId), tuning)
      const since = yield* Clock.currentTimeMillis
      if (account.token === undefined) return yield* park(accountId, options, AccountPhase.NotLoggedIn({ since }))
      const connection = ILinkConnection.make({ baseUrl: account.baseUrl, token: account.token, accountId })
      if (Either.isLeft(connection)) {
        return yield* park(accountId, options, AccountPhase.BadConfig({ since, reason: connection.left.message }))
      }
      return yield* Effect.gen(function*() {
        const actor = yield* AccountActor.make({
          accountId: account.accountId,
          connection: connection.right,
          settings: account.actor,
          media: { accountId: account.accountId, cdnBaseUrl: account.cdnBaseUrl, maxBytes: account.mediaMaxBytes },
          upload: { cdn, cdnBaseUrl: account.cdnBaseUrl },
          quotes: account.quotes,
          state: options.state
        })
        if (options.onStarted !== undefined) yield* options.onStarted(actor)
        return yield* actor.awaitParked
      }).pipe(
        Effect.scoped,
        Effect.provide(
          Context.make(AgentTurns, binding.turns).pipe(
            Context.add(ILinkApi, api),
            Context.add(InboundMedia, inboundMedia),
            Context.add(InboundMediaStore, mediaStore),
            Context.add(CdnTimeouts, cdnTimeouts),
            Context.merge(stores),
            // read by every iLink call of the account, from every fiber the actor forks
            Context.add(ILinkSettings, account.http)
          )
        )
      )
    })

  return { run } satisfies AccountRunnerService
})

export class AccountRunner extends Context.Tag("openclaw-weixin/AccountRunner")<AccountRunner, AccountRunnerService>() {
  static make = make
  /** The runner with the Media step (CDN download, voice decoder) over the given media store, and its own
   * CDN upload client (over the same ILinkApi, for getuploadurl). */
  static layer: Layer.Layer<AccountRunner, never, ILinkApi | StateStores | InboundMediaStore> = Layer.effect(
    AccountRunner,
    make
  ).pipe(Layer.provide(Layer.merge(InboundMedia.Default, CdnUpload.Default)))
}
