/**
 * Smoke test of the e2e harness: a real OpenClaw 2026.9.6 gateway on the pinned Node 24, offline (inside a
 * loopback-only netns when the machine allows it), with the stub channel plugin and the fake model.
 * One gateway serves the whole file; the tests run in order and the last one stops it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type FakeModel, makeFakeModel } from "../../sandbox/fakeModel.js"
import { type RunningGateway, startGateway, waitUntil } from "../../sandbox/gateway/index.js"

const stubPluginDir = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "fixtures", "stub-channel")

interface StubEvent {
  readonly event: string
  readonly pid: number
  readonly [key: string]: unknown
}

const scope = Effect.runSync(Scope.make())
let gateway: RunningGateway
let model: FakeModel
let eventsFile: string
// Timings printed at the end for the report and docs/HOST-NOTES.md.
const timings: Record<string, number> = {}

const readEvents = Effect.promise(async (): Promise<ReadonlyArray<StubEvent>> => {
  const text = await Fs.readFile(eventsFile, "utf8").catch(() => "")
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as StubEvent)
})

const eventsNamed = (name: string) => readEvents.pipe(Effect.map((events) => events.filter((e) => e.event === name)))

const timed = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = performance.now()
    const result = yield* effect
    timings[label] = Math.round(performance.now() - started)
    return result
  })

beforeAll(async () => {
  const setup = Effect.gen(function*() {
    model = yield* makeFakeModel({ modelId: "echo" })
    gateway = yield* timed(
      "gateway setup (install + patch + run to ready)",
      startGateway({
        pluginDir: stubPluginDir,
        model: { baseUrl: model.baseUrl, modelId: model.modelId },
        exposePorts: [model.port],
        configPatch: (root) => {
          eventsFile = Path.join(root.root, "stub-events.jsonl")
          return {
            channels: {
              "e2e-stub": {
                eventsFile,
                pairingRequestFrom: "stranger-1",
                // dispatched through the host's reply pipeline on every account start, to observe its dedupe
                inboundOnStart: { from: "alice", text: "dedupe me", messageId: "provider-msg-1" },
                accounts: { alpha: { name: "Alpha" } }
              }
            }
          }
        }
      })
    )
    timings["gateway run to ready line"] = gateway.readyMs
  })
  await Effect.runPromise(Scope.extend(setup, scope))
}, 240_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  console.log(`e2e harness timings (ms): ${JSON.stringify(timings)}`)
}, 60_000)

describe("e2e harness with the stub channel", () => {
  it.live("starts the gateway offline and loads the plugin in full mode inside the gateway process", () =>
    Effect.gen(function*() {
      expect(yield* gateway.output).toMatch(/\[gateway\] ready/)
      expect(yield* gateway.output).toContain("e2e-stub")
      const registrations = yield* eventsNamed("register")
      expect(registrations).toContainEqual(expect.objectContaining({ mode: "full", pid: gateway.pid, hostVersion: "2026.9.6" }))
      if (gateway.netns !== undefined) expect(gateway.netns).toMatch(/^ocw-e2e-/)
    }))

  it.live("calls startAccount for the configured account with a channel runtime", () =>
    Effect.gen(function*() {
      const started = yield* waitUntil("startAccount of alpha", eventsNamed("startAccount"), (events) => events.length > 0, {
        timeoutMs: 30_000
      })
      expect(started[0]).toMatchObject({ accountId: "alpha", pid: gateway.pid })
      expect(started[0]?.channelRuntimeKeys).toEqual(expect.arrayContaining(["inbound", "pairing", "reply", "routing", "session"]))
    }), 40_000)

  it.live("reports the account running and probed in `channels status --probe`", () =>
    Effect.gen(function*() {
      const text = yield* timed("cli channels status --probe", gateway.cli(["channels", "status", "--probe"]))
      expect(text.code).toBe(0)
      expect(text.stdout).toContain("Gateway reachable")
      expect(text.stdout).toMatch(/e2e-stub alpha \(Alpha\): enabled, configured, running/)

      const json = yield* timed("cli channels status --probe --json", gateway.cli(["channels", "status", "--probe", "--json"]))
      expect(json.code).toBe(0)
      const status = JSON.parse(json.stdout.slice(json.stdout.indexOf("{"))) as {
        channelAccounts: Record<string, ReadonlyArray<Record<string, unknown>>>
      }
      expect(status.channelAccounts["e2e-stub"]).toEqual([
        expect.objectContaining({ accountId: "alpha", running: true, probe: { ok: true, accountId: "alpha" } })
      ])
    }), 90_000)

  it.live("delivers `message send` to outbound.sendText, which runs in the CLI process", () =>
    Effect.gen(function*() {
      const sent = yield* timed(
        "cli message send",
        gateway.cli(["message", "send", "--channel", "e2e-stub", "--target", "x", "-m", "hi"])
      )
      expect(sent.code, sent.stderr).toBe(0)
      const calls = yield* eventsNamed("sendText")
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({ to: "x", text: "hi", accountId: "alpha" })
      expect(calls[0]?.pid).not.toBe(gateway.pid)
      expect(sent.stdout).toContain(String(calls[0]?.messageId))
    }), 90_000)

  it.live("lists a pairing request made through channelRuntime.pairing, and an approval reaches the gateway's allow list", () =>
    Effect.gen(function*() {
      const [requested] = yield* waitUntil("pairingRequested", eventsNamed("pairingRequested"), (events) => events.length > 0, {
        timeoutMs: 30_000
      })
      const code = String(requested?.code)
      expect(requested).toMatchObject({ sender: "stranger-1", created: true, allowFrom: [] })
      expect(String(requested?.reply)).toContain(`openclaw pairing approve e2e-stub ${code}`)

      const listed = yield* timed("cli pairing list", gateway.cli(["pairing", "list", "e2e-stub", "--json"]))
      expect(listed.code, listed.stderr).toBe(0)
      const pending = JSON.parse(listed.stdout.slice(listed.stdout.indexOf("{"))) as { requests: ReadonlyArray<unknown> }
      expect(pending.requests).toEqual([expect.objectContaining({ id: "stranger-1", code, meta: { accountId: "alpha" } })])

      const approved = yield* timed("cli pairing approve", gateway.cli(["pairing", "approve", "e2e-stub", code]))
      expect(approved.code, approved.stdout + approved.stderr).toBe(0)
      expect(approved.stdout).toContain("stranger-1")
      // approving bootstraps commands.ownerAllowFrom; that config write restarts the channel, and the new
      // startAccount reads the allow list through channelRuntime.pairing and finds the sender
      const afterApproval = yield* waitUntil(
        "a restarted account that sees the approval",
        eventsNamed("pairingRequested"),
        (events) => events.some((e) => Array.isArray(e.allowFrom) && e.allowFrom.includes("stranger-1")),
        { timeoutMs: 30_000 }
      )
      expect(afterApproval.length).toBeGreaterThanOrEqual(2)
    }), 120_000)

  it.live("runs an agent turn against the fake model through the gateway", () =>
    Effect.gen(function*() {
      const turn = yield* timed(
        "cli agent turn",
        gateway.cli(["agent", "--agent", "main", "--message", "ping from the harness"], { timeoutMs: 120_000 })
      )
      expect(turn.code, turn.stdout + turn.stderr).toBe(0)
      expect(turn.stdout).toContain("echo: ping from the harness")
      const chats = yield* model.chatRequests
      expect(chats.map((request) => request.spokenText)).toContain("ping from the harness")
      // the host wraps the text in an envelope; the fake model strips it for its reply
      expect(chats.find((request) => request.spokenText === "ping from the harness")?.userText).toMatch(/^\[.+\] ping from the harness/)
    }), 150_000)

  it.live("drops a provider message id dispatched again after a gateway restart (the host's dedupe is persistent)", () =>
    Effect.gen(function*() {
      const before = yield* waitUntil("the first inbound dispatch", eventsNamed("inboundDispatched"), (events) => events.length > 0, {
        timeoutMs: 60_000
      })
      expect(before[0]).toMatchObject({ messageId: "provider-msg-1", delivered: ["echo: dedupe me"], pid: gateway.pid })

      const restarted = yield* timed("gateway restart (SIGTERM + run to ready)", gateway.restart)
      expect(restarted.stopped.killed).toBe(false)
      expect(restarted.pid).not.toBe(gateway.pid)
      const after = yield* waitUntil(
        "the inbound dispatch of the restarted gateway",
        eventsNamed("inboundDispatched"),
        (events) => events.some((e) => e.pid === restarted.pid),
        { timeoutMs: 60_000 }
      )
      expect(after.filter((e) => e.pid === restarted.pid)).toEqual([
        expect.objectContaining({ messageId: "provider-msg-1", delivered: [], queuedFinal: false })
      ])
      const modelCalls = (yield* model.chatRequests).filter((request) => request.spokenText === "dedupe me")
      expect(modelCalls).toHaveLength(1)
    }), 150_000)

  it.live("stops on SIGTERM within the deadline and runs stopAccount", () =>
    Effect.gen(function*() {
      const stopsBefore = (yield* eventsNamed("stopAccount")).length
      const abortsBefore = (yield* eventsNamed("abort")).length
      const stopped = yield* gateway.stop
      timings["SIGTERM to exit"] = stopped.durationMs
      expect(stopped.killed).toBe(false)
      expect(stopped.durationMs).toBeLessThan(20_000)
      const stops = yield* eventsNamed("stopAccount")
      expect(stops.slice(stopsBefore)).toEqual([expect.objectContaining({ accountId: "alpha", pid: yield* gateway.currentPid })])
      expect((yield* eventsNamed("abort")).length).toBe(abortsBefore + 1)
    }), 40_000)
})
