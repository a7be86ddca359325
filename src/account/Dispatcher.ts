/**
 * Dispatcher: runs one agent turn per claimed message, in strict order per peer, with up to
 * `concurrency` peers at once (ARCHITECTURE "The flow of one message").
 *
 * - Each peer with work is in the ready queue at most once, so only one worker ever owns a peer: that
 *   is what keeps per-peer FIFO. After one turn the peer goes to the back of the ready queue, so a chatty
 *   peer cannot starve the others.
 * - `offer` takes one of `capacity` permits and gives it back when the turn ends, so at most `capacity`
 *   messages are queued or running; a full dispatcher suspends `offer` (back-pressure reaches the
 *   monitor) and drops nothing.
 * - A peer's queue is deleted as soon as it is empty, and a worker fiber ends when no peer is ready (one
 *   is forked when work arrives), so memory follows the work, not the peer count: an idle account holds
 *   no worker.
 * - With `gather` (the inbound debounce), a joinable message waits a quiet window for more joinable ones
 *   from its peer, and they run as one turn; each keeps its permit until that turn ends.
 * - A message `bypass` picks (a host control command such as `/stop`) does not wait behind its peer's
 *   running turn: it runs at once in a fiber of its own, still within `capacity`. Its purpose is to act on
 *   the turn it would otherwise wait for.
 * - A turn that fails, defects or is interrupted is logged with its message key; the peer's next message
 *   runs as usual. A failed turn is never retried here (a retry could repeat visible replies); the
 *   account actor then marks it done. Workers never die from a turn.
 */
import { Cause, type Context, Effect, type Scope } from "effect"
import { DEFAULT_DISPATCH_CAPACITY, DEFAULT_DISPATCH_CONCURRENCY } from "../config/Defaults.js"
import type { Peer, PeerKey } from "../domain/PeerId.js"
import { OnDemandWorker } from "./OnDemandWorker.js"
import { Watched } from "./Watched.js"

/** What the Dispatcher needs of a message: a key for log lines and the peer whose FIFO it joins. */
export interface Dispatchable {
  /** dedupe key; used in log lines */
  readonly key: string
  /** the sender, made once at the Inbox; its key is the FIFO key */
  readonly peer: Peer
}

export interface DispatcherOptions<A extends Dispatchable, R> {
  /** peers served at once (default 8) */
  readonly concurrency?: number
  /** messages queued or running before `offer` suspends (default 64) */
  readonly capacity?: number
  /** runs one turn: the message, and the messages `gather` joined to it (none without gathering) */
  readonly handle: (message: A, joined: ReadonlyArray<A>) => Effect.Effect<unknown, unknown, R>
  /** messages that skip their peer's FIFO and run at once (default: none) */
  readonly bypass?: ((message: A) => boolean) | undefined
  /**
   * Debounce (InboundDebounce.ts): a message `joins` accepts waits `windowMs` before its turn; the peer's
   * next queued messages `joins` accepts are taken into the same turn, each restarting the window, up to
   * `max` messages in all. Off when absent or `windowMs` is 0.
   */
  readonly gather?: {
    readonly windowMs: number
    readonly joins: (message: A) => boolean
    readonly max: number
  } | undefined
}

export interface Dispatcher<A extends Dispatchable> {
  /** enqueue behind the peer's earlier messages; suspends while the dispatcher is full */
  readonly offer: (message: A) => Effect.Effect<void>
  /** messages queued or running */
  readonly size: Effect.Effect<number>
  /** completes once nothing is queued or running */
  readonly awaitIdle: Effect.Effect<void>
  /** peers with a queue right now (idle peers hold no memory) */
  readonly activePeers: Effect.Effect<number>
  /** worker fibers alive right now: at most `concurrency`, none once idle */
  readonly workers: Effect.Effect<number>
}

interface PeerLane<A> {
  readonly pending: Array<A>
}

/**
 * The dispatcher's state and steps. A class, so the steps are methods shared by every account's
 * dispatcher, not closures made for each one (ARCHITECTURE "Light accounts").
 */
class PeerDispatcher<A extends Dispatchable, R> implements Dispatcher<A> {
  private readonly concurrency: number
  // holds each peer with work at most once, so it never exceeds `capacity` entries
  private readonly ready: Array<PeerKey> = []
  private readonly lanes = new Map<PeerKey, PeerLane<A>>()
  // workers are forked when work arrives and end when the ready queue is empty, so an idle account
  // holds no worker fiber; `workers` counts the live ones (at most `concurrency`)
  private liveWorkers = 0
  private readonly startWorker: Effect.Effect<unknown>
  readonly size: Effect.Effect<number>
  readonly awaitIdle: Effect.Effect<void>

  constructor(
    private readonly options: DispatcherOptions<A, R>,
    private readonly permits: Effect.Semaphore,
    private readonly queued: Watched<number>,
    private readonly scope: Scope.Scope,
    private readonly context: Context.Context<R>,
    fork: <B, E>(effect: Effect.Effect<B, E>) => Effect.Effect<unknown>
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_DISPATCH_CONCURRENCY))
    this.startWorker = fork(Effect.provide(this.worker(), context))
    this.size = queued.get
    this.awaitIdle = queued.until((n) => n === 0)
  }

  private runTurn(message: A, joined: ReadonlyArray<A> = []): Effect.Effect<void, never, R> {
    return Effect.suspend(() => this.options.handle(message, joined)).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.logWarning(`turn for message ${message.key} was interrupted; moving on to the peer's next message`)
          : Effect.logError(
              `turn for message ${message.key} failed and will not be retried: running it again could repeat ` +
                "replies it already sent; the peer's next message runs now (the cause follows)",
              cause
            )
      ),
      Effect.annotateLogs({ messageKey: message.key, peer: message.peer.id })
    )
  }

  // the debounce window: the lane's messages stay queued (and claimed) until taken, so a stop loses none
  private gatherAfter(message: A, lane: PeerLane<A>): Effect.Effect<ReadonlyArray<A>> {
    const gather = this.options.gather
    return gather === undefined || gather.windowMs <= 0 || !gather.joins(message)
      ? Effect.succeed([])
      : Effect.gen(function* () {
          const joined: Array<A> = []
          while (joined.length + 1 < gather.max) {
            yield* Effect.sleep(gather.windowMs)
            const before = joined.length
            while (joined.length + 1 < gather.max && lane.pending.length > 0 && gather.joins(lane.pending[0]!)) {
              joined.push(lane.pending.shift()!)
            }
            // quiet for a whole window, or the next message does not join: the turn starts
            if (joined.length === before || (lane.pending.length > 0 && !gather.joins(lane.pending[0]!))) break
          }
          if (joined.length > 0) yield* Effect.logDebug(`message ${message.key} and ${joined.length} more from its sender become one turn`)
          return joined
        })
  }

  private worker(): Effect.Effect<void, never, R> {
    // Taking the next peer and, when there is none, counting the worker out happen in one synchronous
    // step, so a peer made ready in between always finds a worker (see `enqueue`).
    const nextPeer = Effect.sync(() => {
      const key = this.ready.shift()
      if (key === undefined) this.liveWorkers--
      return key
    })
    const self = this
    return Effect.gen(function* () {
      while (true) {
        const key = yield* nextPeer
        if (key === undefined) return
        const lane = self.lanes.get(key)
        const message = lane?.pending.shift()
        if (lane === undefined || message === undefined) continue
        const joined = yield* self.gatherAfter(message, lane)
        yield* self.runTurn(message, joined)
        if (lane.pending.length > 0) self.ready.push(key)
        else self.lanes.delete(key)
        yield* self.queued.update((n) => n - 1 - joined.length)
        yield* self.permits.release(1 + joined.length)
      }
    })
  }

  private runAside(message: A): Effect.Effect<void> {
    return this.runTurn(message).pipe(
      Effect.ensuring(Effect.zipRight(this.queued.update((n) => n - 1), this.permits.release(1))),
      Effect.provide(this.context),
      Effect.interruptible,
      Effect.forkIn(this.scope),
      Effect.asVoid
    )
  }

  private enqueue(message: A): Effect.Effect<void> {
    return Effect.suspend(() => {
      const key = message.peer.key
      const lane = this.lanes.get(key)
      if (lane !== undefined) {
        // already queued or running: its worker re-queues the peer after the current turn
        lane.pending.push(message)
        return Effect.void
      }
      this.lanes.set(key, { pending: [message] })
      this.ready.push(key)
      if (this.liveWorkers >= this.concurrency) return Effect.void
      this.liveWorkers++
      return Effect.asVoid(this.startWorker)
    })
  }

  offer(message: A): Effect.Effect<void> {
    // waiting for a permit can be interrupted; once taken, the message is queued without a gap
    return Effect.uninterruptibleMask((restore) =>
      restore(this.permits.take(1)).pipe(
        Effect.zipRight(this.queued.update((n) => n + 1)),
        Effect.zipRight(this.options.bypass?.(message) === true ? this.runAside(message) : this.enqueue(message))
      )
    )
  }

  get activePeers(): Effect.Effect<number> {
    return Effect.sync(() => this.lanes.size)
  }

  get workers(): Effect.Effect<number> {
    return Effect.sync(() => this.liveWorkers)
  }
}

export const make = <A extends Dispatchable, R>(
  options: DispatcherOptions<A, R>
): Effect.Effect<Dispatcher<A>, never, Scope.Scope | R> =>
  Effect.gen(function* () {
    const capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_DISPATCH_CAPACITY))
    const permits = yield* Effect.makeSemaphore(capacity)
    const queued = yield* Watched.make(0)
    const scope = yield* Effect.scope
    const context = yield* Effect.context<R>()
    // a worker runs with what the Dispatcher was made with (log annotations, logger, clock), whoever
    // offers; forked from `offer`'s uninterruptible step, it is made interruptible, so a stop can end it
    const fork = yield* OnDemandWorker.forkerIn(scope)
    return new PeerDispatcher(options, permits, queued, scope, context, fork)
  })

/** Namespace-style access: `Dispatcher.make(...)`. */
export const Dispatcher = { make }
