/**
 * Crash test: an account run by the production AccountRunner in a child process
 * (test/support/crashChild.ts) is killed with SIGKILL at random moments while messages keep arriving;
 * after ≥ 50 kills a last run drains everything, and every injected message must have been dispatched
 * exactly once. See crashChild.ts for why the dispatch record is idempotent by key and what "exactly
 * once" means across a kill between the turn and its done mark.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { State } from "../../../src/state/State.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { makeTempDir } from "../../support/actorHarness.js"

const rounds = 50
const childScript = path.join(import.meta.dirname, "..", "..", "support", "crashChild.ts")

/** Small deterministic PRNG, so a failing run can be replayed from the printed seed. */
const makeRandom = (seed: number) => {
  let state = seed >>> 0
  return (below: number) => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0
    return state % below
  }
}

const readDispatched = (file: string): Array<string> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l.startsWith("dispatched ")).map((l) =>
      l.slice("dispatched ".length)
    )
    : []

const startChild = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, ["--import", "tsx", childScript, ...args], {
        cwd: path.join(import.meta.dirname, "..", "..", ".."),
        stdio: ["ignore", "ignore", "pipe"]
      })
    ),
    (child) => killChild(child)
  )

const killChild = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** A real-time pause that only chooses *when* the kill lands; no assertion depends on it. */
const pauseMs = (ms: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(timer))
  })

describe("AccountActor crash safety", () => {
  it.live(`dispatches every injected message exactly once across ${rounds} SIGKILLs`, () =>
    Effect.scoped(
      Effect.gen(function*() {
        const seed = Number(process.env["CRASH_SEED"] ?? Date.now() % 1_000_000)
        console.log(`crash test seed ${seed} (rerun with CRASH_SEED=${seed})`)
        const random = makeRandom(seed)
        const emulator = yield* makeEmulator({ longPollMs: 200 })
        const bot = yield* emulator.addBot()
        const dir = yield* makeTempDir("actor-crash-")
        const stateDir = path.join(dir, "state")
        const dispatchFile = path.join(dir, "dispatched.log")
        // the login the child runs with, stored as a QR login would
        yield* Effect.flatMap(AccountStore, (store) =>
          store.save(normalizeAccountId(bot.botId), { token: Redacted.make(bot.token), baseUrl: emulator.baseUrl })).pipe(
            Effect.provide(State.layerAt(stateDir))
          )
        const args = [bot.botId, stateDir, dispatchFile]
        const injected: Array<string> = []
        const messageIds: Array<string> = []

        const injectSome = (n: number) =>
          Effect.forEach(Array.from({ length: n }), () =>
            emulator.injectInbound({ botId: bot.botId, kind: "text", text: `m${injected.length}` }).pipe(
              Effect.tap((m) =>
                Effect.sync(() => {
                  injected.push(`mid:${m.messageId}`)
                  messageIds.push(m.messageId!)
                })
              )
            ), { discard: true })

        for (let round = 0; round < rounds; round++) {
          yield* Effect.scoped(
            Effect.gen(function*() {
              const before = readDispatched(dispatchFile).length
              yield* startChild(args)
              yield* injectSome(1 + random(4))
              // the server delivers at least once: repeat an old message now and then
              if (messageIds.length > 0 && random(3) === 0) {
                yield* emulator.redeliver(bot.botId, messageIds[random(messageIds.length)]!)
              }
              if (round % 2 === 1) {
                // kill right after a turn recorded its effect, likely before its done mark
                yield* waitUntil(
                  "a dispatch in this round",
                  Effect.sync(() => readDispatched(dispatchFile).length > before),
                  { timeoutMs: 20_000 }
                ).pipe(Effect.catchTag("WaitTimeoutError", () => Effect.void))
              } else {
                yield* pauseMs(random(800))
              }
              yield* injectSome(random(3))
            })
          ) // closing the round's scope SIGKILLs the child and waits for its exit
        }

        yield* Effect.scoped(
          Effect.gen(function*() {
            yield* startChild(args)
            const want = new Set(injected)
            yield* waitUntil(
              "every injected message dispatched",
              Effect.sync(() => {
                const got = new Set(readDispatched(dispatchFile))
                return [...want].every((k) => got.has(k))
              }),
              { timeoutMs: 60_000 }
            ).pipe(Effect.catchTag("WaitTimeoutError", () => Effect.void))
          })
        )

        const dispatched = readDispatched(dispatchFile)
        const counts = new Map<string, number>()
        for (const key of dispatched) counts.set(key, (counts.get(key) ?? 0) + 1)
        const lost = injected.filter((k) => !counts.has(k))
        const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k)
        const unknown = [...counts.keys()].filter((k) => !injected.includes(k))
        expect({ lost, twice, unknown }).toEqual({ lost: [], twice: [], unknown: [] })
        expect(dispatched.length).toBe(injected.length)
        expect(injected.length).toBeGreaterThanOrEqual(rounds)
        const redispatched = fs.readFileSync(dispatchFile, "utf8").split("\n").filter((l) => l.startsWith("again "))
        console.log(
          `crash test: ${injected.length} messages, ${rounds} kills, ${redispatched.length} re-dispatch(es) after a kill between turn and done mark`
        )
        expect(yield* emulator.violations()).toEqual([])
      })
    ), 240_000)
})
