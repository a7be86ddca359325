/**
 * AccountActor: one logged-in WeChat account (ARCHITECTURE "Actors and supervision"). `make` builds every part
 * of the account and forks every fiber of it, each into the scope of its role, so the whole life of the
 * account reads in this one file.
 *
 * Stop (the handle's `stop`, or closing the enclosing scope) closes the roles in this order:
 *   1. monitor   polling ends; interrupting the HTTP fiber aborts the held long-poll at once
 *   2. turns     the Dispatcher's workers and the turns they run (a cut-off turn stays claimed)
 *   3. outbox    queued sends fail with `OutboxClosed`; the send in flight gets `sendStopGrace` (300 ms)
 *                to report its real receipt, then it is cut off and reported as `DeliveryUnknown`
 *   4. writers   ContextTokens flushes (so a reply counted during the Outbox's grace is on disk) and the
 *                Inbox finishes its writes
 *   5. notifystop under its own bound (`notifyStopTimeoutMs`, 500 ms), so the whole stop stays under a
 *                second; the state ends `Stopped`, or stays parked as `AuthExpired`
 * They are built in the reverse order (each role needs the ones after it), then the monitor is forked.
 *
 * Delivery is effectively-once: the Inbox hands each claimed message to exactly one turn per run, and a
 * turn whose host run ends (well or badly) is marked done, even if a stop cuts the debug trace after it.
 * Only a turn cut short by a stop or a crash before its run ended runs again after restart; the host's
 * dedupe on the message key is the net for that window.
 */
import { Cause, Clock, Effect, ExecutionStrategy, Exit, Fiber, Option, Scope } from "effect"
import { makeClientId } from "../domain/ClientId.js"
import { defaultQuotePolicy, type QuotePolicy } from "../config/QuotePolicy.js"
import type { ActorSettings } from "../config/Tuning.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import type { ILinkConnection } from "../ilink/ILinkConnection.js"
import {
  AgentTurns,
  type AgentTurnsService,
  type ChannelCommandsService,
  type InboundTurn,
  type ReplyChannel,
  type TurnOutcome
} from "./AgentTurns.js"
import { debugTrace, makeChannelCommands } from "./ChannelCommands.js"
import {
  AccountPhase,
  type AccountStateRef,
  markError,
  markOutbound,
  type ParkedPhase,
  setPhase
} from "./AccountStatus.js"
import { ContextTokens, type ContextTokensService } from "./ContextTokens.js"
import { Dispatcher } from "./Dispatcher.js"
import { type ClaimedMessage, Inbox, type InboxService } from "./Inbox.js"
import { joinsDebounce, MAX_DEBOUNCED_LINES, mergeDebounced } from "./InboundDebounce.js"
import { InboundMedia, type InboundMediaSettings } from "./InboundMedia.js"
import { runMonitor } from "./Monitor.js"
import type { MediaUploader } from "./OutboundMedia.js"
import { Outbox, type OutboxService, type SendRequest } from "./Outbox.js"
import { QuoteStore, type QuoteStoreService } from "./QuoteStore.js"
import type { OutboxError, Receipt } from "./Receipt.js"
import { Typing, type TypingService } from "./Typing.js"

export interface AccountActorConfig {
  readonly accountId: string
  readonly connection: ILinkConnection
  readonly settings: ActorSettings
  /** where the account's inbound media comes from and its size cap (`cdnBaseUrl`, `mediaMaxMb`) */
  readonly media: InboundMediaSettings
  /** where to publish the status; the Supervisor passes a fresh one per run */
  readonly state: AccountStateRef
  /** the CDN uploads of media sends (the account's CDN base URL); without it media sends fail typed */
  readonly upload?: MediaUploader | undefined
  /** the quote store's policy (`quoteCache`, PROTOCOL §7.5); default: the official defaults */
  readonly quotes?: QuotePolicy | undefined
}

export interface AccountActorHandle {
  readonly accountId: string
  readonly state: AccountStateRef
  /** proactive send (cron, message tool); fails fast with "log in again" once the session expired */
  readonly send: (request: SendRequest) => Effect.Effect<Receipt, OutboxError>
  /** stops the actor (idempotent); completes within the notifystop bound */
  readonly stop: Effect.Effect<void>
  /** completes when polling has ended for good (the session expired), with that phase */
  readonly awaitParked: Effect.Effect<ParkedPhase>
}

const make = Effect.fnUntraced(function*(config: AccountActorConfig) {
  const api = yield* ILinkApi
  const agentTurns = yield* AgentTurns
  const inboundMedia = yield* InboundMedia
  const { accountId, connection, settings, state } = config
  yield* setPhase(state, AccountPhase.Starting())

  const actorScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
  const roles = {
    monitor: yield* Scope.make(),
    turns: yield* Scope.make(),
    outbox: yield* Scope.make(),
    writers: yield* Scope.make()
  }
  const inActor = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.annotateLogs(effect, { accountId })

  // The stop, in order (see the module comment).
  yield* Scope.addFinalizer(
    actorScope,
    inActor(Effect.gen(function*() {
      yield* Scope.close(roles.monitor, Exit.void)
      yield* Scope.close(roles.turns, Exit.void)
      yield* Scope.close(roles.outbox, Exit.void)
      yield* Scope.close(roles.writers, Exit.void)
      yield* api.notifyStop(connection).pipe(
        Effect.timeout(settings.notifyStopTimeoutMs),
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`notifystop did not complete; the server will notice the stop on its own: ${oneLine(cause)}`)
        )
      )
      // a parked account stays visibly parked until a new login
      yield* state.update((s) => (s.phase._tag === "AuthExpired" ? s : { ...s, phase: AccountPhase.Stopped() }))
      yield* Effect.logInfo("account stopped")
    }))
  )

  const started = yield* inActor(Effect.gen(function*() {
    // 4. writers: the state the actor keeps on disk, each with its writer fiber
    const contextTokens = yield* ContextTokens.make({ accountId }).pipe(Scope.extend(roles.writers))
    const inbox = yield* Inbox.make({ accountId }).pipe(Scope.extend(roles.writers))
    const quotes = yield* QuoteStore.make(accountId, config.quotes ?? defaultQuotePolicy).pipe(Scope.extend(roles.writers))

    yield* api.notifyStart(connection).pipe(
      Effect.catchAll((e) => Effect.logWarning(`notifystart failed, continuing: ${e.message}`))
    )

    // 3. outbox: one sender fiber, with its grace on stop
    const outbox = yield* Outbox.make({
      accountId,
      connection,
      contextTokens,
      chunkLimit: settings.chunkLimit,
      ...(config.upload === undefined ? {} : { media: config.upload })
    }).pipe(Scope.extend(roles.outbox))
    const typing = yield* Typing.make({ accountId, connection })
    const commands = yield* makeChannelCommands(accountId)
    const turns = new TurnRunner(config, agentTurns, inboundMedia, { contextTokens, inbox, quotes, outbox, typing, commands })

    // 2. turns: one agent turn per claimed message, in order per peer
    const dispatcher = yield* Dispatcher.make({
      concurrency: settings.dispatchConcurrency,
      capacity: settings.dispatchCapacity,
      handle: turns.run.bind(turns),
      bypass: turns.isControlCommand.bind(turns),
      gather: {
        windowMs: agentTurns.inboundDebounceMs ?? 0,
        joins: joinsDebounce,
        max: MAX_DEBOUNCED_LINES
      }
    }).pipe(Scope.extend(roles.turns))
    const dispatch = dispatcher.offer.bind(dispatcher)

    // 1. monitor: replays what the last run left unfinished, then polls until the session expires
    const monitor = yield* Effect.gen(function*() {
      if (inbox.unfinished.length > 0) {
        yield* Effect.logInfo(`re-dispatching ${inbox.unfinished.length} message(s) left unfinished by the last run`)
      }
      for (const claimed of inbox.unfinished) yield* dispatch(claimed)
      const parked = yield* runMonitor({ connection, inbox, dispatch, state, settings })
      yield* outbox.setAuthExpired(parked.reason)
      return parked
    }).pipe(Effect.forkIn(roles.monitor))

    return { outbox, monitor, turns }
  })).pipe(
    Effect.tapErrorCause((cause) =>
      Effect.zipRight(markError(state, oneLine(cause)), Scope.close(actorScope, Exit.failCause(cause)))
    )
  )

  const handle: AccountActorHandle = {
    accountId,
    state,
    send(request) {
      return started.turns.noteOutbound(started.outbox.send(request), request.to, request.text ?? "")
    },
    stop: Scope.close(actorScope, Exit.void),
    awaitParked: Fiber.join(started.monitor)
  }
  return handle
})

/** What the bot said goes into the quote store under each delivered chunk's server id. */
const recordOutbound = (quotes: QuoteStoreService, peer: string, receipt: Receipt, text: string) => {
  const ids = receipt.chunks.flatMap((chunk) => (chunk._tag === "Delivered" ? [chunk.messageId] : []))
  return text === "" || ids.length === 0 ? Effect.void : quotes.record({ ids, peer, direction: "out", sender: "bot", text })
}

/** The parts of a running account a turn uses. */
interface TurnParts {
  readonly contextTokens: ContextTokensService
  readonly inbox: InboxService
  readonly quotes: QuoteStoreService
  readonly outbox: OutboxService
  readonly typing: TypingService
  readonly commands: ChannelCommandsService
}

/**
 * How one account runs a turn. A class, so its steps are methods shared by every account, not closures
 * made for each one (ARCHITECTURE "Light accounts").
 */
class TurnRunner {
  constructor(
    private readonly config: AccountActorConfig,
    private readonly agentTurns: AgentTurnsService,
    private readonly inboundMedia: InboundMedia,
    private readonly parts: TurnParts
  ) {}

  /** a host control command (such as `/stop`) skips its peer's queue (Dispatcher `bypass`) */
  isControlCommand(claimed: ClaimedMessage): boolean {
    return this.agentTurns.isControlCommand?.(claimed.message) === true
  }

  /** marks the account's last outbound and remembers what was said for quotes, once `effect` delivered */
  noteOutbound<E>(effect: Effect.Effect<Receipt, E>, to: SendRequest["to"], text: string): Effect.Effect<Receipt, E> {
    return Effect.tap(effect, (receipt) =>
      Effect.zipRight(markOutbound(this.config.state), recordOutbound(this.parts.quotes, to.key, receipt, text)))
  }

  /**
   * Runs the turn of `first`; `joined`: the lines the inbound debounce gathered after it
   * (InboundDebounce.ts), one turn for all.
   */
  run(first: ClaimedMessage, joined: ReadonlyArray<ClaimedMessage> = []) {
    const self = this
    const { config, agentTurns, inboundMedia } = this
    const { contextTokens, inbox, quotes, outbox, typing, commands } = this.parts
    const { accountId } = config
    // set, in the same uninterruptible step that sees the host's run end other than by an interruption:
    // from then on the turn is done even if a stop cuts what follows (the debug mode lookup, the trace)
    let ran = false
    return Effect.gen(function*() {
      const claimed = mergeDebounced(first, joined)
      const peer = claimed.peer
      for (const line of [first, ...joined]) {
        const token = line.message.context_token
        if (token !== undefined && token !== "") yield* contextTokens.remember(peer, token, line.claimedAt)
      }
      const contextToken = claimed.message.context_token
      const runId = yield* makeClientId
      // fetched at most once, when the host asks, still inside this peer's slot (PROTOCOL §6.3)
      const media = yield* Effect.cached(inboundMedia.fetch(claimed, config.media))
      const turn: InboundTurn = { accountId, claimed, peer, contextToken, runId, media, quotes, commands }
      const channel = outbox.replyChannel({ to: peer, contextToken, runId })
      const reply: ReplyChannel = {
        sendText: (text) => self.noteOutbound(channel.sendText(text), peer, text),
        sendProgress: (item) => self.noteOutbound(channel.sendProgress(item), peer, ""),
        sendMedia: (request) => self.noteOutbound(channel.sendMedia(request), peer, request.caption),
        withTyping: (effect) => typing.duringTurn(peer, contextToken, effect)
      }
      const startedAt = yield* Clock.currentTimeMillis
      const exit = yield* Effect.uninterruptibleMask((restore) =>
        Effect.tap(Effect.exit(restore(agentTurns.run(turn, reply))), (exit) =>
          Effect.sync(() => {
            ran = !isInterruptedOnly(exit)
          }))
      )
      yield* self.sendDebugTrace(turn, channel, exit, startedAt)
      return yield* exit
    }).pipe(
      // A turn whose host run ended, well or badly, is done: running it again could repeat visible
      // replies. Only a turn interrupted before that (stop, crash) stays claimed and runs again.
      // The peer's next turn need not wait for the fsync: the Inbox group-commits the mark, writes what
      // is queued on stop, and logs a failed write.
      Effect.onExit((exit) =>
        !ran && isInterruptedOnly(exit)
          ? Effect.void
          : Effect.forEach([first, ...joined], (line) => inbox.queueDone(line.key), { discard: true })
      )
    )
  }

  // in debug mode (PROTOCOL §7.8) a turn that ran, or failed, is followed by its trace; never a command's
  private sendDebugTrace(
    turn: InboundTurn,
    channel: { readonly sendText: (text: string) => Effect.Effect<Receipt, OutboxError> },
    exit: Exit.Exit<TurnOutcome, unknown>,
    startedAt: number
  ) {
    const { commands } = this.parts
    return Effect.gen(function*() {
      if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) return
      if (Exit.isSuccess(exit) && exit.value._tag === "Command") return
      if (turn.contextToken === undefined || !(yield* commands.debugOn)) return
      const endedAt = yield* Clock.currentTimeMillis
      const outcome = Exit.isSuccess(exit) ? exit.value : oneLine(exit.cause)
      const trace = debugTrace(turn, outcome, {
        createdAtMs: turn.claimed.message.create_time_ms,
        claimedAt: turn.claimed.claimedAt,
        startedAt,
        endedAt
      })
      yield* channel.sendText(trace).pipe(
        Effect.catchAll((error) => Effect.logWarning(`the debug trace of ${turn.claimed.key} was not sent: ${error.message}`))
      )
    })
  }
}

const isInterruptedOnly = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)

const oneLine = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.pretty(cause).split("\n")[0] ?? "unknown failure",
    onSome: (e) =>
      typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)
  })

export const AccountActor = { make }
