/**
 * The race's arithmetic, pure: what one scenario measured, read from the emulator's records (when each
 * message was injected, when each reply reached sendmessage), and the ratios and verdicts of the
 * RESULT line. bench/race.ts does the I/O; test/unit/bench/raceStats.test.ts pins these rules.
 */
import { median as middle } from "../support/median.js"

/** A message the benchmark injected: its text, sender and emulator time. */
export interface InjectedText {
  readonly userId: string
  readonly text: string
  readonly at: number
}

/** The part of the emulator's SentRecord the race reads. */
export interface ReplyRecord {
  readonly at: number
  readonly toUserId: string
  readonly text: string | undefined
  readonly outcome: string
}

export interface ScenarioMeasure {
  readonly messages: number
  /** messages answered with the expected reply (delivered) */
  readonly answered: number
  /** first message injected → last expected reply received; undefined unless every message was answered */
  readonly drainMs: number | undefined
  /** first message injected → first expected reply received */
  readonly firstReplyMs: number | undefined
  /**
   * median, over every reply that is not its user's first, of the time since that user's previous reply:
   * how long one more queued turn takes once the pipeline runs
   */
  readonly steadyMs: number | undefined
  /** replies to these users that answer none of the messages (or answer one again), or were not delivered */
  readonly otherReplies: number
}

/** The median (bench/support/median.ts), or undefined when there is nothing to take it of. */
export const median = (values: ReadonlyArray<number>): number | undefined =>
  values.length === 0 ? undefined : middle(values)

/**
 * Measures one scenario. `expectedReply` maps a message text to the reply text that answers it; only
 * delivered replies to the message's sender count, the earliest one per message.
 */
export const measureScenario = (
  injected: ReadonlyArray<InjectedText>,
  replies: ReadonlyArray<ReplyRecord>,
  expectedReply: (text: string) => string
): ScenarioMeasure => {
  const users = new Set(injected.map((message) => message.userId))
  const mine = replies.filter((reply) => users.has(reply.toUserId)).slice().sort((a, b) => a.at - b.at)
  const used = new Set<ReplyRecord>()
  const answers: Array<{ readonly userId: string; readonly at: number }> = []
  for (const message of injected) {
    const want = expectedReply(message.text)
    const reply = mine.find((r) =>
      !used.has(r) && r.outcome === "delivered" && r.toUserId === message.userId && r.text === want
    )
    if (reply === undefined) continue
    used.add(reply)
    answers.push({ userId: message.userId, at: reply.at })
  }
  const start = injected.length === 0 ? undefined : Math.min(...injected.map((message) => message.at))
  const answerTimes = answers.map((answer) => answer.at)
  const complete = injected.length > 0 && answers.length === injected.length
  const gaps: Array<number> = []
  for (const user of users) {
    const times = answers.filter((answer) => answer.userId === user).map((answer) => answer.at).sort((a, b) => a - b)
    for (let i = 1; i < times.length; i++) gaps.push(times[i]! - times[i - 1]!)
  }
  return {
    messages: injected.length,
    answered: answers.length,
    drainMs: complete && start !== undefined ? Math.max(...answerTimes) - start : undefined,
    firstReplyMs: start === undefined || answerTimes.length === 0 ? undefined : Math.min(...answerTimes) - start,
    steadyMs: median(gaps),
    otherReplies: mine.length - used.size
  }
}

/** a / b to two decimals; undefined when either is missing or b is not positive */
export const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b <= 0 ? undefined : Math.round((a / b) * 100) / 100

/** A verdict against a ceiling: undefined (cannot tell) when the ratio is missing. */
export const atMost = (value: number | undefined, ceiling: number): boolean | undefined =>
  value === undefined ? undefined : value <= ceiling

/** Every verdict true; false when one is false; undefined when none is false but one is unknown. */
export const allPass = (verdicts: ReadonlyArray<boolean | undefined>): boolean | undefined =>
  verdicts.includes(false) ? false : verdicts.includes(undefined) ? undefined : true

/** A value for a `key=value` RESULT field: numbers rounded, missing values `n/a`, no spaces. */
export const resultValue = (value: number | boolean | string | undefined): string =>
  value === undefined
    ? "n/a"
    : typeof value === "number"
    ? String(Number.isInteger(value) ? value : Math.round(value * 100) / 100)
    : String(value).replace(/\s+/g, "_")

/**
 * Several rounds of one scenario as one measure: the median of each time (drain only when every round
 * drained), the counts summed.
 */
export const combineRounds = (rounds: ReadonlyArray<ScenarioMeasure>): ScenarioMeasure => {
  const medianOf = (pick: (m: ScenarioMeasure) => number | undefined) => {
    const values = rounds.map(pick)
    return values.includes(undefined) ? undefined : median(values as ReadonlyArray<number>)
  }
  const sum = (pick: (m: ScenarioMeasure) => number) => rounds.reduce((total, m) => total + pick(m), 0)
  return {
    messages: sum((m) => m.messages),
    answered: sum((m) => m.answered),
    drainMs: medianOf((m) => m.drainMs),
    firstReplyMs: medianOf((m) => m.firstReplyMs),
    steadyMs: medianOf((m) => m.steadyMs),
    otherReplies: sum((m) => m.otherReplies)
  }
}
