import { describe, expect, it } from "vitest"
import { allPass, atMost, combineRounds, measureScenario, median, ratio, resultValue } from "../../../bench/race/stats.js"

const answer = (text: string) => `answer to ${text}`
const delivered = (at: number, toUserId: string, text: string) => ({ at, toUserId, text, outcome: "delivered" })

describe("race stats", () => {
  const injected = [
    { userId: "a", text: "a0", at: 1000 },
    { userId: "b", text: "b0", at: 1001 },
    { userId: "a", text: "a1", at: 1002 },
    { userId: "b", text: "b1", at: 1003 }
  ]

  it("drain runs from the first message injected to the last expected reply; steady is the median gap between a user's replies", () => {
    const m = measureScenario(injected, [
      delivered(2500, "a", answer("a0")),
      delivered(2700, "b", answer("b0")),
      delivered(4500, "a", answer("a1")),
      delivered(5700, "b", answer("b1"))
    ], answer)
    expect(m).toEqual({ messages: 4, answered: 4, drainMs: 4700, firstReplyMs: 1500, steadyMs: 2500, otherReplies: 0 })
  })

  it("has no drain while a message is unanswered, and counts replies that answer nothing, again, or were refused", () => {
    const m = measureScenario(injected, [
      delivered(2500, "a", answer("a0")),
      delivered(2600, "a", answer("a0")),
      delivered(2700, "b", "something else"),
      { at: 2800, toUserId: "b", text: answer("b0"), outcome: "no_context_token" },
      delivered(2900, "someone-else", answer("x"))
    ], answer)
    expect(m.answered).toBe(1)
    expect(m.drainMs).toBeUndefined()
    expect(m.firstReplyMs).toBe(1500)
    expect(m.steadyMs).toBeUndefined()
    expect(m.otherReplies).toBe(3)
  })

  it("a reply to the wrong user does not answer a message", () => {
    const m = measureScenario([{ userId: "a", text: "a0", at: 0 }], [delivered(10, "b", answer("a0"))], answer)
    expect(m.answered).toBe(0)
  })

  it("median, ratio and verdicts", () => {
    expect(median([])).toBeUndefined()
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 2, 3])).toBe(2.5)
    expect(ratio(15_100, 41_600)).toBe(0.36)
    expect(ratio(1, undefined)).toBeUndefined()
    expect(ratio(1, 0)).toBeUndefined()
    expect(atMost(1.1, 1.1)).toBe(true)
    expect(atMost(1.11, 1.1)).toBe(false)
    expect(atMost(undefined, 1.1)).toBeUndefined()
    expect(allPass([true, true])).toBe(true)
    expect(allPass([true, undefined])).toBeUndefined()
    expect(allPass([undefined, false])).toBe(false)
  })

  it("rounds combine as the median of each time, counts summed; no drain unless every round drained", () => {
    const round = (drainMs: number | undefined, answered: number) =>
      ({ messages: 4, answered, drainMs, firstReplyMs: drainMs === undefined ? undefined : drainMs / 4, steadyMs: 100, otherReplies: 1 })
    expect(combineRounds([round(400, 4), round(1000, 4), round(600, 4)]))
      .toEqual({ messages: 12, answered: 12, drainMs: 600, firstReplyMs: 150, steadyMs: 100, otherReplies: 3 })
    expect(combineRounds([round(400, 4), round(undefined, 3)]).drainMs).toBeUndefined()
  })

  it("RESULT values have no spaces and say n/a for what was not measured", () => {
    expect(resultValue(undefined)).toBe("n/a")
    expect(resultValue(12.345)).toBe("12.35")
    expect(resultValue(17529)).toBe("17529")
    expect(resultValue("no reply to the warm-up")).toBe("no_reply_to_the_warm-up")
    expect(resultValue(false)).toBe("false")
  })
})
