/** The doctor's wording as a function of its facts (src/plugin/DoctorChecks.ts). */
import { describe, expect, it } from "@effect/vitest"
import { type AccountFacts, doctorWarnings, type DoctorFacts } from "../../../src/plugin/DoctorChecks.js"

const healthy = (accountId: string): AccountFacts => ({
  accountId,
  login: "accepted",
  detail: "the server accepted the bot token",
  rejected: 0,
  unfinished: 0,
  journalPath: `/state/openclaw-weixin/accounts/${accountId}.ocw-inbox.jsonl`
})
const facts = (over: Partial<DoctorFacts>): DoctorFacts => ({
  stateDir: "/state",
  stateDirExists: true,
  openclawHome: undefined,
  cfg: {},
  accounts: [healthy("a-im-bot")],
  ...over
})

describe("doctorWarnings", () => {
  it("says nothing about a healthy install", () => {
    expect(doctorWarnings(facts({}))).toEqual([])
    // two accounts with session.dmScope unset: the channel isolates them itself, nothing to warn about
    expect(doctorWarnings(facts({ accounts: [healthy("a"), healthy("b")] }))).toEqual([])
  })

  it("names an expired login and the command that fixes it", () => {
    const [line] = doctorWarnings(facts({ accounts: [{ ...healthy("a-im-bot"), login: "expired" }] }))
    expect(line).toContain("openclaw-weixin a-im-bot: the WeChat login has expired")
    expect(line).toContain("openclaw channels login --channel openclaw-weixin --account a-im-bot")
  })

  it("reports a login it could not check with the reason, and an account without a login", () => {
    const lines = doctorWarnings(facts({
      accounts: [{ ...healthy("a"), login: "unreachable", detail: "HTTP 503" }, { ...healthy("b"), login: "not-logged-in" }]
    }))
    expect(lines[0]).toContain("a: the login could not be checked: HTTP 503")
    expect(lines[1]).toContain("b: no login is stored")
  })

  it("warns when several accounts share the main session by explicit choice", () => {
    const lines = doctorWarnings(facts({ cfg: { session: { dmScope: "main" } }, accounts: [healthy("a"), healthy("b")] }))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("2 WeChat accounts share one session because session.dmScope is \"main\"")
    expect(doctorWarnings(facts({ cfg: { session: { dmScope: "main" } } }))).toEqual([])
  })

  it("counts rejected messages and unfinished turns from the journal, pointing at it", () => {
    const lines = doctorWarnings(facts({ accounts: [{ ...healthy("a"), rejected: 2, unfinished: 1 }] }))
    expect(lines[0]).toContain("2 message(s) from WeChat could not be read")
    expect(lines[0]).toContain("/state/openclaw-weixin/accounts/a.ocw-inbox.jsonl")
    expect(lines[1]).toContain("1 message(s) were taken in but their turn never finished")
  })

  it("traces a missing state dir to OPENCLAW_HOME", () => {
    const [line] = doctorWarnings(facts({ stateDirExists: false, stateDir: "/nowhere/.openclaw", openclawHome: "/nowhere", accounts: [] }))
    expect(line).toContain("the state dir /nowhere/.openclaw does not exist (OPENCLAW_HOME is /nowhere)")
  })
})
