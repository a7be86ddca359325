/**
 * accounts: what an idle account costs. The real Supervisor runs accounts through the production
 * AccountRunner (real AccountActors, ILinkApi over HTTP, state stores in a temp dir) against one emulator
 * that holds idle long-polls for 35 s, as the iLink server does, so idle accounts really sit in a held
 * poll. The emulator runs in a child process (bench/support/emulator-child.ts): the server's side of
 * every held poll is not in the heap measured here, as it is not in a gateway's. Measured in one run:
 *
 *   1 account; then 1,000 bots polled by bare ILinkApi loops (no actor), the share of the HTTP long-poll
 *   itself; then the same bots as 1,000 accounts (each has answered one message under "typing…", as a
 *   gateway turn does, so it is warmed: context token, typing ticket, seen ids); then the bare loops again,
 *   and once more with all loops started together.
 *
 * Memory: JS heap (heapUsed) and RSS after a forced full GC, as deltas between stages, so the process's
 * fixed cost (modules, emulator, HTTP client) cancels out. GC is exposed at run time (v8 flag + vm), so
 * no node flag is needed with `npm run bench -- accounts`. RSS seldom shrinks after GC and is noisier;
 * the heap figure is the one to compare.
 *
 * CPU: process.cpuUsage (user + system, all threads of this process) over idle windows of one hold
 * (35 s), as % of one core; the emulator's CPU is its own process's. The bare-poller stages measure the
 * HTTP client of the same held polls, and the difference is printed as the actors' own idle cost.
 *
 * The baseline is the bare loops at the accounts' phases, run after the accounts. Phases: held polls that
 * end and renew spread over the hold are dearer than polls that renew together (loops started in one go
 * renew within a second of each other, and the event loop handles their answers in a few full turns instead
 * of a thousand wake-ups, at about half the CPU). So account i gets its message `phaseOf(i)` after the
 * first, spread evenly over 15 s (1,000 accounts answering at once took 9-15 s); each bare loop after the
 * accounts starts when its account's last poll began (as the emulator recorded it), and each one before
 * them at the planned phase. After: the same bare loops cost this process more before it has run the
 * accounts than after (medians of 8.9-10.5 % against 6.7-8.7 %, in each of seven runs), also when a stage of
 * the same loops ran before them, so it is not warm-up; GC traces show about the same GC time in both. The
 * accounts' windows come after their start, so they are compared with the stage in the same state, the
 * cheaper baseline. The stage before is still measured and printed, and so are the loops started together,
 * the cheapest possible figure.
 */
import { Effect, Exit, HashMap, Layer, Logger, LogLevel, Redacted, Ref, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import type { HostBinding } from "../src/account/AccountRunner.js"
import { Supervisor } from "../src/account/Supervisor.js"
import { defaultChannelConfig } from "../src/config/ChannelConfig.js"
import { ActorTuning } from "../src/config/Tuning.js"
import { normalizeAccountId } from "../src/domain/AccountId.js"
import { type AgentTurnsService, TurnOutcome } from "../src/account/AgentTurns.js"
import { ILinkApi } from "../src/ilink/ILinkApi.js"
import { AccountStore } from "../src/state/AccountStore.js"
import { CursorStore } from "../src/state/CursorStore.js"
import { State } from "../src/state/State.js"
import type { BotInfo } from "../sandbox/emulator/Emulator.js"
import type { RequestRecord } from "../sandbox/emulator/Records.js"
import { childEmulator } from "./support/childEmulator.js"
import { InboundMediaStore } from "../src/account/InboundMediaStore.js"
import { median } from "./support/median.js"

const ACCOUNTS = 1_000
/** the server's hold of an idle getupdates (iLink holds about 35 s) */
const LONG_POLL_MS = 35_000
/** one idle window is one hold long, so each account's poll is renewed in it once */
const IDLE_WINDOW_MS = LONG_POLL_MS
/**
 * Idle windows measured back to back at 1,000 accounts (the one-account stage has one); the figure is
 * their median. One window's figure varies by ±20 % from run to run (a major GC of a 200 MB heap landing
 * in it or not, how the renewals fall), more than the differences this benchmark is there to show.
 */
const WINDOWS = 3
/** the client waits a little longer than the server holds, so idle polls end with an empty answer */
const CLIENT_POLL_TIMEOUT_MS = 40_000
/**
 * The first window opens this long after the last request: V8's after-burst work (memory reducer GCs,
 * tier-up compiles) is over before it, and every poll that began up to 19 s before the last request
 * (LONG_POLL_MS - 1 s of quiet - this) is still renewed inside it, once.
 */
const WINDOW_OFFSET_MS = 15_000
/** The accounts' polls, and the bare loops', renew spread evenly over this much of every hold. */
const PHASE_SPREAD_MS = 15_000

// ---- measuring ----------------------------------------------------------------------------------------

const exposeGc = (): (() => void) | undefined => {
  const existing = (globalThis as { gc?: () => void }).gc
  if (typeof existing === "function") return existing
  V8.setFlagsFromString("--expose-gc")
  const gc: unknown = Vm.runInNewContext("gc")
  return typeof gc === "function" ? (gc as () => void) : undefined
}
const gc = exposeGc()

// tsx turns source maps on; Node then parses a module's map the first time a stack trace passes through
// it (Effect.fn spans, interruptions), megabytes that would show up as "per account" memory.
process.setSourceMapsEnabled(false)

const nextMacrotask = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

interface Memory {
  readonly heapUsed: number
  readonly rss: number
}

/** Memory after three full GCs, each followed by a turn of the event loop so finalizers have run. */
const settledMemory: Effect.Effect<Memory> = Effect.gen(function*() {
  for (let i = 0; i < 3; i++) {
    gc?.()
    yield* nextMacrotask
  }
  const usage = process.memoryUsage()
  return { heapUsed: usage.heapUsed, rss: usage.rss }
})

interface IdleCpu {
  /** the median window's % of one core */
  readonly percent: number
  /** every window's % of one core, in order */
  readonly windows: ReadonlyArray<number>
  /** requests that reached the emulator in each window */
  readonly requests: ReadonlyArray<number>
}

/**
 * CPU (% of one core) the whole process used in `windows` back-to-back windows of IDLE_WINDOW_MS in which
 * nothing was sent to it but the answers of held polls.
 */
const idleCpuPercent = (requestCount: Effect.Effect<number>, windows: number): Effect.Effect<IdleCpu> =>
  Effect.gen(function*() {
    yield* Effect.sleep(`${WINDOW_OFFSET_MS} millis`)
    const percents: Array<number> = []
    const requests: Array<number> = []
    for (let i = 0; i < windows; i++) {
      const requestsBefore = yield* requestCount
      const before = process.cpuUsage()
      const startedAt = performance.now()
      yield* Effect.sleep(`${IDLE_WINDOW_MS} millis`)
      const used = process.cpuUsage(before)
      const wallMs = performance.now() - startedAt
      requests.push((yield* requestCount) - requestsBefore)
      percents.push(((used.user + used.system) / 1000 / wallMs) * 100)
    }
    return { percent: median(percents), windows: percents, requests }
  })

/** Polls `condition` on real time until it holds; a stalled benchmark dies instead of hanging. */
const waitFor = (condition: Effect.Effect<boolean>, what: string, withinMs: number) =>
  Effect.gen(function*() {
    const deadline = performance.now() + withinMs
    while (!(yield* condition)) {
      if (performance.now() > deadline) return yield* Effect.dieMessage(`benchmark stalled: ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

const kb = (bytes: number) => bytes / 1024
const fmt = (n: number, digits = 1) => n.toFixed(digits)

// ---- the run ------------------------------------------------------------------------------------------

const program = Effect.scoped(Effect.gen(function*() {
  if (gc === undefined) console.log("warning: could not expose gc; memory figures include garbage")
  console.log(
    `accounts: 1 and ${ACCOUNTS} idle accounts on one emulator in a child process (long-poll hold ${LONG_POLL_MS / 1000} s), ` +
      `idle CPU: median of ${WINDOWS} windows of ${IDLE_WINDOW_MS / 1000} s`
  )
  const emulator = yield* childEmulator({ longPollMs: LONG_POLL_MS })
  const stateDir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "bench-accounts-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )
  const answered = yield* Ref.make(0)
  const host: AgentTurnsService = {
    run: (_turn, reply) =>
      reply.withTyping(reply.sendText("ok")).pipe(
        Effect.ignore,
        Effect.zipRight(Ref.update(answered, (n) => n + 1)),
        Effect.as(TurnOutcome.Completed({ replies: 1 }))
      )
  }
  const base = Layer.mergeAll(ILinkApi.Default, State.layerAt(stateDir), InboundMediaStore.layerMemory)
  const world = Supervisor.layer.pipe(
    Layer.provideMerge(base),
    Layer.provide(Layer.succeed(ActorTuning, { initialPollTimeoutMs: CLIENT_POLL_TIMEOUT_MS }))
  )
  // what the host's startAccount hands over for each account
  const binding: HostBinding = { turns: host, config: defaultChannelConfig }
  const context = yield* Layer.build(world)
  const [supervisor, store, cursors, api] = yield* Effect.all([Supervisor, AccountStore, CursorStore, ILinkApi]).pipe(
    Effect.provide(context)
  )

  const requestCount = emulator.ask<number>({ kind: "request-count" })
  /** No request reached the emulator for a second: every account sits in a held poll. */
  const quiet = Effect.gen(function*() {
    let last = yield* requestCount
    let quietSince = performance.now()
    while (performance.now() - quietSince < 1_000) {
      yield* Effect.sleep("100 millis")
      const now = yield* requestCount
      if (now !== last) {
        last = now
        quietSince = performance.now()
      }
    }
  })
  const runningCount = Effect.map(supervisor.snapshot, (all) =>
    HashMap.reduce(all, 0, (n, status) => (status.phase._tag === "Running" ? n + 1 : n)))

  const bots: Array<BotInfo> = []
  /** Adds bots up to `total`: each stored and registered as a logged-in account, not started. */
  const addBots = (total: number) =>
    Effect.gen(function*() {
      while (bots.length < total) {
        const bot = yield* emulator.ask<BotInfo>({ kind: "add-bot" })
        const id = normalizeAccountId(bot.botId)
        yield* store.save(id, { token: Redacted.make(bot.token), baseUrl: emulator.baseUrl, userId: bot.ownerUserId })
        yield* store.register(id)
        bots.push(bot)
      }
    })
  /** Where in every hold the polls of bot `index` renew, as an account or a bare loop: spread over PHASE_SPREAD_MS. */
  const phaseOf = (index: number) => Math.round((index * PHASE_SPREAD_MS) / ACCOUNTS)
  /**
   * Runs the first `total` bots as accounts and has each answer one message, then waits until all are idle.
   * Bot i's message arrives `phase(i)` after the first: its held poll ends then, and every later one
   * renews at that phase of the hold.
   */
  const runAccounts = (total: number, phase: (index: number) => number) =>
    Effect.gen(function*() {
      const answeredBefore = yield* Ref.get(answered)
      const ids = bots.slice(0, total).map((bot) => normalizeAccountId(bot.botId))
      for (const id of ids) yield* supervisor.start(id, binding)
      // every account's first poll is held before the first message: a message that came before its
      // account's poll would end that poll at once, not at the message's phase
      yield* quiet
      // an account shows Running after its first poll returns; the message makes that happen now
      const firstAt = performance.now()
      for (let i = 0; i < total; i++) {
        const wait = firstAt + phase(i) - performance.now()
        if (wait > 0) yield* Effect.sleep(`${wait} millis`)
        yield* emulator.ask({ kind: "inject-text", botId: bots[i]!.botId, text: "hello" })
      }
      yield* waitFor(Effect.map(Ref.get(answered), (n) => n - answeredBefore === total), `${total} answers`, 120_000)
      yield* waitFor(Effect.map(runningCount, (n) => n === total), `${total} accounts running`, 60_000)
      yield* quiet
    })
  const stopAccounts = Effect.gen(function*() {
    for (const bot of bots) yield* supervisor.forget(normalizeAccountId(bot.botId))
    yield* waitFor(Effect.map(runningCount, (n) => n === 0), "all accounts stopped", 60_000)
    yield* quiet
  })

  /**
   * The bots polled by bare ILinkApi loops: emulator + HTTP long-poll, no actor. Loop i starts
   * `startAfterMs(i)` after the first, so its held polls end and renew at that phase.
   */
  const barePolls = (startAfterMs: (index: number) => number) =>
    Effect.gen(function*() {
      const pollers = yield* Scope.make()
      let latestStart = 0
      for (const [index, bot] of bots.entries()) {
        const id = normalizeAccountId(bot.botId)
        const connection = { baseUrl: emulator.baseUrl, token: Redacted.make(bot.token), accountId: id }
        const position = yield* Ref.make(yield* cursors.load(id))
        const delay = startAfterMs(index)
        latestStart = Math.max(latestStart, delay)
        yield* Ref.get(position).pipe(
          Effect.flatMap((buf) => api.getUpdates(connection, { get_updates_buf: buf, timeoutMs: CLIENT_POLL_TIMEOUT_MS })),
          Effect.flatMap((response) => Ref.set(position, response.get_updates_buf ?? "")),
          Effect.catchAll(() => Effect.sleep("1 second")),
          Effect.forever,
          Effect.delay(`${delay} millis`),
          Effect.forkIn(pollers)
        )
      }
      yield* Effect.sleep(`${latestStart} millis`)
      yield* quiet
      const memory = yield* settledMemory
      const cpu = yield* idleCpuPercent(requestCount, WINDOWS)
      yield* Scope.close(pollers, Exit.void)
      yield* quiet
      return { memory, cpu }
    })

  const memory0 = yield* settledMemory

  yield* addBots(1)
  yield* runAccounts(1, () => 0)
  const memory1 = yield* settledMemory
  const cpu1 = yield* idleCpuPercent(requestCount, 1)
  yield* stopAccounts

  // the bare loops at the planned phases before the accounts: printed, not the baseline (see the header)
  yield* addBots(ACCOUNTS)
  const bareBefore = yield* barePolls(phaseOf)
  const memoryBase = yield* settledMemory

  yield* runAccounts(ACCOUNTS, phaseOf)
  const memoryN = yield* settledMemory
  const cpuN = yield* idleCpuPercent(requestCount, WINDOWS)
  const delivered = yield* emulator.ask<number>({ kind: "delivered-count" })

  // When each account's held poll began (its last getupdates before the stop): the bare loops after the
  // accounts start at these phases, and the report says how far they were from the plan.
  const lastPollAt = new Map<string, number>()
  for (const request of yield* emulator.ask<ReadonlyArray<RequestRecord>>({ kind: "requests", endpoint: "getupdates" })) {
    const token = (request.headers["authorization"] ?? "").replace(/^Bearer /, "")
    lastPollAt.set(token, Math.max(lastPollAt.get(token) ?? 0, request.at))
  }
  const pollAt = bots.map((bot) => lastPollAt.get(bot.token))
  const recorded = pollAt.filter((at) => at !== undefined)
  const firstPollAt = Math.min(...recorded)
  const phaseSpreadMs = Math.max(...recorded) - firstPollAt
  // each poll's distance from its plan, the whole stage's common shift taken out
  const shifts = pollAt.flatMap((at, i) => (at === undefined ? [] : [at - phaseOf(i)]))
  const commonShift = median(shifts)
  const offPlanMs = shifts.map((shift) => Math.abs(shift - commonShift))

  yield* stopAccounts
  const memoryStopped = yield* settledMemory
  // after the accounts, each loop starts exactly at its account's recorded phase
  const bareAfter = yield* barePolls((index) => {
    const at = pollAt[index]
    return at === undefined ? phaseOf(index) : at - firstPollAt
  })
  // all loops started at once, so their polls renew together: fewer, fuller turns of the event loop
  const batched = yield* barePolls(() => 0)
  // the baseline: the loops in the state the process is in once it has run the accounts (see the header)
  const cpuPollers = bareAfter.cpu
  const bothSides = median([...bareBefore.cpu.windows, ...bareAfter.cpu.windows])

  // ---- report -----------------------------------------------------------------------------------------
  const heapFirst = kb(memory1.heapUsed - memory0.heapUsed)
  const heapPer = kb(memoryN.heapUsed - memoryBase.heapUsed) / ACCOUNTS
  const rssPer = kb(memoryN.rss - memoryBase.rss) / ACCOUNTS
  const pollerHeapPer = kb(bareAfter.memory.heapUsed - memoryStopped.heapUsed) / ACCOUNTS
  const actorCpuN = Math.max(0, cpuN.percent - cpuPollers.percent)
  const cpuRatio = cpuN.percent / cpu1.percent

  console.log(`answers delivered: ${delivered}/${ACCOUNTS + 1}; emulator violations: ${(yield* emulator.ask<ReadonlyArray<unknown>>({ kind: "violations" })).length}`)
  console.log(
    `the accounts' held polls began over ${fmt(phaseSpreadMs / 1000)} s, off their planned phases by a median ` +
      `${fmt(median(offPlanMs), 0)} ms, at most ${fmt(Math.max(...offPlanMs), 0)} ms (spread over ${PHASE_SPREAD_MS / 1000} s; ` +
      "the bare loops before the accounts start at the planned phases, those after at the recorded ones)"
  )
  console.log("memory (after GC)")
  console.log(`  first account:                 heap +${fmt(heapFirst)} kB (includes one-time costs of the first account)`)
  console.log(`  each of ${ACCOUNTS} accounts:          heap +${fmt(heapPer)} kB, rss +${fmt(rssPer)} kB per account`)
  console.log(`    bare long-poll (the HTTP client, no actor): heap +${fmt(pollerHeapPer)} kB per account`)
  console.log(`  per account ratio, ${ACCOUNTS} vs first: ${fmt(heapPer / heapFirst, 2)}`)
  console.log(
    `  after stopping all ${ACCOUNTS}:        heap ${fmt(kb(memoryStopped.heapUsed - memoryBase.heapUsed) / ACCOUNTS)} kB per ` +
      "stopped account (what a stop leaves behind)"
  )
  console.log(
    `idle CPU in windows of ${IDLE_WINDOW_MS / 1000} s, the first opened ${WINDOW_OFFSET_MS / 1000} s after the last ` +
      "request, so every held poll is renewed once in each (% of one core, this process; median [each window], requests per window)"
  )
  const line = (label: string, cpu: IdleCpu) =>
    console.log(
      `  ${label.padEnd(62)} ${fmt(cpu.percent, 3)} %  [${cpu.windows.map((w) => fmt(w, 3)).join(", ")}]  ` +
        `requests ${cpu.requests.join("/")}`
    )
  line("1 account", cpu1)
  line(`${ACCOUNTS} accounts`, cpuN)
  line(`${ACCOUNTS} bare long-polls (no actor) at the phases, before the accounts`, bareBefore.cpu)
  line(`${ACCOUNTS} bare long-polls at the phases, after the accounts (the baseline)`, bareAfter.cpu)
  line(`${ACCOUNTS} bare long-polls, started together`, batched.cpu)
  console.log(`  ${ACCOUNTS} actors minus bare long-polls: ${fmt(actorCpuN, 3)} %`)
  console.log(
    `  accounts / bare long-polls after them: ${fmt(cpuN.percent / cpuPollers.percent, 2)}; / the median of every bare ` +
      `window at the phases, before and after: ${fmt(cpuN.percent / bothSides, 2)}`
  )
  console.log(`  ratio ${ACCOUNTS} / 1: ${fmt(cpuRatio, 1)} (linear would be ${ACCOUNTS})`)
  console.log(
    `RESULT accounts accounts=${ACCOUNTS} mem_per_account_kb=${fmt(heapPer)} idle_cpu_pct_n=${fmt(cpuN.percent, 3)} ` +
      `idle_cpu_pct_1=${fmt(cpu1.percent, 3)} ratio=${fmt(cpuRatio, 1)} rss_per_account_kb=${fmt(rssPer)} ` +
      `idle_cpu_pct_bare_polls_n=${fmt(cpuPollers.percent, 3)} over_bare=${fmt(cpuN.percent / cpuPollers.percent, 2)} ` +
      `idle_cpu_pct_bare_batched_n=${fmt(batched.cpu.percent, 3)} idle_cpu_runs_n=${cpuN.windows.map((w) => fmt(w, 3)).join("/")} ` +
      `idle_cpu_runs_bare_polls_n=${cpuPollers.windows.map((w) => fmt(w, 3)).join("/")} ` +
      `idle_cpu_pct_bare_before_n=${fmt(bareBefore.cpu.percent, 3)} ` +
      `idle_cpu_runs_bare_before_n=${bareBefore.cpu.windows.map((w) => fmt(w, 3)).join("/")} ` +
      `over_bare_both_sides=${fmt(cpuN.percent / bothSides, 2)}`
  )
}))

await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning)))
