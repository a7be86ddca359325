/**
 * The composition root at work: host-started accounts, logins, channel restarts and disposal, through
 * the plugin's adapters against the emulator over real HTTP on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Supervisor } from "../../../src/account/Supervisor.js"
import { normalizeAccountId } from "../../../src/domain/AccountId.js"
import type { PluginDeps } from "../../../src/plugin/PluginDeps.js"
import { emulatorPerTest, startAccountUntilRunning } from "../../support/pluginEmulator.js"
import { hostConfig, waitFor } from "../../support/plugin.js"

const perTest = emulatorPerTest()

const setup = async (options: { readonly autoConfirmQr?: boolean } = {}) => {
  const started = await perTest.startPluginWithBot({
    dirPrefix: "ocw-layer-",
    emulator: { autoConfirmQr: options.autoConfirmQr ?? false }
  })
  const cfg = hostConfig({ baseUrl: started.emulator.baseUrl })
  started.deps.latestConfig.value = cfg
  return { ...started, cfg }
}

const isRunning = (deps: PluginDeps, accountId: string) =>
  deps.runtime.run(Effect.flatMap(Supervisor, (supervisor) => supervisor.isRunning(accountId)))

describe("PluginLayer", () => {
  it.live("a channel restart (new startAccount before the old one ends) leaves one poller that serves the new start", () =>
    Effect.promise(async () => {
      const t = await setup()
      const { fake: first, started: firstRun } = await startAccountUntilRunning(
        t.plugin,
        t.accountId,
        t.cfg,
        "the first start running"
      )
      const { fake: second, started: secondRun } = await startAccountUntilRunning(
        t.plugin,
        t.accountId,
        t.cfg,
        "the second start running"
      )
      first.abort.abort()
      await firstRun.done
      await t.plugin.gateway!.stopAccount!(first.ctx)
      // neither the old start's end nor its stopAccount stopped the account the new start owns
      expect(await isRunning(t.deps, t.accountId)).toBe(true)
      await t.run(t.emulator.injectInbound({ botId: t.bot.botId, kind: "text", text: "after restart" }))
      await waitFor(() => t.bridge.turns.length === 1, "the turn after the restart")
      expect(secondRun.state.settled).toBe("pending")
      second.abort.abort()
      await secondRun.done
      expect(await isRunning(t.deps, t.accountId)).toBe(false)
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
      expect(await isRunning(t.deps, normalizeAccountId(fresh.botId))).toBe(false)
      expect(await t.run(t.emulator.requests("getupdates"))).toEqual([])
    }), 30_000)

  it.live("disposing the runtime (host unload) stops every running account with notifystop", () =>
    Effect.promise(async () => {
      const t = await setup()
      const { fake, started } = await startAccountUntilRunning(t.plugin, t.accountId, t.cfg, "the account running")
      await t.deps.runtime.dispose()
      const kinds = (await t.run(t.emulator.notifications(t.bot.botId))).map((n) => n.kind)
      expect(kinds).toEqual(["start", "stop"])
      // the host aborts the account after unloading; the pending start still ends quietly
      fake.abort.abort()
      await started.done
      expect(started.state.settled).toBe("resolved")
    }), 30_000)
})
