/**
 * Secrets never reach the host's logs: a scripted run (QR login, the account running with an inbound
 * message and its reply, a proactive send) against the emulator, with every log sink captured at Debug
 * level, then grepped for the bot token and every context token the run saw.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, LogLevel } from "effect"
import { PassThrough } from "node:stream"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { State } from "../../../src/state/State.js"
import { statePathsFor } from "../../../src/state/StatePaths.js"
import { makePluginDeps } from "../../../src/plugin/PluginDeps.js"
import { makePluginEntry } from "../../../src/plugin/PluginEntry.js"
import { PluginRuntime } from "../../../src/plugin/PluginRuntime.js"
import type { OutboundContext } from "../../../src/plugin/SdkTypes.js"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { makeTempDir } from "../../support/actorHarness.js"
import { hostCall } from "../../support/pluginEmulator.js"
import { fakeApi, fakeGatewayContext, hostConfig, recordingBridge } from "../../support/plugin.js"

describe("redaction over a scripted run", () => {
  it.live("no bot token or context token appears in anything logged during login, inbound, reply and send", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 300, autoConfirmQr: true })
      const dir = yield* makeTempDir("ocw-redaction-")
      const lines: Array<string> = []
      const bridge = recordingBridge()
      const deps = makePluginDeps({
        runtime: new PluginRuntime({
          state: State.layerAt(dir),
          channelTurns: bridge.layer,
          minimumLogLevel: LogLevel.Debug
        }),
        statePaths: () => statePathsFor(dir),
        terminal: { input: new PassThrough(), output: new PassThrough() }
      })
      yield* Effect.addFinalizer(() => Effect.promise(() => deps.runtime.dispose()))
      const entry = makePluginEntry(deps)
      const cfg = hostConfig({ baseUrl: emulator.baseUrl })
      const api = fakeApi("full", { version: "2026.9.6", config: cfg, logLines: lines })
      entry.register(api.api)
      const plugin = entry.plugin

      // 1. QR login in the terminal flow
      yield* hostCall(() =>
        plugin.auth!.login!({
          cfg,
          accountId: null,
          runtime: { log: (...args: Array<unknown>) => void lines.push(`runtime.log ${args.join(" ")}`), error: () => {}, exit: () => {} }
        })
      )
      const [bot] = yield* emulator.bots
      expect(bot).toBeDefined()
      const accountId = normalizeAccountId(bot!.botId)
      expect(plugin.config.listAccountIds(cfg)).toEqual([accountId])

      // 2. the account runs; an inbound message gets a reply
      const fake = fakeGatewayContext(accountId, cfg, { logLines: lines })
      const started = yield* Effect.fork(hostCall(() => plugin.gateway!.startAccount!(fake.ctx)))
      yield* waitUntil("the account to run", Effect.sync(() => fake.statuses.some((s) => s.statusState === "running")))
      const inbound = yield* emulator.injectInbound({ botId: bot!.botId, kind: "text", text: "secret-free hello" })
      yield* waitUntil("the inbound turn", Effect.sync(() => bridge.turns.length === 1))

      // 3. a proactive send through the running actor
      yield* hostCall(() =>
        plugin.outbound!.sendText!({ cfg, to: bot!.ownerUserId, text: "proactive", accountId } as OutboundContext)
      )
      const sent = yield* emulator.sent(bot!.botId)
      expect(sent.map((s) => s.text)).toEqual(["pong: secret-free hello", "proactive"])

      fake.abort.abort()
      yield* Fiber.join(started)

      const secrets = [bot!.token, inbound.contextToken!, ...sent.map((s) => s.contextToken!)]
      expect(secrets.every((s) => typeof s === "string" && s.length > 0)).toBe(true)
      // the run did log (so the grep below is not vacuous)
      expect(lines.length).toBeGreaterThan(5)
      expect(lines.some((l) => l.includes(accountId))).toBe(true)
      const everything = lines.join("\n")
      if (process.env["OCW_SHOW_LOGS"] === "1") console.log(everything)
      for (const secret of secrets) expect(everything).not.toContain(secret)
    }).pipe(Effect.scoped), 60_000)
})
