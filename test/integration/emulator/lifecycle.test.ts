import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { attempt, baseInfo, botHeaders, eventually } from "../../support/emulatorRawClient.js"

describe("emulator lifecycle", () => {
  it.live("closing the scope releases a held long-poll and a hanging request, and stops listening", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const emulator = yield* Scope.extend(makeEmulator({ longPollMs: 60_000 }), scope)
      const bot = yield* emulator.addBot()
      yield* emulator.setFault({ endpoint: "getconfig", fault: { kind: "hang" } })
      const poll = yield* Effect.fork(
        attempt(`${emulator.baseUrl}ilink/bot/getupdates`, {
          method: "POST",
          headers: botHeaders(bot.token),
          body: JSON.stringify({ get_updates_buf: "", base_info: baseInfo })
        })
      )
      const hanging = yield* Effect.fork(
        attempt(`${emulator.baseUrl}ilink/bot/getconfig`, {
          method: "POST",
          headers: botHeaders(bot.token),
          body: JSON.stringify({ ilink_user_id: bot.ownerUserId, base_info: baseInfo })
        })
      )
      yield* eventually(Effect.map(emulator.requests(), (r) => (r.length === 2 ? true : undefined)))
      yield* Scope.close(scope, Exit.void)
      // both requests end (the server closed their sockets) instead of waiting 60 s
      expect(yield* Fiber.join(poll)).toHaveProperty("failed")
      expect(yield* Fiber.join(hanging)).toHaveProperty("failed")
      const after = yield* attempt(`${emulator.baseUrl}ilink/bot/getupdates`, { method: "POST", body: "{}" })
      expect(after).toHaveProperty("failed")
    }))

  it.scopedLive("serves on a fixed port when asked", () =>
    Effect.gen(function*() {
      const probe = yield* Effect.scoped(Effect.map(makeEmulator(), (e) => e.port))
      const emulator = yield* makeEmulator({ port: probe })
      expect(emulator.baseUrl).toBe(`http://127.0.0.1:${probe}/`)
      expect(emulator.cdnBaseUrl).toBe(`http://127.0.0.1:${probe}/c2c`)
      expect(emulator.adminUrl).toBe(`http://127.0.0.1:${probe}/admin`)
    }))
})
