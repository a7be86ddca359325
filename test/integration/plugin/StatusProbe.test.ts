/** The status probe sends the account's routeTag and botAgent, like the account's own requests. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { hostConfig } from "../../support/plugin.js"
import { hostCall, pluginWithBot } from "../../support/pluginEmulator.js"

describe("status.probeAccount settings", () => {
  it.live("carries the account's SKRouteTag and the section's bot agent", () =>
    Effect.gen(function*() {
      const { bot, emulator, plugin } = yield* pluginWithBot({ dirPrefix: "ocw-probe-tag-", withUserId: true })
      const cfg = hostConfig({ botAgent: "ProbeAgent/1.0", routeTag: "section", accounts: { [bot.botId]: { routeTag: 77 } } })
      const account = plugin.config.resolveAccount(cfg, bot.botId)
      yield* hostCall(() => plugin.status!.probeAccount!({ account, timeoutMs: 5_000, cfg }))
      const [request] = yield* emulator.requests("getconfig")
      expect(request!.headers["skroutetag"]).toBe("77")
      expect(JSON.parse(request!.body).base_info.bot_agent).toContain("ProbeAgent/1.0")
    }).pipe(Effect.scoped), 30_000)
})

describe("status.probeAccount against a server that answers HTML", () => {
  it.live("fails with a probe.error that says what came back", () =>
    Effect.gen(function*() {
      const { bot, emulator, plugin } = yield* pluginWithBot({ dirPrefix: "ocw-probe-html-", withUserId: true })
      const account = plugin.config.resolveAccount({}, bot.botId)
      yield* emulator.setFault({ endpoint: "getconfig", fault: { kind: "html_error" }, times: 1 })
      const probe = (yield* hostCall(() => plugin.status!.probeAccount!({ account, timeoutMs: 5_000, cfg: {} }))) as {
        readonly ok: boolean
        readonly error?: string
      }
      expect(probe.ok).toBe(false)
      expect(probe.error).toMatch(/getconfig/)
      expect(probe.error).toContain("the body is not valid JSON")
      expect(probe.error).toContain("check that the base URL points at an iLink server")
    }).pipe(Effect.scoped), 30_000)
})
