/**
 * QR login with the real iLink client (node:http) and the real state stores on a temp dir, against the sandbox
 * emulator over HTTP on 127.0.0.1. Real time with short deadlines; the tests wait on conditions (the
 * emulator's QR state), never on fixed sleeps. Each asserts the requests the emulator saw and that it
 * recorded no protocol violation.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type Emulator, makeEmulator, type RequestRecord } from "../../../sandbox/emulator/Emulator.js"
import { HostQrRenderer } from "../../../src/host/HostQrRenderer.js"
import { type LoginEvent, LoginOutcome } from "../../../src/login/LoginEvents.js"
import { makeLoginFlow } from "../../../src/login/LoginFlow.js"
import { LoginPrompt } from "../../../src/login/LoginPrompt.js"
import type { LoginSupervisor } from "../../../src/login/SaveLogin.js"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import { State } from "../../../src/state/State.js"

/** One line per QR request: endpoint, qrcode and verify code, with consecutive repeats (held polls) merged. */
const qrTrace = (requests: ReadonlyArray<RequestRecord>, qrNames: Map<string, string>, merge = true) => {
  const name = (qrcode: string | undefined) => qrNames.get(qrcode ?? "") ?? `?${qrcode}`
  const lines = requests
    .filter((r) => r.endpoint === "get_bot_qrcode" || r.endpoint === "get_qrcode_status")
    .map((r) =>
      r.endpoint === "get_bot_qrcode"
        ? "get_bot_qrcode"
        : `status ${name(r.query["qrcode"])}${r.query["verify_code"] === undefined ? "" : ` code=${r.query["verify_code"]}`}`
    )
  return merge ? lines.filter((line, i) => i === 0 || line !== lines[i - 1]) : lines
}

/** Polls `condition` every 20 ms until it holds; fails after `withinMs`. */
const waitUntil = (what: string, condition: Effect.Effect<boolean>, withinMs = 5_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + withinMs
    while (!(yield* condition)) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting until ${what}`)
      yield* Effect.sleep(Duration.millis(20))
    }
  })

const qrStatusIs = (emulator: Emulator, status: string) =>
  emulator.qr.info().pipe(Effect.map((info) => info.status === status), Effect.orElseSucceed(() => false))

const qrIssued = (emulator: Emulator, count: number) =>
  Effect.map(emulator.requests("get_bot_qrcode"), (r) => r.length >= count)

const tempStateDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocw-login-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** Emulator + real client + real store + a flow whose listener and prompt record what they were told. */
const world = (emulatorOptions: Parameters<typeof makeEmulator>[0], answers: Array<string> = []) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator(emulatorOptions)
    const dir = yield* tempStateDir
    const told: Array<string> = []
    const asked: Array<boolean> = []
    const events: Array<LoginEvent> = []
    const context = yield* Layer.build(Layer.mergeAll(ILinkApi.Default, State.layerAt(dir), HostQrRenderer.layer))
    const store = yield* Effect.provide(AccountStore, context)
    const cursors = yield* Effect.provide(CursorStore, context)
    const flow = yield* makeLoginFlow(
      Option.some({
        loginSaved: (id: string, resetCursor: Effect.Effect<void> = Effect.void) =>
          Effect.zipRight(Effect.sync(() => void told.push(`loginSaved ${id}`)), Effect.as(resetCursor, "restarted" as const)),
        forget: (id: string) => Effect.sync(() => void told.push(`accountRemoved ${id}`))
      } satisfies LoginSupervisor)
    ).pipe(Effect.provide(context))
    const prompt = Layer.succeed(LoginPrompt, {
      askVerifyCode: ({ retry }) =>
        Effect.sync(() => {
          asked.push(retry)
          return answers.shift() ?? ""
        })
    })
    const login = (timeoutMs = 10_000) =>
      flow.login({
        qrBaseUrl: emulator.baseUrl,
        pollIntervalMs: 100,
        timeoutMs,
        onEvent: (event) => Effect.sync(() => void events.push(event))
      }).pipe(Effect.provide(prompt))
    const qrNames = Effect.map(emulator.requests("get_bot_qrcode"), () => {
      const names = new Map<string, string>()
      for (const event of events) {
        if (event._tag === "QrShown") {
          names.set(new URL(event.url).searchParams.get("qrcode") ?? "", `qr${event.qrNumber}`)
        }
      }
      return names
    })
    const trace = Effect.zipWith(emulator.requests(), qrNames, (requests, names) => qrTrace(requests, names))
    const fullTrace = Effect.zipWith(emulator.requests(), qrNames, (requests, names) => qrTrace(requests, names, false))
    return { emulator, dir, store, cursors, told, asked, events, login, trace, fullTrace }
  })

describe("LoginFlow against the emulator", () => {
  it.live("logs in with an auto-confirming phone: one QR, two status polls, credentials on disk", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ autoConfirmQr: true, qrStatusHoldMs: 300 })
      const outcome = yield* w.login()
      expect(outcome._tag).toBe("Connected")
      if (outcome._tag !== "Connected") return
      expect(yield* w.fullTrace).toEqual(["get_bot_qrcode", "status qr1", "status qr1"])
      expect((yield* w.emulator.requests()).map((r) => r.endpoint)).toEqual([
        "get_bot_qrcode",
        "get_qrcode_status",
        "get_qrcode_status"
      ])
      const bots = yield* w.emulator.bots
      expect(outcome.rawBotId).toBe(bots[0]?.botId)
      expect(outcome.baseUrl).toBe(w.emulator.baseUrl)
      expect(yield* w.store.list()).toEqual([outcome.accountId])
      const stored = Option.getOrThrow(yield* w.store.load(outcome.accountId))
      expect(stored.token === undefined ? undefined : Redacted.value(stored.token)).toBe(bots[0]?.token)
      expect(stored.userId).toBe(outcome.userId)
      expect(yield* w.cursors.load(outcome.accountId)).toBe("")
      const file = Path.join(w.dir, "openclaw-weixin", "accounts", `${outcome.accountId}.json`)
      expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
      expect(w.told).toEqual([`loginSaved ${outcome.accountId}`])
      yield* w.emulator.expectNoViolations
    })))

  it.live("asks for the verify code, re-asks after a mismatch, then connects when the phone confirms", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ qrStatusHoldMs: 300 }, ["1111", "4321"])
      const fiber = yield* Effect.fork(w.login())
      yield* waitUntil("the QR is issued", qrIssued(w.emulator, 1))
      yield* w.emulator.qr.requireVerifyCode(undefined, "4321")
      yield* waitUntil("the right code is accepted", qrStatusIs(w.emulator, "scaned"))
      yield* w.emulator.qr.confirm(undefined, { userId: "phone-user@im.wechat" })
      const outcome = yield* Fiber.join(fiber)
      expect(outcome._tag).toBe("Connected")
      expect(w.asked).toEqual([false, true])
      expect(yield* w.trace).toEqual([
        "get_bot_qrcode",
        "status qr1",
        "status qr1 code=1111",
        "status qr1 code=4321",
        "status qr1"
      ])
      yield* w.emulator.expectNoViolations
    })))

  it.live("refreshes an expired QR, then ends as AlreadyConnected without saving anything", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ qrStatusHoldMs: 300 })
      const fiber = yield* Effect.fork(w.login())
      yield* waitUntil("the QR is issued", qrIssued(w.emulator, 1))
      yield* w.emulator.qr.expire()
      yield* waitUntil("a second QR is issued", qrIssued(w.emulator, 2))
      yield* w.emulator.qr.alreadyBound()
      expect(yield* Fiber.join(fiber)).toEqual(LoginOutcome.AlreadyConnected())
      expect(yield* w.trace).toEqual(["get_bot_qrcode", "status qr1", "get_bot_qrcode", "status qr2"])
      expect(yield* w.store.list()).toEqual([])
      expect(w.told).toEqual([])
      yield* w.emulator.expectNoViolations
    })))

  it.live("a QR that expires every time ends as Failed after three QR codes, saving nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ qrStatusHoldMs: 300 })
      const fiber = yield* Effect.fork(w.login())
      for (const n of [1, 2, 3]) {
        yield* waitUntil(`QR ${n} is issued`, qrIssued(w.emulator, n))
        yield* w.emulator.qr.expire()
      }
      const outcome = yield* Fiber.join(fiber)
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/all 3 QR codes/)
      expect(yield* w.trace).toEqual(["get_bot_qrcode", "status qr1", "get_bot_qrcode", "status qr2", "get_bot_qrcode", "status qr3"])
      expect(Fs.existsSync(Path.join(w.dir, "openclaw-weixin"))).toBe(false)
      expect(w.told).toEqual([])
      yield* w.emulator.expectNoViolations
    })))

  it.live("a wrong verify code that gets blocked drops the code and polls a fresh QR without it", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ qrStatusHoldMs: 300 }, ["1111"])
      const fiber = yield* Effect.fork(w.login())
      yield* waitUntil("the QR is issued", qrIssued(w.emulator, 1))
      yield* w.emulator.qr.requireVerifyCode(undefined, "4321", 1)
      yield* waitUntil("a second QR is issued", qrIssued(w.emulator, 2))
      yield* w.emulator.qr.alreadyBound()
      expect(yield* Fiber.join(fiber)).toEqual(LoginOutcome.AlreadyConnected())
      expect(w.asked).toEqual([false])
      expect(yield* w.trace).toEqual(["get_bot_qrcode", "status qr1", "status qr1 code=1111", "get_bot_qrcode", "status qr2"])
      expect(yield* w.store.list()).toEqual([])
      yield* w.emulator.expectNoViolations
    })))

  it.live("a confirmation without a bot token fails and leaves the state dir empty", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ qrStatusHoldMs: 300 })
      const fiber = yield* Effect.fork(w.login())
      yield* waitUntil("the QR is issued", qrIssued(w.emulator, 1))
      yield* w.emulator.qr.confirm(undefined, { omit: "bot_token" })
      const outcome = yield* Fiber.join(fiber)
      expect(outcome._tag).toBe("Failed")
      expect(Fs.existsSync(Path.join(w.dir, "openclaw-weixin", "accounts"))).toBe(false)
      expect(yield* w.trace).toEqual(["get_bot_qrcode", "status qr1"])
      yield* w.emulator.expectNoViolations
    })))

  it.live("a second login of the same WeChat user sends the stored token and replaces the older account", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ qrStatusHoldMs: 300 })
      const first = yield* Effect.fork(w.login())
      yield* waitUntil("the first QR is issued", qrIssued(w.emulator, 1))
      yield* w.emulator.qr.confirm(undefined, { userId: "same-user@im.wechat" })
      const one = yield* Fiber.join(first)
      if (one._tag !== "Connected") return expect.unreachable(`first login ended as ${one._tag}`)
      const oneToken = (yield* w.emulator.bots).find((b) => b.botId === one.rawBotId)?.token

      const second = yield* Effect.fork(w.login())
      yield* waitUntil("the second QR is issued", qrIssued(w.emulator, 2))
      yield* w.emulator.qr.confirm(undefined, { userId: "same-user@im.wechat" })
      const two = yield* Fiber.join(second)
      if (two._tag !== "Connected") return expect.unreachable(`second login ended as ${two._tag}`)

      const qrRequests = yield* w.emulator.requests("get_bot_qrcode")
      expect(qrRequests.map((r) => JSON.parse(r.body).local_token_list)).toEqual([[], [oneToken]])
      expect(yield* w.store.list()).toEqual([two.accountId])
      expect(Option.isNone(yield* w.store.load(one.accountId))).toBe(true)
      expect(w.told).toEqual([
        `loginSaved ${one.accountId}`,
        `accountRemoved ${one.accountId}`,
        `loginSaved ${two.accountId}`
      ])
      yield* w.emulator.expectNoViolations
    })))

  it.live("times out at a short deadline when nobody scans", () =>
    Effect.scoped(Effect.gen(function*() {
      const w = yield* world({ qrStatusHoldMs: 300 })
      const started = Date.now()
      expect(yield* w.login(1_500)).toEqual(LoginOutcome.TimedOut())
      expect(Date.now() - started).toBeLessThan(4_000)
      const trace = yield* w.trace
      expect(trace).toEqual(["get_bot_qrcode", "status qr1"])
      yield* w.emulator.expectNoViolations
    })))
})
