/**
 * The composition root at work: host-started accounts, logins, channel restarts and disposal, through
 * the plugin's adapters against the emulator over real HTTP on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Supervisor } from "../../src/actors/Supervisor.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import { makeWeixinChannelPlugin } from "../../src/plugin/ChannelPlugin.js"
import type { PluginDeps } from "../../src/plugin/PluginDeps.js"
import { type RunningEmulator, startEmulator, track } from "../plugin/emulatorSupport.js"
import { fakeGatewayContext, hostConfig, recordingBridge, seedAccount, tempDir, testDeps, waitFor } from "../plugin/support.js"

let running: RunningEmulator | undefined
let deps: PluginDeps | undefined
afterEach(async () => {
  await deps?.runtime.dispose()
  await running?.close()
  running = undefined
  deps = undefined
})

const setup = async (options: { readonly autoConfirmQr?: boolean } = {}) => {
  running = await startEmulator({ autoConfirmQr: options.autoConfirmQr ?? false })
  const { emulator, run } = running
  const bot = await run(emulator.addBot())
  const dir = tempDir("ocw-layer-")
  await seedAccount(dir, { id: bot.botId, token: bot.token, baseUrl: emulator.baseUrl })
  const bridge = recordingBridge()
  deps = testDeps(dir, { bridge: bridge.layer })
  const cfg = hostConfig({ baseUrl: emulator.baseUrl })
  deps.latestConfig.value = cfg
  return { emulator, run, bot, accountId: normalizeAccountId(bot.botId), bridge, cfg, plugin: makeWeixinChannelPlugin(deps) }
}

const isRunning = (accountId: string) =>
  deps!.runtime.run(Effect.flatMap(Supervisor, (supervisor) => supervisor.isRunning(accountId)))

describe("PluginLayer", () => {
  it.live("a channel restart (new startAccount before the old one ends) leaves one poller that serves the new start", () =>
    Effect.promise(async () => {
      const t = await setup()
      const first = fakeGatewayContext(t.accountId, t.cfg)
      const firstRun = track(t.plugin.gateway!.startAccount!(first.ctx))
      await waitFor(() => first.statuses.some((s) => s.statusState === "running"), "the first start running")
      const second = fakeGatewayContext(t.accountId, t.cfg)
      const secondRun = track(t.plugin.gateway!.startAccount!(second.ctx))
      await waitFor(() => second.statuses.some((s) => s.statusState === "running"), "the second start running")
      first.abort.abort()
      await firstRun.done
      await t.plugin.gateway!.stopAccount!(first.ctx)
      // neither the old start's end nor its stopAccount stopped the account the new start owns
      expect(await isRunning(t.accountId)).toBe(true)
      await t.run(t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "after restart" }))
      await waitFor(() => t.bridge.turns.length === 1, "the turn after the restart")
      expect(secondRun.state.settled).toBe("pending")
      second.abort.abort()
      await secondRun.done
      expect(await isRunning(t.accountId)).toBe(false)
      const kinds = (await t.run(t.emulator.notifications(t.bot.botId))).map((n) => n.kind)
      expect(kinds).toEqual(["start", "stop", "start", "stop"])
      expect(await t.run(t.emulator.violations())).toEqual([])
    }), 30_000)

  it.live("a login saved in the gateway for an account the host has not started does not start polling it", () =>
    Effect.promise(async () => {
      const t = await setup({ autoConfirmQr: true })
      const start = await t.plugin.gateway!.loginWithQrStart!({ accountId: "web" })
      const wait = await t.plugin.gateway!.loginWithQrWait!({ sessionKey: start.sessionKey!, timeoutMs: 10_000 })
      expect(wait.connected).toBe(true)
      const bots = await t.run(t.emulator.bots)
      const fresh = bots.find((b) => b.botId !== t.bot.botId)!
      expect(await isRunning(normalizeAccountId(fresh.botId))).toBe(false)
      expect(await t.run(t.emulator.requests("getupdates"))).toEqual([])
    }), 30_000)

  it.live("disposing the runtime (host unload) stops every running account with notifystop", () =>
    Effect.promise(async () => {
      const t = await setup()
      const fake = fakeGatewayContext(t.accountId, t.cfg)
      const started = track(t.plugin.gateway!.startAccount!(fake.ctx))
      await waitFor(() => fake.statuses.some((s) => s.statusState === "running"), "the account running")
      await deps!.runtime.dispose()
      const kinds = (await t.run(t.emulator.notifications(t.bot.botId))).map((n) => n.kind)
      expect(kinds).toEqual(["start", "stop"])
      // the host aborts the account after unloading; the pending start still ends quietly
      fake.abort.abort()
      await started.done
      expect(started.state.settled).toBe("resolved")
    }), 30_000)
})
