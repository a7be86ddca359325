/**
 * soak: reliability under faults. 10 accounts run by the real Supervisor (production AccountRunner, real
 * AccountActors, ILinkApi over HTTP, the real state stores and inbox journal on disk in a temp dir)
 * against one in-process emulator. 10,000 inbound messages from 5 users per account arrive in rounds
 * spread over a simulated day (the emulator's clock advances 24 h across the run, so every timestamp,
 * context token and reply window the server sees spans a day; the client's timers run on real time with
 * short poll timeouts and backoff so the day passes in minutes). Between rounds, at random (seeded):
 * a fault plan from the emulator on any endpoint (HTTP 5xx, reset, malformed / truncated JSON, HTML, wrong
 * shapes, delays, a hung poll, rate limits, an accepted send without id), and restarts of accounts
 * (stop, then start, as the host does on a reload).
 *
 * The agent answers every message once. At the end: every injected message must have completed its turn
 * exactly once (lost = never, duplicated = more than once), and every reply ended in a receipt or a typed
 * error (none hangs). `npm run bench -- soak [seed …]` (default seed 1); ends with one RESULT line per seed.
 */
import { Effect, Either, Exit, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { HostBinding } from "../src/account/AccountRunner.js"
import { type AgentTurnsService, TurnOutcome } from "../src/account/AgentTurns.js"
import { InboundMediaStore } from "../src/account/InboundMediaStore.js"
import { Supervisor } from "../src/account/Supervisor.js"
import { defaultChannelConfig } from "../src/config/ChannelConfig.js"
import { ActorTuning } from "../src/config/Tuning.js"
import { normalizeAccountId } from "../src/domain/AccountId.js"
import { ILinkApi } from "../src/ilink/ILinkApi.js"
import { AccountStore } from "../src/state/AccountStore.js"
import { State } from "../src/state/State.js"
import { type EndpointName, type Fault, makeEmulator } from "../sandbox/emulator/Emulator.js"
import { waitUntil } from "../sandbox/gateway/waitUntil.js"

const ACCOUNTS = 10
const USERS_PER_ACCOUNT = 5
const MESSAGES = Number(process.env["SOAK_MESSAGES"] ?? 10_000)
const ROUND = 100
const DAY_MS = 24 * 60 * 60_000
/** at most this many messages injected and not yet answered, so the run measures faults, not a queue */
const IN_FLIGHT = 400

/** Small deterministic PRNG (LCG), so a run can be replayed from its seed. */
const makeRandom = (seed: number) => {
  let state = (seed * 2_654_435_761) >>> 0
  const next = () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
  return { next, below: (n: number) => Math.floor(next() * n), pick: <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(next() * xs.length)]! }
}

const generic: ReadonlyArray<Fault> = [
  { kind: "http", status: 500 },
  { kind: "http", status: 502 },
  { kind: "http", status: 503 },
  { kind: "reset" },
  { kind: "malformed_json" },
  { kind: "truncated_json" },
  { kind: "html_error" },
  { kind: "wrong_shape" },
  { kind: "delay", ms: 200 }
]
const faultsFor: Record<string, ReadonlyArray<Fault>> = {
  getupdates: [...generic, { kind: "hang" }],
  sendmessage: [...generic, { kind: "rate_limited" }, { kind: "no_message_id" }],
  getconfig: [...generic, { kind: "hang" }],
  sendtyping: [...generic, { kind: "hang" }],
  notifystart: [...generic],
  notifystop: [...generic, { kind: "hang" }]
}
const endpoints = Object.keys(faultsFor) as ReadonlyArray<EndpointName>

const soak = (seed: number) =>
  Effect.gen(function*() {
    const random = makeRandom(seed)
    const emulator = yield* makeEmulator({ longPollMs: 500 })
    const stateDir = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "bench-soak-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
    const completed = new Map<string, number>()
    // what happened, in order, to explain a duplicate: completions, faults and restarts, per account
    const events: Array<string> = []
    const mark = (what: string) => void events.push(`${Math.round(performance.now())} ${what}`)
    let replies = 0
    let receipts = 0
    let typedErrors = 0
    const host: AgentTurnsService = {
      run: (turn, reply) =>
        Effect.gen(function*() {
          const result = yield* Effect.either(reply.sendText(`ok ${turn.claimed.message.message_id ?? ""}`))
          replies++
          if (Either.isRight(result)) receipts++
          else typedErrors++
          const id = turn.claimed.message.message_id ?? turn.claimed.key
          completed.set(id, (completed.get(id) ?? 0) + 1)
          mark(`${turn.accountId} completed ${id} (claimedAt ${turn.claimed.claimedAt}, reply ${Either.isRight(result) ? result.right.status : result.left._tag})`)
          return TurnOutcome.Completed({ replies: 1 })
        })
    }
    const base = Layer.mergeAll(ILinkApi.Default, State.layerAt(stateDir), InboundMediaStore.layerMemory)
    const world = Supervisor.layer.pipe(
      Layer.provideMerge(base),
      Layer.provide(Layer.succeed(ActorTuning, { initialPollTimeoutMs: 1_500, backoffBaseMs: 50, backoffCapMs: 800 }))
    )
    const context = yield* Layer.build(world)
    const [supervisor, store] = yield* Effect.all([Supervisor, AccountStore]).pipe(Effect.provide(context))
    const binding: HostBinding = { turns: host, config: defaultChannelConfig }

    const bots = []
    for (let i = 0; i < ACCOUNTS; i++) {
      const bot = yield* emulator.addBot()
      const users = Array.from({ length: USERS_PER_ACCOUNT }, (_, u) => `soak${i}u${u}@im.wechat`)
      const id = normalizeAccountId(bot.botId)
      yield* store.save(id, { token: Redacted.make(bot.token), baseUrl: emulator.baseUrl })
      yield* store.register(id)
      yield* supervisor.start(id, binding)
      bots.push({ bot, id, users })
    }

    const injected = new Set<string>()
    const injectedBy = new Map<string, string>()
    let faults = 0
    let restarts = 0
    const started = performance.now()
    const rounds = Math.ceil(MESSAGES / ROUND)
    for (let round = 0; round < rounds; round++) {
      // the simulated day moves on
      yield* emulator.advanceClock(Math.floor(DAY_MS / rounds))
      if (random.next() < 0.35) {
        const endpoint = random.pick(endpoints)
        const times = 1 + random.below(3)
        const target = random.pick(bots)
        const fault = random.pick(faultsFor[endpoint]!)
        yield* emulator.setFault({ endpoint, fault, times, botId: target.bot.botId })
        mark(`${target.id} fault ${endpoint} ${JSON.stringify(fault)} x${times}`)
        faults += times
      }
      if (random.next() < 0.08) {
        const target = random.pick(bots)
        mark(`${target.id} stopping`)
        yield* supervisor.stop(target.id)
        mark(`${target.id} stopped; starting`)
        yield* supervisor.start(target.id, binding)
        restarts++
      }
      for (let k = 0; k < ROUND && injected.size < MESSAGES; k++) {
        const target = random.pick(bots)
        const message = yield* emulator.injectInbound({ botId: target.bot.botId, fromUserId: random.pick(target.users), kind: "text", text: `m${injected.size}` })
        injected.add(message.messageId!)
        injectedBy.set(message.messageId!, target.id)
      }
      const drained = yield* waitUntil(
        "the backlog to drain below the in-flight bound",
        Effect.sync(() => injected.size - completed.size <= IN_FLIGHT),
        { timeoutMs: 120_000 }
      ).pipe(Effect.as(true), Effect.catchAll(() => Effect.succeed(false)))
      if (!drained) {
        // a stuck account: say which, with its phase, and stop injecting (the RESULT counts what is lost)
        for (const b of bots) {
          const status = yield* supervisor.status(b.id)
          const pending = [...injectedBy.entries()].filter(([id, bot]) => bot === b.id && !completed.has(id)).length
          console.log(`stuck? account ${b.id} pending=${pending} phase=${JSON.stringify(status)}`)
        }
        break
      }
      if (round % 10 === 9) console.log(`round ${round + 1}/${rounds}: injected=${injected.size} completed=${completed.size} faults=${faults} restarts=${restarts}`)
    }
    yield* emulator.clearFaults()
    yield* waitUntil("every message answered", Effect.sync(() => [...injected].every((id) => completed.has(id))), { timeoutMs: 180_000 }).pipe(
      Effect.catchAll(() => Effect.void)
    )
    const wallMs = Math.round(performance.now() - started)
    const lost = [...injected].filter((id) => !completed.has(id)).length
    const duplicated = [...completed.values()].filter((n) => n > 1).length
    for (const [id, n] of completed) {
      if (n < 2) continue
      // the completions of the message, and everything its account saw between them
      const lines = events.filter((e) => e.includes(` completed ${id} `))
      const first = Number(lines[0]!.split(" ")[0])
      const last = Number(lines.at(-1)!.split(" ")[0])
      const account = lines[0]!.split(" ")[1]!
      console.log(`duplicate ${id} (${n} completions); what account ${account} saw from the first to the last:`)
      for (const e of events) {
        const at = Number(e.split(" ")[0])
        if (at >= first - 2_000 && at <= last && e.split(" ")[1] === account && !e.includes(" completed ") || e.includes(` completed ${id} `)) console.log(`  ${e}`)
      }
    }
    const unexpected = [...completed.keys()].filter((id) => !injected.has(id)).length
    const violations = (yield* emulator.violations()).length
    for (const b of bots) yield* supervisor.stop(b.id)
    const line = `RESULT soak seed=${seed} accounts=${ACCOUNTS} messages=${injected.size} faults=${faults} restarts=${restarts} ` +
      `lost=${lost} duplicated=${duplicated} unexpected=${unexpected} replies=${replies} receipts=${receipts} ` +
      `typed_errors=${typedErrors} unanswered_replies=${replies - receipts - typedErrors} violations=${violations} wall_ms=${wallMs}`
    console.log(line)
    return lost === 0 && duplicated === 0
  })

const seeds = process.argv.slice(3).map(Number).filter((n) => Number.isInteger(n))
let ok = true
for (const seed of seeds.length === 0 ? [1] : seeds) {
  const scope = Effect.runSync(Scope.make())
  const held = await Effect.runPromise(
    Scope.extend(soak(seed), scope).pipe(Logger.withMinimumLogLevel(process.env["SOAK_LOG"] === "warning" ? LogLevel.Warning : LogLevel.None), Effect.ensuring(Scope.close(scope, Exit.void)))
  )
  ok = ok && held
}
process.exit(ok ? 0 : 1)
