/**
 * race: the same real OpenClaw gateway set-up run three times in one process, once with each channel of
 * bench/race/contenders.ts: this plugin (built and packed), the official `@tencent-weixin/openclaw-weixin`
 * (the pinned devDependency) and the floor (bench/race/floor: long-poll, hand each text to the host, send
 * the replies; what the host itself costs).
 *
 * Each run gets a fresh iLink emulator and fake model on 127.0.0.1, a fresh gateway (the e2e harness,
 * sandbox/gateway: Node 24, outbound features off, a loopback-only netns when the machine allows it),
 * `session.dmScope: per-channel-peer`, and a model that takes TURN_MS (1 s) to answer each request.
 * Ours and the official plugin start from the same seeded login. After the account polls, one untimed
 * warm-up message from a user of its own pays the gateway's first-turn costs; then, one after the other,
 * RACE_ROUNDS times (default 3, new users each round):
 *
 * - burst5x4: 5 users send 4 messages each, all 20 injected at once;
 * - serial1x10: 1 user sends 10 messages, injected at once.
 *
 * Everything is timed by the emulator's clock: when each message was injected and when each reply reached
 * sendmessage. drain = first message injected → last reply received; first = first message injected →
 * first reply received; steady = the median, over every reply that is not its user's first, of the time
 * since that user's previous reply (bench/race/stats.ts). Each figure is the median over the rounds; the
 * table also shows each round's drain and the machine's load average when it started, since the three
 * gateways run one after the other and share the machine with whatever else runs. A run that cannot start
 * or answer is reported as unavailable with the reason, never as a figure. Prints a table, then one
 * `RESULT race …` line.
 */
import { Console, Effect, Either } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { type Emulator, makeEmulator } from "../sandbox/emulator/Emulator.js"
import { type FakeModel, makeFakeModel } from "../sandbox/fakeModel.js"
import { startGateway, waitUntil } from "../sandbox/gateway/index.js"
import { type Contender, type ContenderName, contenders as raceContenders, extraContenders, type RaceBot } from "./race/contenders.js"
import {
  allPass,
  atMost,
  combineRounds,
  type InjectedText,
  measureScenario,
  ratio,
  resultValue,
  type ScenarioMeasure
} from "./race/stats.js"

const TURN_MS = 1000
const TARGET_OURS_OVER_FLOOR = 1.1
const TARGET_BURST_OURS_OVER_OFFICIAL = 0.4
const POLL_START_TIMEOUT_MS = 90_000
const WARM_UP_TIMEOUT_MS = 180_000
// after a scenario, before the next: the host finishes its own bookkeeping of the last turns
const SETTLE_MS = 2_000
// each gateway runs both scenarios this many times (new users each round); each time is the median
const ROUNDS = Math.max(1, Number(process.env["RACE_ROUNDS"] ?? 3) || 3)

interface Scenario {
  readonly name: "burst5x4" | "serial1x10"
  readonly title: string
  readonly users: number
  readonly perUser: number
  readonly timeoutMs: number
}

const allScenarios: ReadonlyArray<Scenario> = [
  { name: "burst5x4", title: "5 users x 4 messages", users: 5, perUser: 4, timeoutMs: 300_000 },
  { name: "serial1x10", title: "1 user x 10 messages", users: 1, perUser: 10, timeoutMs: 240_000 }
]
const listFromEnv = (name: string) => (process.env[name] ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "")
// for investigating: RACE_SCENARIOS=serial1x10 runs only that scenario; RACE_ONLY=floor,floor-legacy only
// those channels (floor-legacy runs only when named); what did not run shows as n/a / unavailable
const onlyScenarios = listFromEnv("RACE_SCENARIOS")
const scenarios = allScenarios.filter((scenario) => onlyScenarios.length === 0 || onlyScenarios.includes(scenario.name))
const only = listFromEnv("RACE_ONLY")
const contenders = [...raceContenders, ...extraContenders.filter((contender) => only.includes(contender.name))]

const WARM_USER = "o9cqRaceWarmUp@im.wechat"
const userOf = (scenario: Scenario, round: number, index: number) => `o9cqRace${scenario.name}r${round}u${index}@im.wechat`

/** The messages of a scenario's round in the order they are injected: every user's first, then every user's second, … */
const messagesOf = (scenario: Scenario, round: number) =>
  Array.from({ length: scenario.perUser }, (_, m) =>
    Array.from({ length: scenario.users }, (_, user) => ({
      userId: userOf(scenario, round, user),
      text: `race-${scenario.name}-r${round}-u${user}-m${m}`
    }))).flat()

// The model answers the message's tag, wherever the host put it in the prompt, so the reply names the
// message it answers whatever envelope a channel adds.
const TAG = /race-[a-z0-9]+-r\d+-u\d+-m\d+|race-warm-up/
const answerOf = (tag: string) => `answer to ${tag}`
const modelReply = ({ spokenText, userText }: { readonly spokenText: string; readonly userText: string }) =>
  answerOf(TAG.exec(spokenText)?.[0] ?? TAG.exec(userText)?.[0] ?? "an unknown message")

interface ScenarioRun extends ScenarioMeasure {
  readonly modelCalls: number
  /** the 1-minute load average of the machine when the scenario started */
  readonly load: number
}

/** A scenario over every round: the combined measure, and each round's drain and load. */
interface ScenarioRounds extends ScenarioRun {
  readonly drains: ReadonlyArray<number | undefined>
  readonly loads: ReadonlyArray<number>
}

const combine = (runs: ReadonlyArray<ScenarioRun>): ScenarioRounds => ({
  ...combineRounds(runs),
  modelCalls: runs.reduce((total, run) => total + run.modelCalls, 0),
  load: Math.max(...runs.map((run) => run.load)),
  drains: runs.map((run) => run.drainMs),
  loads: runs.map((run) => run.load)
})

type ContenderRun =
  | {
    readonly status: "ran"
    readonly readyMs: number
    readonly scenarios: Readonly<Partial<Record<Scenario["name"], ScenarioRounds>>>
    readonly violations: ReadonlyArray<string>
  }
  | { readonly status: "unavailable"; readonly reason: string }

/** A multi-line error message as one line: its non-empty lines joined, the last ones kept when long. */
const oneLine = (text: string) => {
  const joined = text.split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" | ")
  return joined.length <= 3000 ? joined : `…${joined.slice(-3000)}`
}

/** The gateway's output lines that say what went wrong, for an unavailable run. */
const complaints = (output: string) =>
  output.split("\n").filter((line) => /error|fail|cannot|refus|denied|invalid/i.test(line)).slice(-6).join("\n")

const runScenario = (emulator: Emulator, model: FakeModel, botId: string, scenario: Scenario, round: number) =>
  Effect.gen(function*() {
    const load = Os.loadavg()[0] ?? 0
    const modelBefore = (yield* model.chatRequests).length
    const injected: Array<InjectedText> = []
    for (const message of messagesOf(scenario, round)) {
      const at = yield* emulator.now
      yield* emulator.injectInbound({ botId, fromUserId: message.userId, kind: "text", text: message.text })
      injected.push({ ...message, at })
    }
    const measure = (sent: Parameters<typeof measureScenario>[1]) => measureScenario(injected, sent, answerOf)
    yield* waitUntil(`${scenario.name}: every reply`, emulator.sent(botId), (sent) => measure(sent).answered === injected.length, {
      timeoutMs: scenario.timeoutMs,
      intervalMs: 100
    }).pipe(Effect.ignore)
    const result: ScenarioRun = {
      ...measure(yield* emulator.sent(botId)),
      modelCalls: (yield* model.chatRequests).length - modelBefore,
      load
    }
    yield* Console.log(
      `  round ${round + 1} ${scenario.name}: ${result.answered}/${result.messages} answered, drain ${result.drainMs ?? "n/a"} ms, ` +
        `${result.modelCalls} model calls, load ${load.toFixed(2)}`
    )
    yield* Effect.sleep(SETTLE_MS)
    return result
  })

const runContender = (contender: Contender) =>
  Effect.gen(function*() {
    const workDir = yield* Effect.acquireRelease(
      Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), `ocw-race-${contender.name}-`))),
      (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
    )
    const pluginDir = yield* contender.pluginDir(workDir)
    const emulator = yield* makeEmulator({ port: 0 })
    const model = yield* makeFakeModel({ modelId: "echo", reply: modelReply, delayMs: TURN_MS })
    const users = [
      WARM_USER,
      ...Array.from({ length: ROUNDS }, (_, round) =>
        scenarios.flatMap((scenario) => Array.from({ length: scenario.users }, (_, i) => userOf(scenario, round, i)))).flat()
    ]
    for (const user of users) yield* emulator.addUser(user)
    const bot = yield* emulator.addBot({ ownerUserId: WARM_USER })
    const raceBot: RaceBot = { ...bot, baseUrl: emulator.baseUrl, cdnBaseUrl: emulator.cdnBaseUrl, users }

    const gateway = yield* startGateway({
      pluginDir,
      model: { baseUrl: model.baseUrl, modelId: model.modelId },
      exposePorts: [model.port, emulator.port],
      configPatch: { session: { dmScope: "per-channel-peer" }, channels: { [contender.channelId]: contender.channelConfig(raceBot) } },
      prepareState: (root) => contender.seedState(root, raceBot)
    })
    yield* Console.log(`  gateway ready in ${gateway.readyMs} ms${gateway.netns === undefined ? " (no netns)" : ` (netns ${gateway.netns})`}`)
    yield* contender.seedRunning(gateway.root, raceBot)

    const unavailable = (what: string) =>
      Effect.map(gateway.output, (output): ContenderRun => {
        const why = complaints(output)
        return { status: "unavailable", reason: why === "" ? what : `${what}; the gateway said: ${why.replace(/\s*\n\s*/g, " | ")}` }
      })

    const polling = yield* Effect.either(
      waitUntil(
        "getupdates with the bot token",
        emulator.requests("getupdates"),
        (requests) => requests.some((request) => request.headers["authorization"] === `Bearer ${bot.token}`),
        { timeoutMs: POLL_START_TIMEOUT_MS, intervalMs: 250 }
      )
    )
    if (Either.isLeft(polling)) return yield* unavailable(`the account never polled getupdates within ${POLL_START_TIMEOUT_MS / 1000} s`)

    yield* emulator.injectInbound({ botId: bot.botId, fromUserId: WARM_USER, kind: "text", text: "race-warm-up" })
    const warmedUp = yield* Effect.either(
      waitUntil(
        "the warm-up reply",
        emulator.sent(bot.botId),
        (sent) => sent.some((record) => record.outcome === "delivered" && record.text === answerOf("race-warm-up")),
        { timeoutMs: WARM_UP_TIMEOUT_MS, intervalMs: 250 }
      )
    )
    if (Either.isLeft(warmedUp)) {
      const sent = yield* emulator.sent(bot.botId)
      const seen = sent.length === 0 ? "nothing reached sendmessage" : `sendmessage saw: ${sent.map((s) => `${s.outcome} "${s.text ?? ""}"`).join(", ")}`
      return yield* unavailable(`no reply to the warm-up message within ${WARM_UP_TIMEOUT_MS / 1000} s (${seen})`)
    }
    yield* Console.log("  warm-up answered")

    // rounds alternate the scenarios, so what one leaves behind weighs on the other alike in every round
    const runs = new Map<Scenario["name"], Array<ScenarioRun>>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const scenario of scenarios) {
        const run = yield* runScenario(emulator, model, bot.botId, scenario, round)
        runs.set(scenario.name, [...(runs.get(scenario.name) ?? []), run])
      }
    }
    const measured: Partial<Record<Scenario["name"], ScenarioRounds>> = {}
    for (const [name, scenarioRuns] of runs) measured[name] = combine(scenarioRuns)
    const violations = (yield* emulator.violations()).map((v) => `${v.endpoint} ${v.rule}`)
    const run: ContenderRun = { status: "ran", readyMs: gateway.readyMs, scenarios: measured, violations }
    return run
  }).pipe(Effect.scoped)

// ---- the run ---------------------------------------------------------------------------------------

const results = new Map<ContenderName, ContenderRun>()
for (const contender of contenders) {
  if (only.length > 0 && !only.includes(contender.name)) {
    results.set(contender.name, { status: "unavailable", reason: "not run (RACE_ONLY)" })
    continue
  }
  console.log(`race: ${contender.name}: ${contender.description}`)
  const outcome = await Effect.runPromise(Effect.either(runContender(contender)))
  const run: ContenderRun = Either.isRight(outcome)
    ? outcome.right
    : { status: "unavailable", reason: `${outcome.left._tag}: ${oneLine(outcome.left.message)}` }
  if (run.status === "unavailable") console.log(`  unavailable: ${run.reason}`)
  results.set(contender.name, run)
}

const measureOf = (name: ContenderName, scenario: Scenario["name"]) => {
  const run = results.get(name)
  return run?.status === "ran" ? run.scenarios[scenario] : undefined
}
const cell = (value: number | undefined) => (value === undefined ? "n/a" : String(Math.round(value))).padStart(9)

console.log("")
console.log(
  `race: fake model ${TURN_MS} ms per request, session.dmScope per-channel-peer, one gateway per plugin, ` +
    `${ROUNDS} round(s) each; times are medians over the rounds`
)
console.log(
  `${"scenario".padEnd(22)}${"plugin".padEnd(13)}${"drain_ms".padStart(9)}${"first_ms".padStart(9)}${"steady_ms".padStart(10)}` +
    `  answered  model_calls  other  drain per round (ms)   load at start`
)
for (const scenario of scenarios) {
  for (const contender of contenders) {
    const run = results.get(contender.name)
    const m = measureOf(contender.name, scenario.name)
    const head = `${scenario.title.padEnd(22)}${contender.name.padEnd(13)}`
    if (run?.status !== "ran" || m === undefined) {
      console.log(`${head}unavailable`)
      continue
    }
    const drains = m.drains.map((drain) => (drain === undefined ? "n/a" : String(drain))).join(" ")
    const loads = m.loads.map((load) => load.toFixed(1)).join(" ")
    console.log(
      `${head}${cell(m.drainMs)}${cell(m.firstReplyMs)} ${cell(m.steadyMs)}  ${`${m.answered}/${m.messages}`.padStart(8)}  ` +
        `${String(m.modelCalls).padStart(11)}  ${String(m.otherReplies).padStart(5)}  ${drains.padEnd(21)} ${loads}`
    )
  }
}
for (const contender of contenders) {
  const run = results.get(contender.name)
  if (run?.status === "ran") {
    const distinct = [...new Set(run.violations)]
    console.log(
      `${contender.name}: gateway ready in ${run.readyMs} ms; emulator protocol violations: ${run.violations.length}${
        distinct.length === 0 ? "" : ` (${distinct.slice(0, 5).join("; ")})`
      }`
    )
  } else if (run !== undefined) {
    console.log(`${contender.name}: unavailable: ${run.reason}`)
  }
}

const fields: Array<[string, number | boolean | string | undefined]> = [["turn_ms", TURN_MS], ["rounds", ROUNDS]]
for (const contender of contenders) {
  const run = results.get(contender.name)
  fields.push([contender.name, run?.status === "ran" ? "ok" : "unavailable"])
  if (run?.status === "unavailable") fields.push([`${contender.name}_reason`, run.reason.slice(0, 400)])
}
const verdicts: Array<boolean | undefined> = []
const officialVerdicts: Array<boolean | undefined> = []
const floorVerdicts: Array<boolean | undefined> = []
// every scenario, run or not: one left out by RACE_SCENARIOS leaves its verdict unknown, never passed
for (const scenario of allScenarios) {
  for (const contender of contenders) fields.push([`${scenario.name}_${contender.name}_drain_ms`, measureOf(contender.name, scenario.name)?.drainMs])
  for (const contender of contenders) fields.push([`${scenario.name}_${contender.name}_first_ms`, measureOf(contender.name, scenario.name)?.firstReplyMs])
  for (const contender of contenders) fields.push([`${scenario.name}_${contender.name}_steady_ms`, measureOf(contender.name, scenario.name)?.steadyMs])
  const ours = measureOf("ours", scenario.name)?.drainMs
  const overOfficial = ratio(ours, measureOf("official", scenario.name)?.drainMs)
  const overFloor = ratio(ours, measureOf("floor", scenario.name)?.drainMs)
  fields.push([`${scenario.name}_ours_over_official`, overOfficial], [`${scenario.name}_ours_over_floor`, overFloor])
  floorVerdicts.push(atMost(overFloor, TARGET_OURS_OVER_FLOOR))
  if (scenario.name === "burst5x4") officialVerdicts.push(atMost(overOfficial, TARGET_BURST_OURS_OVER_OFFICIAL))
}
verdicts.push(...floorVerdicts, ...officialVerdicts)
const passFloor = allPass(floorVerdicts)
const passOfficial = allPass(officialVerdicts)
const pass = allPass(verdicts)
fields.push(
  ["target_ours_over_floor", TARGET_OURS_OVER_FLOOR],
  ["target_burst5x4_ours_over_official", TARGET_BURST_OURS_OVER_OFFICIAL],
  ["pass_floor", passFloor ?? "unknown"],
  ["pass_official", passOfficial ?? "unknown"],
  // a target that could not be checked is not met
  ["pass", pass === true]
)
console.log("")
console.log(
  `targets: ours/floor <= ${TARGET_OURS_OVER_FLOOR} in both scenarios: ${passFloor ?? "cannot tell"}; ` +
    `ours/official <= ${TARGET_BURST_OURS_OVER_OFFICIAL} in burst5x4: ${passOfficial ?? "cannot tell"}`
)
console.log(`RESULT race ${fields.map(([key, value]) => `${key}=${resultValue(value)}`).join(" ")}`)
