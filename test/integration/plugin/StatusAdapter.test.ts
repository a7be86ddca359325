/**
 * Status publishing and issues in virtual time: the real Supervisor with a scripted AccountRunner, the
 * gateway's status publisher writing into a fake ctx.setStatus.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import { AccountRunner, type HostBinding } from "../../../src/account/AccountRunner.js"
import { AccountPhase, type AccountStateRef, markPollDone, type ParkedPhase, setPhase } from "../../../src/account/AccountStatus.js"
import { Supervisor } from "../../../src/account/Supervisor.js"
import { TestAgentTurns } from "../../../src/account/TestAgentTurns.js"
import { defaultChannelConfig } from "../../../src/config/ChannelConfig.js"
import { RestartTuning } from "../../../src/config/Tuning.js"
import { publishAccountStatus } from "../../../src/plugin/GatewayAdapter.js"
import type { AccountSnapshot } from "../../../src/plugin/SdkTypes.js"
import { collectStatusIssues, POLL_STALL_MS, statusSnapshot } from "../../../src/plugin/StatusAdapter.js"

const binding: HostBinding = { turns: Effect.runSync(TestAgentTurns.make()), config: defaultChannelConfig }

/** A Supervisor whose runner runs `run` for every account. */
const supervisorWith = (run: (id: string, state: AccountStateRef) => Effect.Effect<ParkedPhase>) =>
  Supervisor.Default.pipe(
    Layer.provide(Layer.succeed(AccountRunner, { run: (id, _binding, { state }) => run(id, state) })),
    Layer.provide(Layer.succeed(RestartTuning, {
      restartBaseMs: 1_000,
      restartCapMs: 10_000,
      stableAfterMs: 60_000,
      jitter: false
    }))
  )

const recordingCtx = () => {
  const statuses: Array<AccountSnapshot> = []
  let current: AccountSnapshot = { accountId: "a" }
  return {
    statuses,
    ctx: {
      getStatus: () => current,
      setStatus: (next: AccountSnapshot) => {
        current = next
        statuses.push(next)
      }
    }
  }
}

describe("status publishing", () => {
  it.scoped("hands every phase of the account to ctx.setStatus", () =>
    Effect.gen(function*() {
      const { ctx, statuses } = recordingCtx()
      const runner = (_id: string, state: AccountStateRef) =>
        Effect.gen(function*() {
          yield* Effect.sleep(100)
          yield* markPollDone(state, false)
          yield* Effect.sleep(1_000)
          yield* setPhase(state, AccountPhase.Backoff({ nextAttemptAt: 5_000, attempt: 1 }))
          yield* Effect.sleep(1_000)
          yield* markPollDone(state, false)
          return yield* Effect.never
        })
      yield* Effect.gen(function*() {
        const supervisor = yield* Supervisor
        const publisher = yield* Effect.fork(publishAccountStatus("a", ctx, 0))
        yield* supervisor.start("a", binding)
        yield* TestClock.adjust(3_000)
        const states = statuses.map((s) => s.statusState)
        expect(states).toContain("starting")
        expect(states).toContain("running")
        expect(states).toContain("backoff")
        expect(states.at(-1)).toBe("running")
        expect(statuses.at(-1)).toMatchObject({ accountId: "a", running: true, connected: true, lifecycle: "ready" })
        yield* Fiber.interrupt(publisher)
      }).pipe(Effect.provide(supervisorWith(runner)))
    }))

  it.scoped("reports a stalled poll after 120 s without a completed getupdates", () =>
    Effect.gen(function*() {
      const { ctx, statuses } = recordingCtx()
      const runner = (_id: string, state: AccountStateRef) =>
        Effect.gen(function*() {
          yield* markPollDone(state, false)
          return yield* Effect.never // the long-poll never comes back
        })
      yield* Effect.gen(function*() {
        const supervisor = yield* Supervisor
        yield* Effect.fork(publishAccountStatus("a", ctx, 0))
        yield* supervisor.start("a", binding)
        yield* TestClock.adjust(60_000)
        expect(statuses.at(-1)?.statusState).toBe("running")
        expect(collectStatusIssues([statuses.at(-1)!])).toEqual([])
        yield* TestClock.adjust(POLL_STALL_MS)
        const last = statuses.at(-1)!
        expect(last.statusState).toBe("poll-stalled")
        expect(last.connected).toBe(false)
        const issues = collectStatusIssues([last])
        expect(issues).toHaveLength(1)
        expect(issues[0]).toMatchObject({ channel: "openclaw-weixin", accountId: "a", kind: "runtime" })
        expect(issues[0]!.message).toMatch(/stalled: no poll has completed for \d+ s/)
      }).pipe(Effect.provide(supervisorWith(runner)))
    }))

  it.scoped("reports an expired login as an auth issue telling the user to log in again", () =>
    Effect.gen(function*() {
      const { ctx, statuses } = recordingCtx()
      const runner = (_id: string, state: AccountStateRef) =>
        Effect.gen(function*() {
          yield* setPhase(state, AccountPhase.Running())
          yield* Effect.sleep(500)
          const parked: ParkedPhase = AccountPhase.AuthExpired({ since: 500, reason: "iLink said -14" })
          yield* setPhase(state, parked)
          return parked
        })
      yield* Effect.gen(function*() {
        const supervisor = yield* Supervisor
        yield* Effect.fork(publishAccountStatus("a", ctx, 0))
        yield* supervisor.start("a", binding)
        yield* TestClock.adjust(1_000)
        const last = statuses.at(-1)!
        expect(last).toMatchObject({ statusState: "auth-expired", lifecycle: "blocked", connected: false })
        expect(last.stateReason).toContain("login expired")
        // parked, not restarted: still expired well after the restart delay
        yield* TestClock.adjust(30_000)
        expect(statuses.at(-1)!.statusState).toBe("auth-expired")
        const issues = collectStatusIssues([statuses.at(-1)!])
        expect(issues).toEqual([expect.objectContaining({ kind: "auth", accountId: "a" })])
        expect(issues[0]!.fix).toContain("openclaw channels login --channel openclaw-weixin")
      }).pipe(Effect.provide(supervisorWith(runner)))
    }))
})

describe("statusSnapshot", () => {
  it("counts the stall from the start of the account until the first poll completes", () => {
    const starting = statusSnapshot("a", { phase: AccountPhase.Running() }, 200_000, 100_000)
    expect(starting.statusState).toBe("running")
    const stuck = statusSnapshot("a", { phase: AccountPhase.Running() }, 221_000, 100_000)
    expect(stuck.statusState).toBe("poll-stalled")
  })

  it("carries activity times and the last error to the host", () => {
    const snapshot = statusSnapshot(
      "a",
      { phase: AccountPhase.Running(), lastPollAt: 10, lastInboundAt: 7, lastOutboundAt: 8, lastError: { at: 5, message: "boom" } },
      20,
      0
    )
    expect(snapshot).toMatchObject({ lastTransportActivityAt: 10, lastInboundAt: 7, lastOutboundAt: 8, lastError: "boom" })
  })
})
