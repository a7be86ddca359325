/**
 * Finalizers for what lives as long as an account, added to the scope as they are.
 *
 * `Effect.addFinalizer` (and `Effect.acquireRelease`, built on it) keeps a copy of every fiber ref of the
 * fiber that added it, for the finalizer to run with; that copy, and the span it holds, lives as long as
 * the scope, once per finalizer of each idle account (ARCHITECTURE "Light accounts"). The
 * finalizers here run with the refs of the fiber that closes the scope instead, so they are for steps
 * that need none of the adder's: no logging, no service from the context. Like `Effect.addFinalizer`'s,
 * they run uninterruptibly.
 */
import { Effect, Scope } from "effect"

/** Adds `finalizer` to the current scope without keeping the caller's fiber refs. */
export const addLightFinalizer = (finalizer: () => Effect.Effect<unknown>): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizerExit(scope, () => Effect.uninterruptible(finalizer())))

/** `Effect.acquireRelease` with a light finalizer: `acquire` and the finalizer's registration are one uninterruptible step. */
export const acquireReleaseLight = <A, E, R>(
  acquire: Effect.Effect<A, E, R>,
  release: (a: A) => Effect.Effect<unknown>
): Effect.Effect<A, E, R | Scope.Scope> =>
  Effect.uninterruptible(Effect.tap(acquire, (a) => addLightFinalizer(() => release(a))))
