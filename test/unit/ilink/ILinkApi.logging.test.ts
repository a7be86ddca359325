import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Logger, LogLevel, Redacted } from "effect"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { recordingClient } from "../../support/ILinkApiTestkit.js"

describe("ILinkApi logging", () => {
  it.effect("logs each request at debug with endpoint and account, and never a token, context token or QR id", () => {
    const lines: Array<string> = []
    const capture = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ annotations, logLevel, message }) => {
        lines.push(`${logLevel.label} ${JSON.stringify(message)} ${JSON.stringify(Object.fromEntries(annotations))}`)
      })
    )
    const http = recordingClient((request) => ({
      body: request.url.includes("get_qrcode_status")
        ? `{"status":"confirmed","bot_token":"SECRET-BOT","ilink_bot_id":"b@im.bot"}`
        : `{"ret":0,"msgs":[{"context_token":"SECRET-CTX"}]}`
    }))
    const conn = Either.getOrThrow(
      ILinkConnection.make({ baseUrl: "https://ilink.example.test", token: Redacted.make("SECRET-TOKEN"), accountId: "acc-1" })
    )
    return Effect.gen(function*() {
      const api = yield* ILinkApi
      yield* api.getUpdates(conn, { get_updates_buf: "" })
      yield* api.sendMessage(conn, { msg: { to_user_id: "u", context_token: "SECRET-CTX" } })
      yield* api.getQrCodeStatus("https://ilink.example.test", { qrcode: "SECRET-QR" })
      const debugLines = lines.filter((line) => line.startsWith("DEBUG"))
      expect(debugLines.some((line) => line.includes("POST https://ilink.example.test/ilink/bot/getupdates") && line.includes("acc-1"))).toBe(true)
      expect(debugLines.some((line) => line.includes("ilink/bot/sendmessage"))).toBe(true)
      expect(lines.join("\n")).not.toContain("SECRET")
    }).pipe(Effect.provide(http.layer), Effect.provide(capture), Logger.withMinimumLogLevel(LogLevel.Debug))
  })
})
