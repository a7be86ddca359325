import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FiberRef, HashMap, Option, Ref, Scope } from "effect"
import { acquireReleaseLight, addLightFinalizer } from "../../../src/account/LightFinalizer.js"

const annotation = Effect.map(FiberRef.get(FiberRef.currentLogAnnotations), (all) => HashMap.get(all, "who"))

describe("LightFinalizer", () => {
  it.effect("runs with the closing fiber's refs, not a copy of the adder's (Effect.addFinalizer keeps one)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const seen: Array<Option.Option<unknown>> = []
      const record = () => Effect.flatMap(annotation, (who) => Effect.sync(() => void seen.push(who)))
      yield* Effect.addFinalizer(record).pipe(Scope.extend(scope), Effect.annotateLogs({ who: "adder" }))
      yield* addLightFinalizer(record).pipe(Scope.extend(scope), Effect.annotateLogs({ who: "adder" }))
      yield* Scope.close(scope, Exit.void).pipe(Effect.annotateLogs({ who: "closer" }))
      // finalizers run in reverse: the light one first
      expect(seen).toEqual([Option.some("closer"), Option.some("adder")])
    }))

  it.effect("acquireReleaseLight releases what it acquired when the scope closes, in reverse order of acquiring", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const scope = yield* Scope.make()
      for (const name of ["a", "b"]) {
        yield* acquireReleaseLight(Effect.as(Ref.update(log, (l) => [...l, `+${name}`]), name), (got) =>
          Ref.update(log, (l) => [...l, `-${got}`])).pipe(Scope.extend(scope))
      }
      expect(yield* Ref.get(log)).toEqual(["+a", "+b"])
      yield* Scope.close(scope, Exit.void)
      expect(yield* Ref.get(log)).toEqual(["+a", "+b", "-b", "-a"])
    }))

  it.effect("a light finalizer runs to its end even when the closing fiber is interrupted", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const done = yield* Ref.make(false)
      yield* addLightFinalizer(() =>
        Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(gate)), Effect.zipRight(Ref.set(done, true)))
      ).pipe(Scope.extend(scope))
      const closing = yield* Effect.fork(Effect.interruptible(Scope.close(scope, Exit.void)))
      yield* Deferred.await(started)
      const interrupting = yield* Effect.fork(Fiber.interrupt(closing))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(interrupting)
      expect(yield* Ref.get(done)).toBe(true)
    }))
})
