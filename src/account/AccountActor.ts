/**
 * AccountActor: one logged-in WeChat account, assembled from its parts (DESIGN.md "Actors and
 * supervision"). It restores the context tokens, tells the server it is starting, replays the Inbox,
 * then runs the Dispatcher, the Outbox sender and the Monitor as fibers in its own Scope, with `AccountId`
 * in context and every log line annotated with the account id. Each turn's `ReplyChannel` sends through
 * the Outbox and offers `withTyping`, which the host wraps around the agent run only.
 *
 * Stop (the handle's `stop`, or closing the enclosing scope) releases in reverse order: the Monitor is
 * interrupted first (interrupting the HTTP fiber aborts the long-poll at once), then the turns, then the
 * Outbox: queued sends fail with `OutboxClosed`, the send in flight gets up to `sendStopGrace` (300 ms)
 * to finish and report its real receipt, after which it is interrupted and reported as `DeliveryUnknown`.
 * Then `notifystop` runs under its own bound (`notifyStopTimeoutMs`, 500 ms), so the whole stop stays
 * under a second; the state ends in `Stopped` (or stays `AuthExpired` if parked). Before `notifystop`,
 * the Inbox writes the done marks still queued and ContextTokens flushes its files, so the reply counts
 * noted during the Outbox's grace are on disk.
 *
 * Delivery is effectively-once: the Inbox hands each claimed message to exactly one turn per run, and a
 * turn that ends (well or badly) is marked done. Only a turn cut short by a stop or a crash runs again
 * after restart; the host's dedupe on the message key is the net for that window.
 */
import { Cause, Effect, ExecutionStrategy, Exit, Fiber, Option, Scope, SubscriptionRef } from "effect"
import { makeClientId } from "../domain/ClientId.js"
import { Host, type InboundTurn, type ReplyChannel } from "./AgentTurns.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import type { ILinkConnection } from "../ilink/ILinkConnection.js"
import { AccountId, type AccountSettings, AccountSettingsTag, defaultAccountSettings } from "./AccountSettings.js"
import {
  type AccountStateRef,
  type AccountStatus,
  AccountPhase,
  makeAccountState,
  markError,
  markOutbound
} from "./AccountStatus.js"
import { ContextTokens } from "./ContextTokens.js"
import { Dispatcher } from "./Dispatcher.js"
import { type ClaimedMessage, Inbox } from "./Inbox.js"
import { runMonitor } from "./Monitor.js"
import { Outbox, type SendRequest } from "./Outbox.js"
import { Typing } from "./Typing.js"
import type { OutboxError, Receipt } from "./Receipt.js"

export interface AccountActorConfig {
  readonly accountId: string
  readonly connection: ILinkConnection
  readonly settings?: Partial<AccountSettings>
  /** where to publish the status; the Supervisor passes its own so it outlives restarts */
  readonly state?: AccountStateRef
}

export interface AccountActorHandle {
  readonly accountId: string
  readonly state: SubscriptionRef.SubscriptionRef<AccountStatus>
  /** proactive send (cron, message tool); fails fast with "log in again" once the session expired */
  readonly send: (request: SendRequest) => Effect.Effect<Receipt, OutboxError>
  /** stops the actor (idempotent); completes within the notifystop bound */
  readonly stop: Effect.Effect<void>
  /** completes when polling has ended for good (the session expired) */
  readonly awaitParked: Effect.Effect<void>
}

const run = Effect.fn("AccountActor.run")(function*(config: AccountActorConfig) {
  const api = yield* ILinkApi
  const host = yield* Host
  const accountId = config.accountId
  const settings: AccountSettings = { ...defaultAccountSettings, ...config.settings }
  const connection = config.connection
  const state = config.state ?? (yield* makeAccountState)
  yield* SubscriptionRef.update(state, (s) => ({ ...s, phase: AccountPhase.Starting() }))

  const parentScope = yield* Effect.scope
  const scope = yield* Scope.fork(parentScope, ExecutionStrategy.sequential)
  const inActor = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provideService(AccountId, accountId),
      Effect.provideService(AccountSettingsTag, settings),
      Effect.annotateLogs({ accountId })
    )

  // Registered first, so it runs last: after every fiber of the actor has stopped.
  yield* Scope.addFinalizer(
    scope,
    inActor(
      Effect.gen(function*() {
        yield* api.notifyStop(connection).pipe(
          Effect.timeout(settings.notifyStopTimeoutMs),
          Effect.catchAllCause((cause) =>
            Effect.logWarning(`notifystop did not complete; the server will notice the stop on its own: ${oneLine(cause)}`)
          )
        )
        // a parked account stays visibly AuthExpired: the Supervisor keeps it parked until a new login
        yield* SubscriptionRef.update(state, (s) =>
          s.phase._tag === "AuthExpired" ? s : { ...s, phase: AccountPhase.Stopped() })
        yield* Effect.logInfo("account stopped")
      })
    )
  )

  const started = yield* inActor(
    Effect.gen(function*() {
      // in the actor's scope, before the Outbox: its writers flush after the Outbox has stopped
      const contextTokens = yield* ContextTokens.make({ accountId }).pipe(Scope.extend(scope))
      yield* api.notifyStart(connection).pipe(
        Effect.catchAll((e) => Effect.logWarning(`notifystart failed, continuing: ${e.message}`))
      )
      const inbox = yield* Inbox.make({ accountId }).pipe(Scope.extend(scope))
      const outbox = yield* Outbox.make({
        accountId,
        connection: Effect.succeed(connection),
        api,
        contextTokens,
        chunkLimit: settings.chunkLimit
      }).pipe(Scope.extend(scope))

      const typing = yield* Typing.make({ accountId, connection: Effect.succeed(connection), api })

      const noteOutbound = <A, E>(effect: Effect.Effect<A, E>) => Effect.tap(effect, () => markOutbound(state))

      const runTurn = (claimed: ClaimedMessage) =>
        Effect.gen(function*() {
          const peer = claimed.peer
          const contextToken = claimed.message.context_token
          if (contextToken !== undefined && contextToken !== "") {
            yield* contextTokens.remember(peer, contextToken, claimed.claimedAt)
          }
          const runId = yield* makeClientId
          const turn: InboundTurn = { accountId, claimed, peer, contextToken, runId }
          const channel = outbox.replyChannel({ to: peer.id, contextToken, runId })
          const reply: ReplyChannel = {
            sendText: (text) => noteOutbound(channel.sendText(text)),
            sendProgress: (item) => noteOutbound(channel.sendProgress(item)),
            withTyping: (effect) => typing.duringTurn(peer.id, contextToken, effect)
          }
          yield* host.handleInbound(turn, reply)
        }).pipe(
          // A turn that ended, well or badly, is done: running it again could repeat visible replies.
          // Only an interrupted turn (stop, crash) stays claimed and runs again after a restart.
          Effect.onExit((exit) =>
            Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
              ? Effect.void
              : inbox.markDone(claimed.key).pipe(
                Effect.catchAll((e) =>
                  Effect.logError(`${e.message}; message ${claimed.key} may be dispatched again after a restart`)
                )
              )
          )
        )

      const dispatcher = yield* Dispatcher.make({
        concurrency: settings.dispatchConcurrency,
        capacity: settings.dispatchCapacity,
        handle: runTurn
      }).pipe(Scope.extend(scope))

      const monitor = yield* Effect.gen(function*() {
        if (inbox.unfinished.length > 0) {
          yield* Effect.logInfo(`re-dispatching ${inbox.unfinished.length} message(s) left unfinished by the last run`)
        }
        for (const claimed of inbox.unfinished) yield* dispatcher.offer(claimed)
        yield* runMonitor({
          getUpdates: (request) => api.getUpdates(connection, request),
          inbox,
          dispatch: dispatcher.offer,
          state,
          settings
        })
        const status = yield* SubscriptionRef.get(state)
        if (status.phase._tag === "AuthExpired") yield* outbox.setAuthExpired(status.phase.reason)
      }).pipe(Effect.forkIn(scope))

      return { outbox, monitor, noteOutbound }
    })
  ).pipe(
    Effect.tapErrorCause((cause) =>
      Effect.zipRight(markError(state, oneLine(cause)), Scope.close(scope, Exit.failCause(cause)))
    )
  )

  const handle: AccountActorHandle = {
    accountId,
    state,
    send: (request) => started.noteOutbound(started.outbox.send(request)),
    stop: Scope.close(scope, Exit.void),
    awaitParked: Effect.asVoid(Fiber.await(started.monitor))
  }
  return handle
})

/**
 * Runs the account until interrupted, publishing into `state`; returns once the session has expired
 * (the Supervisor parks it). This is the shape of the Supervisor's `AccountRunner.run`.
 */
const runUntilParked = (config: AccountActorConfig) =>
  Effect.scoped(Effect.flatMap(run(config), (handle) => handle.awaitParked))

const oneLine = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.pretty(cause).split("\n")[0] ?? "unknown failure",
    onSome: (e) =>
      typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)
  })

export const AccountActor = { run, runUntilParked }
