import { describe, expect, it } from "vitest"
import { pollingOf } from "../../sandbox/phone/PhoneServer.js"

const poll = (at: number, token: string) => ({ at, headers: { authorization: `Bearer ${token}` } })

describe("how the phone shows an account polling", () => {
  it("counts one bot's getupdates: when the latest began and how many began in the last minute", () => {
    const requests = [poll(1_000, "a"), poll(50_000, "b"), poll(70_000, "a"), poll(95_000, "a"), poll(99_000, "b")]
    expect(pollingOf(requests, "a", 100_000)).toEqual({ lastBeganMsAgo: 5_000, lastMinute: 2 })
    expect(pollingOf(requests, "b", 100_000)).toEqual({ lastBeganMsAgo: 1_000, lastMinute: 2 })
    expect(pollingOf(requests, "c", 100_000)).toEqual({ lastBeganMsAgo: null, lastMinute: 0 })
  })
})
