import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit } from "effect"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { ILinkApiError } from "../../../src/wire/ILinkError.js"

const conn = Either.getOrThrow(ILinkConnection.make({ baseUrl: "https://ilink.example.test", accountId: "acc-1" }))

describe("ILinkApi.layerTest", () => {
  it.effect("answers from the handlers it was given, typed errors included", () =>
    Effect.gen(function*() {
      const api = yield* ILinkApi
      const config = yield* api.getConfig(conn, { ilink_user_id: "u" })
      expect(config).toEqual({ ret: 0, typing_ticket: "t" })
      const refused = yield* Effect.flip(api.sendMessage(conn, { msg: { to_user_id: "u" } }))
      expect(refused).toMatchObject({ _tag: "ILinkApiError", ret: -2 })
    }).pipe(Effect.provide(ILinkApi.layerTest({
      getConfig: () => Effect.succeed({ ret: 0, typing_ticket: "t" }),
      sendMessage: () => Effect.fail(new ILinkApiError({ endpoint: "ilink/bot/sendmessage", reachedServer: "yes", ret: -2 }))
    }))))

  it.effect("an endpoint without a handler dies naming itself", () =>
    Effect.gen(function*() {
      const api = yield* ILinkApi
      const exit = yield* Effect.exit(api.notifyStop(conn))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toContain("no handler for notifyStop")
    }).pipe(Effect.provide(ILinkApi.layerTest({}))))
})
