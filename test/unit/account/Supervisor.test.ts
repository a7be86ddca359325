/**
 * The Supervisor with a fake account runner, in virtual time. Each fake account ticks a counter once a
 * second while it runs, so "keeps running untouched" is checked by a counter that keeps growing and by
 * the number of times the account was started.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Fiber, HashMap, Layer, Option, Redacted, Stream } from "effect"
import { TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { AccountRunner, type AccountRunOptions, type HostBinding } from "../../../src/account/AccountRunner.js"
import { AccountPhase, type ParkedPhase, setPhase } from "../../../src/account/AccountStatus.js"
import { TestAgentTurns } from "../../../src/account/TestAgentTurns.js"
import { logoutAccount } from "../../../src/login/Logout.js"
import { Supervisor } from "../../../src/account/Supervisor.js"
import { defaultChannelConfig } from "../../../src/config/ChannelConfig.js"
import { type RestartSettings, RestartTuning } from "../../../src/config/Tuning.js"
import { normalizePeerId } from "../../../src/domain/PeerId.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import { State } from "../../../src/state/State.js"
import { StateError } from "../../../src/state/StateError.js"

type Behaviour =
  | { readonly kind: "run" }
  | { readonly kind: "die"; readonly afterMs: number }
  | { readonly kind: "authExpired"; readonly afterMs: number }
  | { readonly kind: "fail"; readonly afterMs: number }

const settings: RestartSettings = { restartBaseMs: 1_000, restartCapMs: 8_000, stableAfterMs: 60_000, jitter: false }

/** A host binding as `gateway.startAccount` hands one over (each call makes a new one). */
const newBinding = (): HostBinding => ({
  turns: Effect.runSync(TestAgentTurns.make()),
  config: defaultChannelConfig
})

const makeFakeAccounts = () => {
  const starts: Array<string> = []
  const ticks = new Map<string, number>()
  const live = new Map<string, number>()
  const behaviours = new Map<string, Behaviour>()
  /** the binding each run was given, in order */
  const bindingsSeen: Array<{ readonly id: string; readonly binding: HostBinding }> = []
  let overlaps = 0
  let stopMs = 0

  const run = (id: string, binding: HostBinding, { state }: AccountRunOptions) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      starts.push(`${now / 1000}s ${id}`)
      bindingsSeen.push({ id, binding })
      const running = (live.get(id) ?? 0) + 1
      live.set(id, running)
      if (running > 1) overlaps += 1
      yield* setPhase(state, AccountPhase.Running())
      const behaviour = behaviours.get(id) ?? { kind: "run" }
      const tick = Effect.sync(() => void ticks.set(id, (ticks.get(id) ?? 0) + 1))
      switch (behaviour.kind) {
        case "run":
          return yield* Effect.forever(Effect.zipRight(Effect.sleep(Duration.seconds(1)), tick))
        case "die":
          if (behaviour.afterMs > 0) yield* Effect.sleep(Duration.millis(behaviour.afterMs))
          return yield* Effect.dieMessage(`${id} crashed`)
        case "authExpired": {
          yield* Effect.sleep(Duration.millis(behaviour.afterMs))
          const parked: ParkedPhase = AccountPhase.AuthExpired({ since: 0, reason: "iLink -14" })
          yield* setPhase(state, parked)
          return parked
        }
        case "fail":
          yield* Effect.sleep(Duration.millis(behaviour.afterMs))
          return yield* new StateError({ path: `/state/${id}.json`, operation: "read", message: "EIO" })
      }
    }).pipe(
      // a slow stop: the old run is still finishing when a hasty restart would start the new one
      Effect.ensuring(
        Effect.zipRight(
          Effect.suspend(() => (stopMs > 0 ? Effect.sleep(Duration.millis(stopMs)) : Effect.void)),
          Effect.sync(() => void live.set(id, (live.get(id) ?? 1) - 1))
        )
      )
    )

  return {
    starts,
    ticks,
    behaviours,
    bindingsSeen,
    overlaps: () => overlaps,
    live: (id: string) => live.get(id) ?? 0,
    setStopMs: (ms: number) => void (stopMs = ms),
    startsOf: (id: string) => starts.filter((line) => line.endsWith(` ${id}`)),
    layer: Layer.succeed(AccountRunner, { run })
  }
}

const supervisorLayer = (fake: ReturnType<typeof makeFakeAccounts>) =>
  Supervisor.Default.pipe(Layer.provide(fake.layer), Layer.provide(Layer.succeed(RestartTuning, settings)))

/** Starts each account with a binding of its own, as the host's startAccount does. */
const startAll = (supervisor: Supervisor, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) => supervisor.start(id, newBinding()), { discard: true })

const phaseOf = (id: string) =>
  Effect.map(Supervisor, (s) => s.snapshot).pipe(
    Effect.flatten,
    Effect.map((all) => Option.map(HashMap.get(all, id), (status) => status.phase._tag))
  )

const tickOf = (fake: ReturnType<typeof makeFakeAccounts>, id: string) => fake.ticks.get(id) ?? 0

describe("Supervisor", () => {
  it.scoped("stop touches only the named account; the others keep ticking and are never restarted", () => {
    const fake = makeFakeAccounts()
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      const bindings = { a: newBinding(), b: newBinding(), c: newBinding() }
      for (const [id, binding] of Object.entries(bindings)) yield* supervisor.start(id, binding)
      yield* TestClock.adjust(Duration.seconds(3))
      yield* supervisor.stop("b")
      const frozenB = tickOf(fake, "b")
      const [a, c] = [tickOf(fake, "a"), tickOf(fake, "c")]
      yield* TestClock.adjust(Duration.seconds(5))
      expect(tickOf(fake, "b")).toBe(frozenB)
      expect(tickOf(fake, "a")).toBe(a + 5)
      expect(tickOf(fake, "c")).toBe(c + 5)
      expect(fake.starts).toEqual(["0s a", "0s b", "0s c"])
      expect(yield* phaseOf("b")).toEqual(Option.some("Stopped"))
      expect(yield* phaseOf("a")).toEqual(Option.some("Running"))
      expect(yield* supervisor.isRunning("b")).toBe(false)
      expect(yield* supervisor.isBound("b")).toBe(false)
      // starting a running account with the binding it holds is a no-op
      yield* supervisor.start("a", bindings.a)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(fake.startsOf("a")).toHaveLength(1)
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("a newer start (a channel restart) waits for the old run to finish before the new one, and touches no other", () => {
    const fake = makeFakeAccounts()
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      yield* startAll(supervisor, ["a", "b"])
      yield* TestClock.adjust(Duration.seconds(2))
      fake.setStopMs(500)
      const restarting = yield* Effect.fork(supervisor.start("b", newBinding()))
      yield* TestClock.adjust(Duration.millis(499))
      // the old run of b is still stopping: no second b yet
      expect(fake.startsOf("b")).toEqual(["0s b"])
      yield* TestClock.adjust(Duration.millis(1))
      yield* Fiber.join(restarting)
      yield* TestClock.adjust(Duration.seconds(2))
      expect(fake.startsOf("b")).toEqual(["0s b", "2.5s b"])
      expect(fake.startsOf("a")).toEqual(["0s a"])
      expect(tickOf(fake, "a")).toBe(4)
      expect(fake.overlaps()).toBe(0)
    }).pipe(
      // stops at teardown must not wait on virtual time nobody advances
      Effect.ensuring(Effect.sync(() => fake.setStopMs(0))),
      Effect.provide(supervisorLayer(fake))
    )
  })

  it.scoped("forget drops an account and a new start adds one; the rest run untouched", () => {
    const fake = makeFakeAccounts()
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      yield* startAll(supervisor, ["a", "b"])
      yield* TestClock.adjust(Duration.seconds(2))
      yield* supervisor.forget("a")
      yield* supervisor.start("C@im.bot", newBinding())
      yield* TestClock.adjust(Duration.seconds(2))
      expect(fake.starts).toEqual(["0s a", "0s b", "2s c-im-bot"])
      expect(tickOf(fake, "a")).toBe(2)
      expect(tickOf(fake, "b")).toBe(4)
      expect(tickOf(fake, "c-im-bot")).toBe(2)
      const known = HashMap.keys(yield* supervisor.snapshot)
      expect([...known].sort()).toEqual(["b", "c-im-bot"])
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("a crashing account restarts with capped exponential delays, each next attempt published; its neighbours run on", () => {
    const fake = makeFakeAccounts()
    fake.behaviours.set("x", { kind: "die", afterMs: 0 })
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      const published: Array<string> = []
      yield* supervisor.changes.pipe(
        Stream.filterMap((all) => HashMap.get(all, "x")),
        Stream.map((status) => status.phase),
        Stream.changes,
        Stream.runForEach((phase) =>
          Effect.sync(() => {
            if (phase._tag === "Backoff") published.push(`#${phase.attempt} at ${phase.nextAttemptAt / 1000}s`)
          })
        ),
        Effect.forkScoped
      )
      // lets the subscriber start before anything happens, without moving the clock
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      yield* supervisor.start("a", newBinding())
      yield* supervisor.start("x", newBinding())
      yield* TestClock.adjust(Duration.millis(1_500))
      const status = Option.getOrThrow(yield* supervisor.status("x"))
      expect(status.phase).toEqual(AccountPhase.Backoff({ nextAttemptAt: 3_000, attempt: 2 }))
      expect(status.lastError?.message).toMatch(/x crashed/)
      yield* TestClock.adjust(Duration.millis(29_500))
      // delays 1, 2, 4, 8, then capped at 8 seconds
      expect(fake.startsOf("x")).toEqual(["0s x", "1s x", "3s x", "7s x", "15s x", "23s x", "31s x"])
      expect(published).toEqual([
        "#1 at 1s",
        "#2 at 3s",
        "#3 at 7s",
        "#4 at 15s",
        "#5 at 23s",
        "#6 at 31s",
        "#7 at 39s"
      ])
      expect(fake.startsOf("a")).toEqual(["0s a"])
      expect(tickOf(fake, "a")).toBe(31)
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("a run that stayed up past stableAfterMs restarts after the base delay again", () => {
    const fake = makeFakeAccounts()
    fake.behaviours.set("x", { kind: "die", afterMs: 70_000 })
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      yield* supervisor.start("x", newBinding())
      yield* TestClock.adjust(Duration.seconds(150))
      expect(fake.startsOf("x")).toEqual(["0s x", "71s x", "142s x"])
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("a run that fails (its state cannot be read) is restarted like a crash", () => {
    const fake = makeFakeAccounts()
    fake.behaviours.set("x", { kind: "fail", afterMs: 5_000 })
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      yield* supervisor.start("x", newBinding())
      yield* TestClock.adjust(Duration.seconds(12))
      expect(fake.startsOf("x")).toEqual(["0s x", "6s x"])
      expect(Option.getOrThrow(yield* supervisor.status("x")).lastError?.message).toContain("EIO")
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("AuthExpired parks the account with no restart loop until loginSaved resumes it", () => {
    const fake = makeFakeAccounts()
    fake.behaviours.set("x", { kind: "authExpired", afterMs: 2_000 })
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      const xBinding = newBinding()
      yield* supervisor.start("a", newBinding())
      yield* supervisor.start("x", xBinding)
      yield* supervisor.start("c", newBinding())
      yield* TestClock.adjust(Duration.minutes(2))
      expect(fake.startsOf("x")).toEqual(["0s x"])
      expect(yield* phaseOf("x")).toEqual(Option.some("AuthExpired"))
      expect(yield* supervisor.isRunning("x")).toBe(false)
      // parked, but still bound: the host's start is still in progress
      expect(yield* supervisor.isBound("x")).toBe(true)
      // the binding it holds does not wake a parked account
      yield* supervisor.start("x", xBinding)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(fake.startsOf("x")).toEqual(["0s x"])

      fake.behaviours.set("x", { kind: "run" })
      expect(yield* supervisor.loginSaved("x")).toBe("restarted")
      yield* TestClock.adjust(Duration.seconds(3))
      expect(fake.startsOf("x")).toEqual(["0s x", "121s x"])
      expect(yield* phaseOf("x")).toEqual(Option.some("Running"))
      expect(tickOf(fake, "x")).toBe(3)
      expect(fake.startsOf("a")).toEqual(["0s a"])
      expect(fake.startsOf("c")).toEqual(["0s c"])
      expect(tickOf(fake, "a")).toBe(124)
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("the binding handed to start is the one every restart and every resume runs with", () => {
    const fake = makeFakeAccounts()
    fake.behaviours.set("x", { kind: "die", afterMs: 1_000 })
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      const first = newBinding()
      yield* supervisor.start("x", first)
      yield* TestClock.adjust(Duration.seconds(4))
      fake.behaviours.set("x", { kind: "authExpired", afterMs: 1_000 })
      yield* TestClock.adjust(Duration.seconds(10))
      expect(yield* phaseOf("x")).toEqual(Option.some("AuthExpired"))
      fake.behaviours.set("x", { kind: "run" })
      expect(yield* supervisor.loginSaved("x")).toBe("restarted")
      yield* TestClock.adjust(Duration.seconds(1))
      const runs = fake.bindingsSeen.filter((seen) => seen.id === "x")
      // crashes, then parked, then resumed by the login: every run had the host's one binding
      expect(runs.length).toBeGreaterThanOrEqual(4)
      expect(runs.every((seen) => seen.binding === first)).toBe(true)

      // the host restarts the channel: the newer binding replaces it, and the older call's end does not stop it
      const second = newBinding()
      yield* supervisor.start("x", second)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(fake.bindingsSeen.at(-1)?.binding).toBe(second)
      expect(yield* supervisor.release("x", first)).toBe(false)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* supervisor.isRunning("x")).toBe(true)
      expect(yield* supervisor.release("x", second)).toBe(true)
      expect(yield* supervisor.isRunning("x")).toBe(false)
      expect(yield* phaseOf("x")).toEqual(Option.some("Stopped"))
      // released: a login saved now has nothing to run here
      expect(yield* supervisor.loginSaved("x")).toBe("not-running-here")
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("changes publishes every phase an account passes through, from start to removal", () => {
    const fake = makeFakeAccounts()
    fake.behaviours.set("x", { kind: "authExpired", afterMs: 2_000 })
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      const seen: Array<string> = []
      yield* supervisor.changes.pipe(
        Stream.map((all) => Option.getOrUndefined(Option.map(HashMap.get(all, "x"), (s) => s.phase._tag))),
        Stream.changes,
        Stream.runForEach((phase) => Effect.sync(() => void seen.push(phase ?? "(absent)"))),
        Effect.forkScoped
      )
      yield* TestClock.adjust(Duration.millis(1))
      yield* startAll(supervisor, ["a", "x"])
      yield* TestClock.adjust(Duration.seconds(5))
      fake.behaviours.set("x", { kind: "run" })
      yield* supervisor.loginSaved("x")
      yield* TestClock.adjust(Duration.seconds(1))
      yield* supervisor.forget("x")
      yield* TestClock.adjust(Duration.seconds(1))
      expect(seen).toEqual(["(absent)", "Starting", "Running", "AuthExpired", "Starting", "Running", "(absent)"])
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("loginSaved restarts just that running account, and leaves one the host has not started here alone", () => {
    const fake = makeFakeAccounts()
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      yield* startAll(supervisor, ["a", "b"])
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* supervisor.loginSaved("b")).toBe("restarted")
      let reset = false
      expect(yield* supervisor.loginSaved("new@im.bot", Effect.sync(() => void (reset = true)))).toBe("not-running-here")
      yield* TestClock.adjust(Duration.seconds(1))
      expect(fake.starts).toEqual(["0s a", "0s b", "1s b"])
      expect(reset).toBe(false)
      expect(Option.isNone(yield* supervisor.status("new@im.bot"))).toBe(true)
      expect(fake.overlaps()).toBe(0)
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("loginSaved runs its beforeStart step only after the old run has fully stopped", () => {
    const fake = makeFakeAccounts()
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      yield* supervisor.start("x", newBinding())
      yield* TestClock.adjust(Duration.seconds(1))
      fake.setStopMs(500)
      const seen: Array<string> = []
      const beforeStart = Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => void seen.push(`${now / 1000}s runs=${fake.startsOf("x").length} live=${fake.live("x")}`)))
      const saving = yield* Effect.fork(supervisor.loginSaved("x", beforeStart))
      yield* TestClock.adjust(Duration.millis(500))
      yield* Fiber.join(saving)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(seen).toEqual(["1.5s runs=1 live=0"])
      expect(fake.startsOf("x")).toEqual(["0s x", "1.5s x"])
    }).pipe(Effect.ensuring(Effect.sync(() => fake.setStopMs(0))), Effect.provide(supervisorLayer(fake)))
  })

  it.scoped("send fails fast for a parked account and says when this process does not run one", () => {
    const fake = makeFakeAccounts()
    fake.behaviours.set("x", { kind: "authExpired", afterMs: 1_000 })
    return Effect.gen(function*() {
      const supervisor = yield* Supervisor
      const to = Either.getOrThrow(normalizePeerId("alice@im.wechat"))
      yield* supervisor.start("x", newBinding())
      yield* TestClock.adjust(Duration.seconds(2))
      const parked = yield* Effect.flip(supervisor.send("x", { to, text: "cron" }))
      expect(parked._tag).toBe("AccountAuthExpired")
      expect(parked.message).toContain("openclaw channels login --channel openclaw-weixin")
      expect((yield* Effect.flip(supervisor.send("elsewhere", { to, text: "cron" })))._tag).toBe("NotRunningHere")
    }).pipe(Effect.provide(supervisorLayer(fake)))
  })
})

describe("Logout", () => {
  it.scoped("logout of b deletes b's files and stops it; a and c keep running; repeating it is harmless", () => {
    const fake = makeFakeAccounts()
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocw-logout-"))
    return Effect.gen(function*() {
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const store = yield* AccountStore
      const cursors = yield* CursorStore
      const supervisor = yield* Supervisor
      for (const id of ["a", "b", "c"]) {
        yield* store.save(id, { token: Redacted.make(`tok-${id}`), userId: `user-${id}` })
        yield* store.register(id)
        yield* cursors.save(id, `cursor-${id}`)
        yield* supervisor.start(id, newBinding())
      }
      yield* TestClock.adjust(Duration.seconds(2))

      expect(yield* logoutAccount("b")).toEqual({ cleared: true, loggedOut: true, accountId: "b" })
      yield* TestClock.adjust(Duration.seconds(2))
      expect(yield* store.list()).toEqual(["a", "c"])
      expect(Option.isNone(yield* store.load("b"))).toBe(true)
      expect(yield* cursors.load("b")).toBe("")
      expect(yield* cursors.load("a")).toBe("cursor-a")
      expect(Fs.readdirSync(Path.join(dir, "openclaw-weixin", "accounts")).sort()).toEqual([
        "a.json",
        "a.sync.json",
        "c.json",
        "c.sync.json"
      ])
      expect(yield* supervisor.isRunning("b")).toBe(false)
      expect(Option.isNone(yield* supervisor.status("b"))).toBe(true)
      expect(tickOf(fake, "a")).toBe(4)
      expect(tickOf(fake, "c")).toBe(4)
      expect(fake.starts).toEqual(["0s a", "0s b", "0s c"])

      expect(yield* logoutAccount("b")).toEqual({ cleared: false, loggedOut: true, accountId: "b" })
    }).pipe(Effect.provide(Layer.merge(supervisorLayer(fake), State.layerAt(dir))))
  })
})
