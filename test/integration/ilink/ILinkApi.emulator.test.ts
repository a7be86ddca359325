/**
 * The real client (node:http) against the sandbox emulator over HTTP on 127.0.0.1: every endpoint, every
 * fault plan, and the emulator's request validation (PROTOCOL §1.3/§1.4/§1.8) must record no violation.
 * Real time is used; client timeouts are shortened so hangs end quickly, and nothing waits on a fixed sleep.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Redacted } from "effect"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../../../src/ilink/ILinkConnection.js"
import { ILinkTimeouts } from "../../../src/ilink/ILinkSettings.js"
import { callOf, expectLeft, failureWith, run, shortTimeouts } from "../../support/ILinkApiWorld.js"

describe("ILinkApi against the emulator (real HTTP on 127.0.0.1)", () => {
  it.live("round-trips every endpoint with no protocol violation", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.api.notifyStart(w.conn)
        const injected = yield* w.emulator.injectInbound({ botId: w.botId, fromUserId: w.userId, kind: "text", text: "hi" })
        const batch = yield* w.api.getUpdates(w.conn, { get_updates_buf: "" })
        const message = batch.msgs?.[0]
        expect(message?.message_id).toBe(injected.messageId)
        expect(message?.context_token).toBe(injected.contextToken)
        expect(batch.get_updates_buf).not.toBe("")

        const config = yield* w.api.getConfig(w.conn, {
          ilink_user_id: w.userId,
          ...(injected.contextToken === undefined ? {} : { context_token: injected.contextToken })
        })
        yield* w.api.sendTyping(w.conn, { ilink_user_id: w.userId, typing_ticket: config.typing_ticket ?? "", status: 1 })
        const sent = yield* w.api.sendMessage(w.conn, {
          msg: {
            from_user_id: "",
            to_user_id: w.userId,
            client_id: "openclaw-weixin:1700000000000-deadbeef",
            message_type: 2,
            message_state: 2,
            item_list: [{ type: 1, text_item: { text: "hello" } }],
            ...(injected.contextToken === undefined ? {} : { context_token: injected.contextToken })
          }
        })
        expect(sent.ret ?? 0).toBe(0)
        expect(sent.message_id).toMatch(/^\d+$/)
        const upload = yield* callOf(w, "getuploadurl")
        expect(upload).toMatchObject({ upload_param: expect.any(String) })
        yield* w.api.notifyStop(w.conn)

        const qr = yield* w.api.getBotQrCode(w.emulator.baseUrl, { local_token_list: [Redacted.make("not-a-known-token")] })
        yield* w.emulator.qr.scan(qr.qrcode, { userId: w.userId })
        const scanned = yield* w.api.getQrCodeStatus(w.emulator.baseUrl, { qrcode: qr.qrcode })
        expect(scanned.status).toBe("scaned")
        yield* w.emulator.qr.confirm(qr.qrcode, { userId: w.userId })
        const confirmed = yield* w.api.getQrCodeStatus(w.emulator.baseUrl, { qrcode: qr.qrcode })
        expect(confirmed.status).toBe("confirmed")
        expect(confirmed.ilink_bot_id).toMatch(/@im\.bot$/)
        expect(confirmed.bot_token === undefined ? "" : Redacted.value(confirmed.bot_token)).not.toBe("")
        expect(yield* w.emulator.notifications(w.botId)).toHaveLength(2)
      })
    ))

  it.live("an idle long-poll answered empty by the server keeps the cursor semantics", () =>
    run((w) =>
      Effect.gen(function*() {
        const batch = yield* w.api.getUpdates(w.conn, { get_updates_buf: "" })
        expect(batch.msgs ?? []).toEqual([])
      })
    ))

  it.live("a hanging getupdates ends at the client timeout as an empty poll with the same cursor", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.setFault({ endpoint: "getupdates", fault: { kind: "hang" }, times: 1 })
        const batch = yield* w.api.getUpdates(w.conn, { get_updates_buf: "cursor-x", timeoutMs: 400 })
        expect(batch).toEqual({ ret: 0, msgs: [], get_updates_buf: "cursor-x" })
      })
    ))

  it.live("a delay shorter than the timeout is just a slow success", () =>
    run((w) =>
      Effect.gen(function*() {
        for (const endpoint of ["sendmessage", "getconfig", "notifystart"] as const) {
          yield* w.emulator.setFault({ endpoint, fault: { kind: "delay", ms: 200 }, times: 1 })
        }
        for (const endpoint of ["notifystart", "getconfig", "sendmessage"] as const) {
          const [took] = yield* Effect.timed(callOf(w, endpoint))
          expect([endpoint, Duration.toMillis(took) >= 190]).toEqual([endpoint, true])
        }
        expect(yield* w.emulator.faults).toEqual([])
      })
    ))

  // every other fault on every endpoint: ILinkApi.faultMatrix.test.ts

  it.live("ret/errcode faults: getupdates −14 either way is session expiry, other values are API errors", () =>
    run((w) =>
      Effect.gen(function*() {
        for (const via of ["ret", "errcode"] as const) {
          const error = expectLeft(yield* failureWith(w, "getupdates", { kind: "session_expired", via }))
          expect(error._tag).toBe("AuthExpired")
        }
        expect(expectLeft(yield* failureWith(w, "getupdates", { kind: "ret", ret: -1, errmsg: "busy" }))).toMatchObject({
          _tag: "ILinkApiError",
          ret: -1,
          errmsg: "busy"
        })
        expect(expectLeft(yield* failureWith(w, "sendmessage", { kind: "session_expired" }))).toMatchObject({
          _tag: "ILinkApiError",
          ret: -14
        })
        expect(expectLeft(yield* failureWith(w, "sendmessage", { kind: "rate_limited" }))).toMatchObject({
          _tag: "ILinkApiError",
          ret: -2,
          errmsg: "rate limited"
        })
        for (const endpoint of ["getconfig", "getuploadurl", "notifystart", "notifystop"] as const) {
          expect(expectLeft(yield* failureWith(w, endpoint, { kind: "ret", ret: -4 }))).toMatchObject({
            _tag: "ILinkApiError",
            ret: -4
          })
        }
      })
    ))

  it.live("sendmessage accepted without message_id is a success without an id (the caller reports unconfirmed)", () =>
    run((w) =>
      Effect.gen(function*() {
        const injected = yield* w.emulator.injectInbound({ botId: w.botId, fromUserId: w.userId, kind: "text", text: "hi" })
        yield* w.emulator.setFault({ endpoint: "sendmessage", fault: { kind: "no_message_id" }, times: 1 })
        const sent = yield* w.api.sendMessage(w.conn, {
          msg: {
            from_user_id: "",
            to_user_id: w.userId,
            client_id: "openclaw-weixin:1700000000000-0badf00d",
            message_type: 2,
            message_state: 2,
            item_list: [{ type: 1, text_item: { text: "hello" } }],
            ...(injected.contextToken === undefined ? {} : { context_token: injected.contextToken })
          }
        })
        expect(sent).toEqual({ ret: 0 })
      })
    ))

  it.live("an expired session answers −14 on getupdates until a new login", () =>
    run((w) =>
      Effect.gen(function*() {
        yield* w.emulator.expireSession(w.botId, "errcode")
        const error = expectLeft(yield* Effect.either(callOf(w, "getupdates")))
        expect(error._tag).toBe("AuthExpired")
        expect(error.message).toContain("openclaw channels login --channel openclaw-weixin")
      })
    ))

  it.live("a refused connection is ILinkTransportError kind refused that never reached the server", () =>
    Effect.gen(function*() {
      const api = yield* ILinkApi
      // port 1 on loopback has no listener on a test machine
      const conn = yield* ILinkConnection.make({ baseUrl: "http://127.0.0.1:1/", accountId: "acc-x" })
      const error = expectLeft(yield* Effect.either(api.notifyStart(conn)))
      expect(error).toMatchObject({ _tag: "ILinkTransportError", kind: "refused", reachedServer: "no", accountId: "acc-x" })
    }).pipe(Effect.provideService(ILinkTimeouts, shortTimeouts), Effect.provide(ILinkApi.Default)))
})
