/**
 * Secrets never reach the host's logs: a scripted run (QR login, the account running with an inbound
 * message and its reply, a proactive send) against the emulator, with every log sink captured at Debug
 * level, then grepped for the bot token and every context token the run saw.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect, LogLevel } from "effect"
import { PassThrough } from "node:stream"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import { State } from "../../../src/state/State.js"
import { statePathsFor } from "../../../src/state/StatePaths.js"
import { makePluginDeps, type PluginDeps } from "../../../src/plugin/PluginDeps.js"
import { makePluginEntry } from "../../../src/plugin/PluginEntry.js"
import { PluginRuntime } from "../../../src/plugin/PluginRuntime.js"
import type { OutboundContext } from "../../../src/plugin/SdkTypes.js"
import { type RunningEmulator, startEmulator, track } from "../../support/pluginEmulator.js"
import { fakeApi, fakeGatewayContext, hostConfig, recordingBridge, tempDir, waitFor } from "../../support/plugin.js"

let running: RunningEmulator | undefined
let deps: PluginDeps | undefined
afterEach(async () => {
  await deps?.runtime.dispose()
  await running?.close()
})

describe("redaction over a scripted run", () => {
  it.live("no bot token or context token appears in anything logged during login, inbound, reply and send", () =>
    Effect.promise(async () => {
      running = await startEmulator({ autoConfirmQr: true })
      const { emulator, run } = running
      const dir = tempDir("ocw-redaction-")
      const lines: Array<string> = []
      const bridge = recordingBridge()
      deps = makePluginDeps({
        runtime: new PluginRuntime({
          state: State.layerAt(dir),
          inboundBridge: bridge.layer,
          minimumLogLevel: LogLevel.Debug
        }),
        statePaths: () => statePathsFor(dir),
        terminal: { input: new PassThrough(), output: new PassThrough() }
      })
      const entry = makePluginEntry(deps)
      const cfg = hostConfig({ baseUrl: emulator.baseUrl })
      const api = fakeApi("full", { version: "2026.9.6", config: cfg, logLines: lines })
      entry.register(api.api)
      const plugin = entry.plugin

      // 1. QR login in the terminal flow
      await plugin.auth!.login!({
        cfg,
        accountId: null,
        runtime: { log: (...args: Array<unknown>) => void lines.push(`runtime.log ${args.join(" ")}`), error: () => {}, exit: () => {} }
      })
      const [bot] = await run(emulator.bots)
      expect(bot).toBeDefined()
      const accountId = normalizeAccountId(bot!.botId)
      expect(plugin.config.listAccountIds(cfg)).toEqual([accountId])

      // 2. the account runs; an inbound message gets a reply
      const fake = fakeGatewayContext(accountId, cfg, { logLines: lines })
      const started = track(plugin.gateway!.startAccount!(fake.ctx))
      await waitFor(() => fake.statuses.some((s) => s.statusState === "running"), "the account to run")
      const inbound = await run(emulator.injectInbound({ botId: bot!.botId, kind: "text", text: "secret-free hello" }))
      await waitFor(() => bridge.turns.length === 1, "the inbound turn")

      // 3. a proactive send through the running actor
      await plugin.outbound!.sendText!({ cfg, to: bot!.ownerUserId, text: "proactive", accountId } as OutboundContext)
      const sent = await run(emulator.sent(bot!.botId))
      expect(sent.map((s) => s.text)).toEqual(["pong: secret-free hello", "proactive"])

      fake.abort.abort()
      await started.done

      const secrets = [bot!.token, inbound.contextToken!, ...sent.map((s) => s.contextToken!)]
      expect(secrets.every((s) => typeof s === "string" && s.length > 0)).toBe(true)
      // the run did log (so the grep below is not vacuous)
      expect(lines.length).toBeGreaterThan(5)
      expect(lines.some((l) => l.includes(accountId))).toBe(true)
      const everything = lines.join("\n")
      if (process.env["OCW_SHOW_LOGS"] === "1") console.log(everything)
      for (const secret of secrets) expect(everything).not.toContain(secret)
    }), 60_000)
})
