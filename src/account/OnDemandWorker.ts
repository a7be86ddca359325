/**
 * OnDemandWorker: a consumer fiber that exists only while it has work (ARCHITECTURE "Light accounts").
 *
 * The house idiom is one consumer fiber per queue, forked into the actor's scope for its whole life. An
 * idle account then holds every such fiber, each with its own stack and copy of the fiber refs, for
 * nothing. Here `wake` records that there is work and forks the worker only when none is running; the
 * worker runs `work` until no wake came in during the last run, then ends. A wake always leads to one
 * more run of `work` that starts after it, which is what a `Queue.sliding(1)` of wake-ups gave.
 *
 * `make` adds a finalizer to its scope, at the point `make` runs, that stops the worker for good: the
 * finalizers added after `make` run before the live worker is interrupted, as they did for a fiber forked
 * there, and a wake after the stop forks nothing. (One finalizer, not a scope of its own per worker.)
 * The worker runs with the fiber refs `make` ran with, as a fiber forked there would: whoever wakes it, it
 * sends through the account's iLink settings and logs through the account's logger, with its annotations.
 * Not in the span `make` ran in, though, and the workers made with the same refs share one snapshot of
 * them (`sharedFiberRefs`): an idle account keeps a few, not one per worker and finalizer.
 */
import { Context, Effect, Fiber, FiberRef, FiberRefs, HashSet, Option, type Scope, Tracer } from "effect"
import { addLightFinalizer } from "./LightFinalizer.js"

export interface OnDemandWorker {
  /** there is work: runs `work` once more after this, forking the worker if none is running */
  readonly wake: Effect.Effect<void>
  /** whether a worker fiber is alive right now */
  readonly running: Effect.Effect<boolean>
}

/** the same value, or two contexts holding the same services (each `Scope.extend` makes a new context) */
const sameValue = (x: unknown, y: unknown): boolean => {
  if (x === y) return true
  if (!Context.isContext(x) || !Context.isContext(y) || x.unsafeMap.size !== y.unsafeMap.size) return false
  for (const [key, service] of x.unsafeMap) if (y.unsafeMap.get(key) !== service) return false
  return true
}

/** whether two snapshots of fiber refs hold the same refs with the same values */
const sameValues = (a: FiberRefs.FiberRefs, b: FiberRefs.FiberRefs): boolean => {
  const refs = FiberRefs.fiberRefs(b)
  if (HashSet.size(refs) !== HashSet.size(FiberRefs.fiberRefs(a))) return false
  for (const ref of refs) {
    const x = FiberRefs.get(a, ref)
    const y = FiberRefs.get(b, ref)
    if (Option.isNone(x) || Option.isNone(y) || !sameValue(x.value, y.value)) return false
  }
  return true
}

// the snapshots handed out last, held weakly: a stopped account's refs are not kept alive by this
const recentRefs: Array<WeakRef<FiberRefs.FiberRefs>> = []
const RECENT_REFS = 8

/**
 * The fiber refs of the calling fiber, for a worker to run with. Each `Effect.getFiberRefs` is a fresh
 * copy of the map of every fiber ref, and an account makes several workers from the same fiber
 * refs, so a snapshot that holds the same values as one handed out recently is that one, shared.
 */
export const sharedFiberRefs: Effect.Effect<FiberRefs.FiberRefs> = Effect.withFiberRuntime((fiber) => {
  const all = fiber.getFiberRefs()
  // without the span the caller runs in (`AccountActor.make`, `Inbox.make`…): it ended long before the
  // worker's spans start, and a snapshot holding it would keep it and its stack traces for the account's life
  const context = FiberRefs.getOrDefault(all, FiberRef.currentContext)
  const refs = Option.isNone(Context.getOption(context, Tracer.ParentSpan))
    ? all
    : FiberRefs.updateAs(all, { fiberId: fiber.id(), fiberRef: FiberRef.currentContext, value: Context.omit(Tracer.ParentSpan)(context) })
  for (const ref of recentRefs) {
    const known = ref.deref()
    if (known !== undefined && sameValues(known, refs)) return Effect.succeed(known)
  }
  recentRefs.unshift(new WeakRef(refs))
  if (recentRefs.length > RECENT_REFS) recentRefs.pop()
  return Effect.succeed(refs)
})

/**
 * Forks effects into `scope`, each with the fiber refs of the fiber that calls this (context, logger, log
 * annotations, clock; not its span), as a fiber forked right here would have them, whoever calls the
 * forker later. The forked fiber is interruptible, even when forked from an uninterruptible step, so
 * closing `scope` ends it.
 */
export const forkerIn = (scope: Scope.Scope) =>
  Effect.map(
    sharedFiberRefs,
    (refs) => <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.forkIn(Effect.interruptible(Effect.zipRight(Effect.setFiberRefs(refs), effect)), scope)
  )

/**
 * The worker's state and its steps. A class, so the steps are methods shared by every worker, not
 * closures made for each one: an idle account holds several workers (ARCHITECTURE "Light accounts").
 */
class WakeableWorker<R> implements OnDemandWorker {
  private pending = false
  // the id of the live worker, 0 when none; a worker only ever clears its own id, so one that ends
  // late (cut off, or still unwinding) never hides the worker a later wake forked
  private live = 0
  private lastId = 0
  // the live worker's fiber, once it has started
  private fiber: Fiber.RuntimeFiber<void> | undefined
  private stopped = false

  constructor(private readonly work: Effect.Effect<void, never, R>, private readonly refs: FiberRefs.FiberRefs) {}

  // Deciding to end and ending happen in one synchronous step, so a wake that comes in while `work`
  // runs is always seen by this worker, and a wake after that always forks a new one.
  private loop(id: number): Effect.Effect<void, never, R> {
    return Effect.suspend(() => {
      if (!this.pending || this.stopped) {
        this.release(id)
        return Effect.void
      }
      this.pending = false
      return Effect.zipRight(this.work, this.loop(id))
    })
  }

  private release(id: number): void {
    if (this.live !== id) return
    this.live = 0
    this.fiber = undefined
  }

  get wake(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.pending = true
      if (this.live !== 0 || this.stopped) return Effect.void
      const id = ++this.lastId
      this.live = id
      // the refs of `make`, and interruptible even when woken from an uninterruptible step, so the stop
      // can end it; the fiber is recorded by the worker itself, so a stop never misses a started one
      const run = Effect.withFiberRuntime<void, never, R>((fiber) => {
        if (this.live === id) this.fiber = fiber
        return this.loop(id)
      })
      return Effect.forkDaemon(Effect.interruptible(Effect.zipRight(Effect.setFiberRefs(this.refs), run as Effect.Effect<void>))).pipe(
        // a worker cut off by a defect or an interruption lets a later wake fork a new one
        Effect.flatMap((fiber) => Effect.sync(() => fiber.addObserver(() => this.release(id))))
      )
    })
  }

  get running(): Effect.Effect<boolean> {
    return Effect.sync(() => this.live !== 0)
  }

  /** Stops for good: no wake forks a worker from now on, and the live one is interrupted (and awaited). */
  get stop(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.stopped = true
      const fiber = this.fiber
      return fiber === undefined ? Effect.void : Fiber.interrupt(fiber)
    })
  }
}

export const make = <R>(work: Effect.Effect<void, never, R>): Effect.Effect<OnDemandWorker, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    // the worker runs with what `make` ran with (context, logger, log annotations, clock), whoever wakes it
    const worker = new WakeableWorker(work, yield* sharedFiberRefs)
    // stopping needs none of the fiber refs `Effect.addFinalizer` would keep (LightFinalizer.ts)
    yield* addLightFinalizer(() => worker.stop)
    return worker
  })

export const OnDemandWorker = { make, forkerIn, sharedFiberRefs }
