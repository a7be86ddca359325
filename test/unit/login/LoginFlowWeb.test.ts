/**
 * Web login (gateway.loginWithQrStart / loginWithQrWait) over the LoginFlow registry, in virtual time,
 * with a scripted iLink and an in-memory store. QR pictures come from a stub renderer that names the URL.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { LoginFlowSettings, makeLoginFlow } from "../../../src/login/LoginFlow.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import type { StoredAccount, StoredAccountUpdate } from "../../../src/state/StoredFiles.js"
import type { QrCodeResponse, QrStatusResponse } from "../../../src/wire/Api.js"
import { ILinkHttpStatusError, type ILinkQrCallError } from "../../../src/wire/ILinkError.js"
import { stubQrPictures, stubQrRenderer } from "../../support/qrRenderer.js"

const QR_BASE = "http://127.0.0.1:9"

const makeHarness = (statusScript: ReadonlyArray<QrStatusResponse>, qrFails = false) => {
  const log: Array<string> = []
  const statuses = [...statusScript]
  let qrCount = 0
  const accounts = new Map<string, StoredAccount>()
  const at = (line: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => log.push(`${now / 1000}s ${line}`)))
  const api = ILinkApi.layerTest({
    getBotQrCode: () =>
      Effect.zipRight(
        at("get_bot_qrcode"),
        Effect.suspend((): Effect.Effect<QrCodeResponse, ILinkQrCallError> =>
          qrFails
            ? Effect.fail(
              new ILinkHttpStatusError({ endpoint: "ilink/bot/get_bot_qrcode", reachedServer: "yes", status: 500, bodySnippet: "" })
            )
            : Effect.sync(() => {
              qrCount += 1
              return { qrcode: `qr-${qrCount}`, qrcode_img_content: `https://qr.example/img?code=qr-${qrCount}` }
            })
        )
      ),
    getQrCodeStatus: (_baseUrl, request) =>
      Effect.zipRight(
        at(`status ${request.qrcode}`),
        Effect.sync(() => statuses.shift() ?? { status: "wait" as const })
      )
  })
  const store = AccountStore.make({
    list: () => Effect.sync(() => [...accounts.keys()]),
    load: (id: string) => Effect.sync(() => Option.fromNullable(accounts.get(id))),
    save: (id: string, update: StoredAccountUpdate) =>
      Effect.zipRight(at(`saveAccount ${id}`), Effect.sync(() => void accounts.set(id, update))),
    register: (id: string) => at(`registerAccount ${id}`),
    unregister: (id: string) => at(`unregisterAccount ${id}`),
    remove: (id: string) => at(`removeAccount ${id}`)
  })
  const cursors = CursorStore.make({
    load: () => Effect.succeed(""),
    save: (id: string) => at(`saveCursor ${id}`)
  })
  const services = Layer.mergeAll(api, Layer.succeed(AccountStore, store), Layer.succeed(CursorStore, cursors), stubQrRenderer)
  /** The LoginFlow of this harness, outside any gateway (no Supervisor). */
  const flow = makeLoginFlow(Option.none()).pipe(Effect.provide(services))
  return { log, flow, accounts }
}

const confirmed: QrStatusResponse = {
  status: "confirmed",
  bot_token: Redacted.make("tok"),
  ilink_bot_id: "abc@im.bot",
  ilink_user_id: "u1@im.wechat"
}

const withSettings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, LoginFlowSettings, { qrBaseUrl: QR_BASE })

describe("LoginFlow web login", () => {
  it.scoped("start shows the QR's data URL; wait reports the connected account", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([{ status: "scaned" }, confirmed])
      const flow = yield* h.flow
      const started = yield* flow.start({ accountId: "my-session" })
      expect(started.sessionKey).toBe("my-session")
      expect(started.qrDataUrl).toBe(stubQrPictures("https://qr.example/img?code=qr-1").dataUrl)
      const waiting = yield* Effect.fork(flow.wait({ sessionKey: "my-session" }))
      yield* TestClock.adjust(Duration.seconds(5))
      const result = yield* Fiber.join(waiting)
      expect(result).toEqual({
        connected: true,
        message: "Connected this OpenClaw to WeChat (account abc-im-bot).",
        accountId: "abc-im-bot"
      })
      expect(h.log).toEqual([
        "0s get_bot_qrcode",
        "0s status qr-1",
        "1s status qr-1",
        "1s saveAccount abc-im-bot",
        "1s registerAccount abc-im-bot",
        "1s saveCursor abc-im-bot"
      ])
      // the finished login is forgotten
      expect((yield* flow.wait({ sessionKey: "my-session" })).message).toMatch(/No login is in progress/)
    })))

  it.scoped("start reuses a fresh pending login unless forced; forcing cancels the old one", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([])
      const flow = yield* h.flow
      const first = yield* flow.start({ accountId: "k" })
      yield* TestClock.adjust(Duration.seconds(2))
      const again = yield* flow.start({ accountId: "k" })
      expect(again.qrDataUrl).toBe(first.qrDataUrl)
      expect(again.message).toMatch(/already shown/)
      expect(h.log.filter((line) => line.includes("get_bot_qrcode"))).toHaveLength(1)

      const oldWaiter = yield* Effect.fork(flow.wait({ sessionKey: "k" }))
      yield* TestClock.adjust(Duration.millis(100))
      const forced = yield* flow.start({ accountId: "k", force: true })
      expect(forced.qrDataUrl).not.toBe(first.qrDataUrl)
      expect(forced.qrDataUrl).toBe(stubQrPictures("https://qr.example/img?code=qr-2").dataUrl)
      expect(yield* Fiber.join(oldWaiter)).toEqual({ connected: false, message: "Login cancelled." })
      // only the new QR is polled from now on
      const before = h.log.length
      yield* TestClock.adjust(Duration.seconds(3))
      expect(h.log.slice(before).every((line) => line.endsWith("status qr-2"))).toBe(true)
      expect(h.log.slice(before)).toHaveLength(3)
    })))

  it.scoped("wait without a pending login says to start one", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([])
      const flow = yield* h.flow
      expect(yield* flow.wait({ accountId: "nobody" })).toEqual({
        connected: false,
        message: "No login is in progress; start one first."
      })
    })))

  it.scoped("without an account id the session key is random and wait finds the login by it", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([confirmed])
      const flow = yield* h.flow
      const a = yield* flow.start({})
      expect(a.sessionKey).toMatch(/^[0-9a-f-]{36}$/)
      const result = yield* flow.wait({ sessionKey: a.sessionKey })
      expect(result.connected).toBe(true)
    })))

  it.scoped("a verify-code request ends a web login with advice to log in from a terminal", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([{ status: "need_verifycode" }])
      const flow = yield* h.flow
      yield* flow.start({ accountId: "k" })
      const result = yield* flow.wait({ sessionKey: "k" })
      expect(result.connected).toBe(false)
      expect(result.message).toMatch(/openclaw channels login --channel openclaw-weixin/)
      expect(h.accounts.size).toBe(0)
    })))

  it.scoped("a wait that times out keeps the login; a later wait gets its result", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([{ status: "wait" }, { status: "wait" }, { status: "wait" }, confirmed])
      const flow = yield* h.flow
      yield* flow.start({ accountId: "k" })
      const short = yield* Effect.fork(flow.wait({ sessionKey: "k", timeoutMs: 1_000 }))
      yield* TestClock.adjust(Duration.seconds(1))
      expect((yield* Fiber.join(short)).message).toMatch(/Still waiting/)
      const long = yield* Effect.fork(flow.wait({ sessionKey: "k" }))
      yield* TestClock.adjust(Duration.seconds(5))
      expect((yield* Fiber.join(long)).connected).toBe(true)
    })))

  it.scoped("a login whose QR is five minutes old is expired and stops polling", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([])
      const flow = yield* h.flow
      yield* flow.start({ accountId: "k" })
      yield* TestClock.adjust(Duration.minutes(5))
      expect(yield* flow.wait({ sessionKey: "k" })).toEqual({
        connected: false,
        message: "The QR code has expired; start a new login."
      })
      const before = h.log.length
      yield* TestClock.adjust(Duration.seconds(10))
      expect(h.log.length).toBe(before)
    })))

  it.scoped("start reports a QR fetch failure without a data URL", () =>
    withSettings(Effect.gen(function*() {
      const h = makeHarness([], true)
      const flow = yield* h.flow
      const started = yield* flow.start({ accountId: "k" })
      expect(started.qrDataUrl).toBeUndefined()
      expect(started.message).toMatch(/^Could not start the login\. Login failed: could not get a QR code/)
      expect((yield* flow.wait({ sessionKey: "k" })).message).toMatch(/No login is in progress/)
    })))
})
