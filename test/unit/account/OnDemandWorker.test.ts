import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, FastCheck, Fiber, FiberRef, FiberRefs, HashMap, Logger, Option, Scope, TestClock } from "effect"
import { OnDemandWorker } from "../../../src/account/OnDemandWorker.js"
import { Watched } from "../../../src/account/Watched.js"

describe("OnDemandWorker", () => {
  it.scoped("holds no fiber while idle: a wake forks one, which ends once the work is done", () =>
    Effect.gen(function*() {
      let runs = 0
      const gate = yield* Deferred.make<void>()
      const worker = yield* OnDemandWorker.make(Effect.zipRight(Deferred.await(gate), Effect.sync(() => void runs++)))
      expect(yield* worker.running).toBe(false)
      yield* worker.wake
      expect(yield* worker.running).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      expect(runs).toBe(1)
      expect(yield* worker.running).toBe(false)
    }))

  it.scoped("wakes that come in while the work runs cost one more run after it, not one each", () =>
    Effect.gen(function*() {
      const started: Array<number> = []
      let release = yield* Deferred.make<void>()
      const worker = yield* OnDemandWorker.make(Effect.suspend(() => {
        started.push(started.length + 1)
        const waitFor = release
        return Deferred.await(waitFor)
      }))
      yield* worker.wake
      yield* Effect.yieldNow()
      expect(started).toEqual([1])
      // three wakes during the first run
      yield* worker.wake
      yield* worker.wake
      yield* worker.wake
      const first = release
      release = yield* Deferred.make<void>()
      yield* Deferred.succeed(first, undefined)
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      expect(started).toEqual([1, 2])
      yield* Deferred.succeed(release, undefined)
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      expect(started).toEqual([1, 2])
      expect(yield* worker.running).toBe(false)
    }))

  it.scoped.prop(
    "every wake is followed by a run that starts after it, and two runs never overlap, whatever the interleaving",
    { steps: FastCheck.array(FastCheck.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }) },
    ({ steps }) =>
      Effect.gen(function*() {
        let clock = 0
        let inRun = false
        let overlap = false
        const runStarts: Array<number> = []
        const wakes: Array<number> = []
        const worker = yield* OnDemandWorker.make(Effect.gen(function*() {
          if (inRun) overlap = true
          inRun = true
          runStarts.push(++clock)
          for (let i = 0; i < 2; i++) yield* Effect.yieldNow()
          inRun = false
        }))
        for (const pause of steps) {
          wakes.push(++clock)
          yield* worker.wake
          for (let i = 0; i < pause; i++) yield* Effect.yieldNow()
        }
        for (let i = 0; i < 20 && (yield* worker.running); i++) yield* Effect.yieldNow()
        expect(yield* worker.running).toBe(false)
        expect(overlap).toBe(false)
        for (const wake of wakes) expect(runStarts.some((start) => start > wake)).toBe(true)
      })
  )

  it.scoped("runs with the fiber refs it was made with, whoever wakes it (logger, annotations)", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const capture = Logger.make(({ annotations, message }) =>
        void seen.push(`${String(HashMap.get(annotations, "accountId").pipe((o) => o._tag === "Some" ? o.value : "-"))} ${String(message)}`))
      const done = yield* Deferred.make<void>()
      const worker = yield* OnDemandWorker.make(Effect.zipRight(Effect.logWarning("written"), Deferred.succeed(done, undefined))).pipe(
        Effect.annotateLogs({ accountId: "bot-a" }),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      // woken from a fiber with neither the logger nor the annotation
      yield* worker.wake.pipe(Effect.locally(FiberRef.currentLogAnnotations, HashMap.empty()))
      yield* Deferred.await(done)
      expect(seen).toEqual(["bot-a written"])
    }))

  it.scoped("closing its scope interrupts the running worker; a wake after that runs nothing, and nothing hangs", () =>
    Effect.gen(function*() {
      let runs = 0
      const outer = yield* Scope.make()
      const worker = yield* OnDemandWorker.make(Effect.zipRight(Effect.sync(() => void runs++), Effect.never)).pipe(
        Scope.extend(outer)
      )
      yield* worker.wake
      yield* Effect.yieldNow()
      expect(runs).toBe(1)
      yield* Scope.close(outer, Exit.void)
      expect(yield* worker.running).toBe(false)
      // the scope is closed: the work does not run again (a writer must not write after its account stopped)
      yield* worker.wake
      yield* Effect.yieldNow()
      expect(yield* worker.running).toBe(false)
      expect(runs).toBe(1)
    }))

  it.scoped("finalizers added after make run before the worker is interrupted (a flush still finds its writer)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const written = yield* Watched.make(0)
      let recorded = 0
      const worker = yield* OnDemandWorker.make(Effect.suspend(() => {
        const covers = recorded
        return Effect.zipRight(Effect.sleep("10 millis"), written.update(() => covers))
      })).pipe(Scope.extend(scope))
      yield* Scope.addFinalizer(scope, Effect.suspend(() => written.until((n) => n >= recorded)))
      recorded = 1
      yield* worker.wake
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.join(closing)
      expect(yield* written.get).toBe(1)
    }))

  it.scoped("workers made with the same fiber refs share one snapshot; other log annotations make another", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      // each Scope.extend provides the scope anew, a new context holding the same services
      const first = yield* OnDemandWorker.sharedFiberRefs.pipe(Scope.extend(scope))
      const second = yield* OnDemandWorker.sharedFiberRefs.pipe(Scope.extend(scope))
      expect(second).toBe(first)
      const annotated = yield* OnDemandWorker.sharedFiberRefs.pipe(Scope.extend(scope), Effect.annotateLogs({ accountId: "b" }))
      expect(annotated).not.toBe(first)
      expect(HashMap.get(FiberRefs.getOrDefault(annotated, FiberRef.currentLogAnnotations), "accountId")).toEqual(Option.some("b"))
    }))

  it.scoped("a worker does not run in, or keep, the span its maker ran in", () =>
    Effect.gen(function*() {
      const seen: Array<Option.Option<string>> = []
      const worker = yield* OnDemandWorker.make(
        Effect.flatMap(Effect.option(Effect.currentSpan), (span) => Effect.sync(() => void seen.push(Option.map(span, (s) => s.name))))
      ).pipe(Effect.withSpan("Maker.make"))
      yield* worker.wake.pipe(Effect.withSpan("Caller"))
      for (let i = 0; i < 5 && seen.length === 0; i++) yield* Effect.yieldNow()
      expect(seen).toEqual([Option.none()])
    }))
})

describe("Watched", () => {
  it.effect("wakes a waiter on the update that meets its condition, and at once when it already holds", () =>
    Effect.gen(function*() {
      const count = yield* Watched.make(3)
      yield* count.until((n) => n === 3)
      const waiting = yield* Effect.fork(count.until((n) => n === 0))
      yield* count.update((n) => n - 1)
      yield* count.update((n) => n - 1)
      expect(waiting.unsafePoll()).toBeNull()
      yield* count.update((n) => n - 1)
      expect(Exit.isSuccess(yield* Fiber.await(waiting))).toBe(true)
      expect(yield* count.get).toBe(0)
    }))

  it.effect("an interrupted waiter is forgotten; the others are still woken", () =>
    Effect.gen(function*() {
      const count = yield* Watched.make(0)
      const gone = yield* Effect.fork(count.until((n) => n > 0))
      const stays = yield* Effect.fork(count.until((n) => n > 0))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(gone)
      yield* count.update((n) => n + 1)
      expect(Exit.isSuccess(yield* Fiber.await(stays))).toBe(true)
    }))
})
