/**
 * QR login state machine in virtual time: a scripted iLink (QR endpoints only), an in-memory store, a
 * scripted prompt and a recording listener all write into one log, so each test asserts the exact
 * sequence of requests and side effects, with the virtual second at which each happened.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Clock,
  Deferred,
  Duration,
  Effect,
  Either,
  Fiber,
  Layer,
  Option,
  Redacted,
  TestClock
} from "effect"
import { EventEmitter } from "node:events"
import { PassThrough } from "node:stream"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { type LoginEvent, LoginOutcome } from "../../../src/login/LoginEvents.js"
import {
  LoginPrompt,
  LoginPromptError,
  terminalLoginPrompt,
  untilEvent,
  verifyCodeQuestion
} from "../../../src/login/LoginPrompt.js"
import { type QrLoginOptions, redirectedBaseUrl, runQrLogin } from "../../../src/login/QrLogin.js"
import type { LoginSupervisor } from "../../../src/login/SaveLogin.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import type { StoredAccount, StoredAccountUpdate } from "../../../src/state/StoredFiles.js"
import { StateError } from "../../../src/state/StateError.js"
import type { QrCodeResponse, QrStatusResponse } from "../../../src/wire/Api.js"
import {
  ILinkDecodeError,
  ILinkHttpStatusError,
  type ILinkQrCallError,
  ILinkTimeoutError,
  ILinkTransportError
} from "../../../src/wire/ILinkError.js"

const QR_BASE = "http://127.0.0.1:9"

type Answer<A> = Effect.Effect<A, ILinkQrCallError>

interface Harness {
  readonly log: Array<string>
  readonly events: Array<LoginEvent>
  readonly accounts: Map<string, StoredAccount>
  readonly index: Array<string>
  readonly cursors: Map<string, string>
  /** the QR endpoints of ILinkApi and the two state stores, each call logged */
  readonly services: Layer.Layer<ILinkApi | AccountStore | CursorStore>
  readonly listener: Option.Option<LoginSupervisor>
  readonly prompt: Layer.Layer<LoginPrompt>
}

interface Script {
  readonly qrCodes?: ReadonlyArray<Answer<QrCodeResponse>>
  readonly statuses?: ReadonlyArray<Answer<QrStatusResponse>>
  readonly answers?: ReadonlyArray<Effect.Effect<string, LoginPromptError>>
  readonly accounts?: ReadonlyArray<readonly [string, StoredAccount]>
  readonly failSave?: boolean
}

const qr = (n: number): Answer<QrCodeResponse> =>
  Effect.succeed({ qrcode: `qr-${n}`, qrcode_img_content: `https://qr.example/img?code=qr-${n}` })
const status = (s: QrStatusResponse["status"], extra: Omit<QrStatusResponse, "status"> = {}): Answer<QrStatusResponse> =>
  Effect.succeed({ status: s, ...extra })
const confirmed = (extra: Omit<QrStatusResponse, "status"> = {}) =>
  status("confirmed", {
    bot_token: Redacted.make("new-token"),
    ilink_bot_id: "B0F5860FDECB@im.bot",
    baseurl: "https://api.example",
    ilink_user_id: "u1@im.wechat",
    ...extra
  })
const httpError = new ILinkHttpStatusError({
  endpoint: "ilink/bot/get_qrcode_status",
  reachedServer: "yes",
  status: 502,
  bodySnippet: "bad gateway"
})
// what the real client does when the status long-poll gets no answer for 35 s
const hangsUntilClientTimeout: Answer<QrStatusResponse> = Effect.never.pipe(
  Effect.timeoutFail({
    duration: Duration.seconds(35),
    onTimeout: () =>
      new ILinkTimeoutError({ endpoint: "ilink/bot/get_qrcode_status", reachedServer: "maybe", timeoutMs: 35_000 })
  })
)

const makeHarness = (script: Script): Harness => {
  const log: Array<string> = []
  const events: Array<LoginEvent> = []
  const qrCodes = [...(script.qrCodes ?? [qr(1), qr(2), qr(3), qr(4)])]
  const statuses = [...(script.statuses ?? [])]
  const answers = [...(script.answers ?? [])]
  const accounts = new Map(script.accounts ?? [])
  const index = [...accounts.keys()]
  const cursors = new Map<string, string>()
  const at = (line: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => log.push(`${now / 1000}s ${line}`)))

  const api = ILinkApi.layerTest({
    getBotQrCode: (baseUrl, request) =>
      Effect.zipRight(
        at(`get_bot_qrcode ${baseUrl} tokens=[${request.local_token_list.map(Redacted.value).join(",")}]`),
        Effect.suspend(() => qrCodes.shift() ?? Effect.dieMessage("no more QR codes scripted"))
      ),
    getQrCodeStatus: (baseUrl, request) =>
      Effect.zipRight(
        at(`status ${baseUrl} ${request.qrcode}${request.verify_code === undefined ? "" : ` code=${request.verify_code}`}`),
        Effect.suspend(() => statuses.shift() ?? status("wait"))
      )
  })

  const store = AccountStore.make({
    list: () => Effect.sync(() => [...index]),
    load: (id: string) => Effect.sync(() => Option.fromNullable(accounts.get(id))),
    save: (id: string, update: StoredAccountUpdate) =>
      script.failSave === true
        ? Effect.fail(new StateError({ path: `/state/${id}.json`, operation: "write", message: "disk full" }))
        : Effect.zipRight(
          at(`saveAccount ${id}`),
          Effect.sync(() => {
            accounts.set(id, { ...accounts.get(id), ...update })
          })
        ),
    register: (id: string) =>
      Effect.zipRight(at(`registerAccount ${id}`), Effect.sync(() => void (index.includes(id) || index.push(id)))),
    unregister: () => Effect.dieMessage("a login never unregisters an account by itself"),
    remove: (id: string) =>
      Effect.zipRight(
        at(`removeAccount ${id}`),
        Effect.sync(() => {
          accounts.delete(id)
          index.splice(index.indexOf(id), 1)
        })
      )
  })

  const cursorStore = CursorStore.make({
    load: (id: string) => Effect.sync(() => cursors.get(id) ?? ""),
    save: (id: string, buf: string) =>
      Effect.zipRight(at(`saveCursor ${id} "${buf}"`), Effect.sync(() => void cursors.set(id, buf)))
  })
  const services = Layer.mergeAll(api, Layer.succeed(AccountStore, store), Layer.succeed(CursorStore, cursorStore))

  const listener: Option.Option<LoginSupervisor> = Option.some({
    loginSaved: (id: string, resetCursor: Effect.Effect<void> = Effect.void) =>
      Effect.zipRight(at(`loginSaved ${id}`), Effect.as(resetCursor, "restarted" as const)),
    forget: (id: string) => Effect.asVoid(at(`accountRemoved ${id}`))
  })

  const prompt = Layer.succeed(LoginPrompt, {
    askVerifyCode: (request) =>
      Effect.zipRight(
        at(`prompt retry=${request.retry}`),
        Effect.suspend(() => answers.shift() ?? Effect.dieMessage("no more answers scripted"))
      )
  })

  return { log, events, accounts, index, cursors, services, listener, prompt }
}

const renderQr = (url: string) => Effect.succeed({ terminal: `[qr ${url}]`, dataUrl: `data:test,${url}` })

/** Forks the login against the harness; virtual time stays where it is. */
const forkLogin = (h: Harness, options: QrLoginOptions = {}) =>
  runQrLogin(h.listener, { qrBaseUrl: QR_BASE, renderQr, ...options }).pipe(
    Effect.provide(Layer.merge(h.prompt, h.services)),
    Effect.fork
  )

/** Forks the login, lets virtual time run past its deadline, and returns its outcome. */
const runToEnd = (h: Harness, options: QrLoginOptions = {}) =>
  Effect.gen(function*() {
    const fiber = yield* forkLogin(h, { onEvent: (event) => Effect.sync(() => h.events.push(event)), ...options })
    yield* TestClock.adjust(Duration.millis((options.timeoutMs ?? 480_000) + 60_000))
    return yield* Fiber.join(fiber)
  })

/** Asserts the forked login is still running 1 ms before `deadlineMs`, then ends as TimedOut exactly at it. */
const expectTimedOutAt = <E>(fiber: Fiber.Fiber<LoginOutcome, E>, deadlineMs: number) =>
  Effect.gen(function*() {
    yield* TestClock.adjust(Duration.millis(deadlineMs - 1))
    expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
    yield* TestClock.adjust(Duration.millis(1))
    expect(yield* Fiber.join(fiber)).toEqual(LoginOutcome.TimedOut())
  })

/** What a login nobody scans sends in its first `seconds` seconds: the QR, then one status poll a second. */
const idlePolls = (seconds: number) => [
  `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
  ...Array.from({ length: seconds }, (_, s) => `${s}s status ${QR_BASE} qr-1`)
]

/** The first QR and its first poll: all a login that fails or stops before a second poll ever sends. */
const polledOnce = idlePolls(1)

/** The QR, its first poll answered need_verifycode, and the question: where a prompt-ending login stops. */
const askedOnFirstPoll = [...polledOnce, "0s prompt retry=false"]

/** Log lines other than requests: saves, registrations and listener calls. */
const sideEffects = (h: Harness) => h.log.filter((line) => !line.includes("get_bot_qrcode") && !line.includes("status"))

const eventTags = (h: Harness) => h.events.map((e) => (e._tag === "QrShown" ? `QrShown#${e.qrNumber}` : e._tag))

describe("LoginFlow QR state machine", () => {
  it.effect("connects after wait → scaned → confirmed, saving credentials before anything else", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [status("wait"), status("scaned"), status("scaned"), confirmed()] })
      const outcome = yield* runToEnd(h)
      expect(outcome).toEqual(LoginOutcome.Connected({
        accountId: "b0f5860fdecb-im-bot",
        rawBotId: "B0F5860FDECB@im.bot",
        userId: "u1@im.wechat",
        baseUrl: "https://api.example"
      }))
      expect(h.log).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        `1s status ${QR_BASE} qr-1`,
        `2s status ${QR_BASE} qr-1`,
        `3s status ${QR_BASE} qr-1`,
        "3s saveAccount b0f5860fdecb-im-bot",
        "3s registerAccount b0f5860fdecb-im-bot",
        // the listener stops the old run, then resets the cursor, then starts the new one
        "3s loginSaved b0f5860fdecb-im-bot",
        `3s saveCursor b0f5860fdecb-im-bot ""`
      ])
      // "scanned" is announced once per QR code
      expect(eventTags(h)).toEqual(["QrShown#1", "Scanned"])
      const saved = h.accounts.get("b0f5860fdecb-im-bot")
      expect(saved?.token === undefined ? undefined : Redacted.value(saved.token)).toBe("new-token")
      expect(saved?.userId).toBe("u1@im.wechat")
      expect(saved?.baseUrl).toBe("https://api.example")
      expect(h.index).toEqual(["b0f5860fdecb-im-bot"])
    }))

  it.effect("shows the QR as a picture, a data URL and its link", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [status("binded_redirect")] })
      yield* runToEnd(h)
      expect(h.events[0]).toEqual({
        _tag: "QrShown",
        url: "https://qr.example/img?code=qr-1",
        terminal: "[qr https://qr.example/img?code=qr-1]",
        dataUrl: "data:test,https://qr.example/img?code=qr-1",
        qrNumber: 1,
        maxQrCodes: 3
      })
    }))

  it.effect("sends up to 10 distinct non-empty stored tokens, newest account first", () =>
    Effect.gen(function*() {
      const accounts = Array.from({ length: 13 }, (_, i) =>
        [
          `acct-${i}`,
          i === 12 ? {} : { token: Redacted.make(i === 11 ? "  " : i === 10 ? "tok-9" : `tok-${i}`) }
        ] as const)
      const h = makeHarness({ accounts, statuses: [status("binded_redirect")] })
      yield* runToEnd(h)
      // acct-12 has no token, acct-11 a blank one, acct-10 repeats tok-9
      expect(h.log[0]).toBe(
        `0s get_bot_qrcode ${QR_BASE} tokens=[tok-9,tok-8,tok-7,tok-6,tok-5,tok-4,tok-3,tok-2,tok-1,tok-0]`
      )
    }))

  it.effect("refreshes an expired QR at most twice, then fails without saving", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [status("expired"), status("expired"), status("wait"), status("expired")] })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag).toBe("Failed")
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/expired, and all 3 QR codes/)
      expect(h.log).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `1s status ${QR_BASE} qr-2`,
        `1s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `2s status ${QR_BASE} qr-3`,
        `3s status ${QR_BASE} qr-3`
      ])
      expect(eventTags(h)).toEqual(["QrShown#1", "QrExpired", "QrShown#2", "QrExpired", "QrShown#3", "QrExpired"])
      expect(h.accounts.size).toBe(0)
    }))

  it.effect("connects on the third QR after two expiries, announcing 'scanned' again for the new QR", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [status("scaned"), status("expired"), status("expired"), status("scaned"), confirmed()]
      })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag).toBe("Connected")
      expect(eventTags(h)).toEqual([
        "QrShown#1",
        "Scanned",
        "QrExpired",
        "QrShown#2",
        "QrExpired",
        "QrShown#3",
        "Scanned"
      ])
      expect(h.log.filter((line) => line.includes("get_bot_qrcode"))).toHaveLength(3)
    }))

  it.effect("blocked verify codes and expiries share one refresh budget", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [status("verify_code_blocked"), status("expired"), status("verify_code_blocked")]
      })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/wrong numbers were entered, and all 3 QR codes/)
      expect(h.log.filter((line) => line.includes("get_bot_qrcode"))).toHaveLength(3)
      expect(h.log).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `1s status ${QR_BASE} qr-2`,
        `1s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `2s status ${QR_BASE} qr-3`
      ])
      expect(eventTags(h)).toEqual([
        "QrShown#1",
        "VerifyCodeBlocked",
        "QrShown#2",
        "QrExpired",
        "QrShown#3",
        "VerifyCodeBlocked"
      ])
      expect(h.accounts.size).toBe(0)
    }))

  it.effect("asks for the verify code, sends it at once, re-asks on a mismatch and stops sending it once scanned", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [
          status("scaned"),
          status("need_verifycode"),
          status("need_verifycode"),
          status("wait"),
          status("scaned"),
          status("wait"),
          confirmed()
        ],
        answers: [Effect.succeed(" 1234 "), Effect.succeed(""), Effect.succeed("5678")]
      })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag).toBe("Connected")
      expect(h.log.slice(0, 12)).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        `1s status ${QR_BASE} qr-1`,
        "1s prompt retry=false",
        `1s status ${QR_BASE} qr-1 code=1234`,
        // an empty answer is asked again, with the same question
        "1s prompt retry=true",
        "1s prompt retry=true",
        `1s status ${QR_BASE} qr-1 code=5678`,
        `2s status ${QR_BASE} qr-1 code=5678`,
        `3s status ${QR_BASE} qr-1`,
        `4s status ${QR_BASE} qr-1`,
        "4s saveAccount b0f5860fdecb-im-bot"
      ])
    }))

  it.effect("ends as Cancelled when the person closes the verify-code prompt", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [status("need_verifycode")],
        answers: [Effect.fail(new LoginPromptError({ reason: "closed", message: "input ended" }))]
      })
      expect(yield* runToEnd(h)).toEqual(LoginOutcome.Cancelled())
      expect(h.accounts.size).toBe(0)
      expect(h.log).toEqual(askedOnFirstPoll)
    }))

  it.effect("fails with a clear reason when nobody can be asked for the verify code", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [status("need_verifycode")],
        answers: [Effect.fail(new LoginPromptError({ reason: "unavailable", message: "log in from a terminal" }))]
      })
      expect(yield* runToEnd(h)).toEqual(LoginOutcome.Failed({ reason: "log in from a terminal" }))
      expect(h.log).toEqual(askedOnFirstPoll)
    }))

  it.effect("fails when the server keeps refusing the verify code (blocked on every QR)", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [
          status("need_verifycode"),
          status("verify_code_blocked"),
          status("need_verifycode"),
          status("verify_code_blocked"),
          status("need_verifycode"),
          status("verify_code_blocked")
        ],
        answers: [Effect.succeed("1"), Effect.succeed("2"), Effect.succeed("3")]
      })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag).toBe("Failed")
      // a blocked code is dropped: the next QR is polled without it, and the question starts fresh
      expect(h.log.filter((line) => line.includes("prompt"))).toEqual([
        "0s prompt retry=false",
        "1s prompt retry=false",
        "2s prompt retry=false"
      ])
      expect(h.log).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        "0s prompt retry=false",
        `0s status ${QR_BASE} qr-1 code=1`,
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `1s status ${QR_BASE} qr-2`,
        "1s prompt retry=false",
        `1s status ${QR_BASE} qr-2 code=2`,
        `1s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `2s status ${QR_BASE} qr-3`,
        "2s prompt retry=false",
        `2s status ${QR_BASE} qr-3 code=3`
      ])
      expect(h.accounts.size).toBe(0)
    }))

  it.effect("moves polling to the redirect host (scheme of the QR base URL) and keeps it across refreshes", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [
          status("scaned_but_redirect", { redirect_host: "127.0.0.1:7777" }),
          status("scaned"),
          status("expired"),
          confirmed()
        ]
      })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag).toBe("Connected")
      expect(h.log.slice(0, 6)).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        "1s status http://127.0.0.1:7777 qr-1",
        "2s status http://127.0.0.1:7777 qr-1",
        // the QR itself still comes from the configured host
        `2s get_bot_qrcode ${QR_BASE} tokens=[]`,
        "3s status http://127.0.0.1:7777 qr-2"
      ])
      expect(eventTags(h)).toContain("Redirected")
    }))

  it.effect("ignores a redirect without a usable host and keeps polling the same host", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        statuses: [
          status("scaned_but_redirect", {}),
          status("scaned_but_redirect", { redirect_host: "evil.example/path?x" }),
          confirmed()
        ]
      })
      expect((yield* runToEnd(h))._tag).toBe("Connected")
      expect(h.log.filter((line) => line.includes("status")).every((line) => line.includes(QR_BASE))).toBe(true)
      expect(eventTags(h)).not.toContain("Redirected")
    }))

  it.effect("ends as AlreadyConnected on binded_redirect and saves nothing", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [status("scaned"), status("binded_redirect")] })
      expect(yield* runToEnd(h)).toEqual(LoginOutcome.AlreadyConnected())
      expect(h.log).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        `1s status ${QR_BASE} qr-1`
      ])
    }))

  it.effect("treats an unknown status like wait", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [status({ _tag: "UnknownQrStatus", raw: "teleported" }), confirmed()] })
      expect((yield* runToEnd(h))._tag).toBe("Connected")
      expect(h.log.slice(0, 3)).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        `1s status ${QR_BASE} qr-1`
      ])
    }))

  it.effect("treats a failing, hanging or undecodable status answer like wait", () =>
    Effect.gen(function*() {
      // a malformed QR status (no status field, numbers for strings) reaches the flow as a decode error
      const malformed = new ILinkDecodeError({
        endpoint: "ilink/bot/get_qrcode_status",
        reachedServer: "yes",
        problem: "status is missing",
        bodySnippet: "{\"qrcode\":5}"
      })
      const transport = new ILinkTransportError({
        endpoint: "ilink/bot/get_qrcode_status",
        reachedServer: "no",
        kind: "refused",
        detail: "ECONNREFUSED"
      })
      const h = makeHarness({
        statuses: [
          Effect.fail(httpError),
          Effect.fail(transport),
          Effect.fail(malformed),
          hangsUntilClientTimeout,
          status("scaned"),
          confirmed()
        ]
      })
      expect((yield* runToEnd(h))._tag).toBe("Connected")
      expect(h.log.filter((line) => line.includes("status"))).toEqual([
        `0s status ${QR_BASE} qr-1`,
        `1s status ${QR_BASE} qr-1`,
        `2s status ${QR_BASE} qr-1`,
        `3s status ${QR_BASE} qr-1`,
        // 35 s client timeout, then the usual pause
        `39s status ${QR_BASE} qr-1`,
        `40s status ${QR_BASE} qr-1`
      ])
    }))

  it.effect("times out at the deadline when nobody scans", () =>
    Effect.gen(function*() {
      const h = makeHarness({})
      expect(yield* runToEnd(h, { timeoutMs: 5_000 })).toEqual(LoginOutcome.TimedOut())
      expect(h.log).toEqual(idlePolls(5))
    }))

  it.effect("without a timeout the login gives up after 480 s (PROTOCOL §3.2), not a moment earlier", () =>
    Effect.gen(function*() {
      const h = makeHarness({})
      yield* expectTimedOutAt(yield* forkLogin(h), 480_000)
      // one poll a second, the last one started at 479 s
      expect(h.log.at(-1)).toBe(`479s status ${QR_BASE} qr-1`)
    }))

  it.effect("a status request that never answers is cut at the deadline", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [Effect.never] })
      yield* expectTimedOutAt(yield* forkLogin(h, { timeoutMs: 20_000 }), 20_000)
      expect(h.log).toEqual(polledOnce)
    }))

  it.effect("a verify-code question left unanswered is cut at the deadline", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [status("need_verifycode")], answers: [Effect.never] })
      expect(yield* runToEnd(h, { timeoutMs: 10_000 })).toEqual(LoginOutcome.TimedOut())
      expect(h.log).toEqual(askedOnFirstPoll)
    }))

  it.effect("ends as Cancelled when cancelled between polls, and makes no further request", () =>
    Effect.gen(function*() {
      const h = makeHarness({})
      const cancel = yield* Deferred.make<void>()
      const fiber = yield* forkLogin(h, { cancel: Deferred.await(cancel) })
      yield* TestClock.adjust(Duration.millis(2_500))
      yield* Deferred.succeed(cancel, undefined)
      expect(yield* Fiber.join(fiber)).toEqual(LoginOutcome.Cancelled())
      // 30 s later still nothing more than what happened before the cancel
      yield* TestClock.adjust(Duration.seconds(30))
      expect(h.log).toEqual(idlePolls(3))
    }))

  it.effect("Ctrl-C (SIGINT) during the wait ends as Cancelled, makes no further request and leaves no listener", () =>
    Effect.gen(function*() {
      const h = makeHarness({})
      const terminal = new EventEmitter()
      const fiber = yield* forkLogin(h, { cancel: untilEvent(terminal, "SIGINT") })
      yield* TestClock.adjust(Duration.millis(1_500))
      expect(terminal.listenerCount("SIGINT")).toBe(1)
      terminal.emit("SIGINT")
      expect(yield* Fiber.join(fiber)).toEqual(LoginOutcome.Cancelled())
      yield* TestClock.adjust(Duration.seconds(30))
      expect(h.log).toEqual(idlePolls(2))
      expect(terminal.listenerCount("SIGINT")).toBe(0)
    }))

  it.effect("a login that ends by itself removes its Ctrl-C listener", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [confirmed()] })
      const terminal = new EventEmitter()
      const outcome = yield* runToEnd(h, { cancel: untilEvent(terminal, "SIGINT") })
      expect(outcome._tag).toBe("Connected")
      expect(terminal.listenerCount("SIGINT")).toBe(0)
    }))

  it.effect("interrupting the login stops all requests and saves nothing", () =>
    Effect.gen(function*() {
      const h = makeHarness({})
      const fiber = yield* forkLogin(h)
      yield* TestClock.adjust(Duration.millis(1_500))
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust(Duration.seconds(30))
      expect(h.accounts.size).toBe(0)
      expect(h.log).toEqual(idlePolls(2))
    }))

  it.effect("confirmed without ilink_bot_id fails and saves nothing", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [confirmed({ ilink_bot_id: "  " })] })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/ilink_bot_id/)
      expect(h.log).toEqual(polledOnce)
      expect(sideEffects(h)).toEqual([])
    }))

  it.effect("confirmed without bot_token fails and saves nothing", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [status("confirmed", { ilink_bot_id: "abc@im.bot", ilink_user_id: "u1" })] })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/without a bot token/)
      expect(h.log).toEqual(polledOnce)
      expect(sideEffects(h)).toEqual([])
    }))

  it.effect("removes every other account of the same WeChat user, stopping each before deleting it", () =>
    Effect.gen(function*() {
      const h = makeHarness({
        accounts: [
          ["old-a-im-bot", { token: Redacted.make("a"), userId: "u1@im.wechat" }],
          ["other-b-im-bot", { token: Redacted.make("b"), userId: "u2@im.wechat" }],
          ["b0f5860fdecb-im-bot", { token: Redacted.make("stale"), userId: "u1@im.wechat" }],
          ["old-c-im-bot", { token: Redacted.make("c"), userId: " u1@im.wechat " }]
        ],
        statuses: [confirmed()]
      })
      expect((yield* runToEnd(h))._tag).toBe("Connected")
      expect(h.log.slice(2)).toEqual([
        "0s saveAccount b0f5860fdecb-im-bot",
        "0s registerAccount b0f5860fdecb-im-bot",
        "0s accountRemoved old-a-im-bot",
        "0s removeAccount old-a-im-bot",
        "0s accountRemoved old-c-im-bot",
        "0s removeAccount old-c-im-bot",
        "0s loginSaved b0f5860fdecb-im-bot",
        `0s saveCursor b0f5860fdecb-im-bot ""`
      ])
      expect(h.index).toEqual(["other-b-im-bot", "b0f5860fdecb-im-bot"])
      const relogged = h.accounts.get("b0f5860fdecb-im-bot")
      expect(relogged?.token === undefined ? undefined : Redacted.value(relogged.token)).toBe("new-token")
    }))

  it.effect("without a listener (the CLI process) the cursor is reset directly", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [confirmed({ ilink_user_id: "" })] })
      const outcome = yield* runQrLogin(Option.none(), { qrBaseUrl: QR_BASE, renderQr }).pipe(
        Effect.provide(Layer.merge(h.prompt, h.services))
      )
      expect(outcome._tag === "Connected" && outcome.userId).toBeUndefined()
      expect(h.log.slice(2)).toEqual([
        "0s saveAccount b0f5860fdecb-im-bot",
        "0s registerAccount b0f5860fdecb-im-bot",
        `0s saveCursor b0f5860fdecb-im-bot ""`
      ])
    }))

  it.effect("a listener that fails still leaves the login saved, with a fresh cursor", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [confirmed()] })
      const broken = Option.some({
        loginSaved: () => Effect.dieMessage("gateway gone"),
        forget: () => Effect.void
      })
      const outcome = yield* runQrLogin(broken, { qrBaseUrl: QR_BASE, renderQr }).pipe(
        Effect.provide(Layer.merge(h.prompt, h.services))
      )
      expect(outcome._tag).toBe("Connected")
      expect(h.cursors.get("b0f5860fdecb-im-bot")).toBe("")
      expect(h.index).toEqual(["b0f5860fdecb-im-bot"])
    }))

  it.effect("fails without registering or notifying when the credentials cannot be saved", () =>
    Effect.gen(function*() {
      const h = makeHarness({ statuses: [confirmed()], failSave: true })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/could not save the credentials.*disk full/)
      expect(h.log).toEqual(polledOnce)
      expect(sideEffects(h)).toEqual([])
    }))

  it.effect("fails without polling when no QR code can be fetched", () =>
    Effect.gen(function*() {
      const h = makeHarness({ qrCodes: [Effect.fail(httpError)] })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/could not get a QR code/)
      expect(h.log).toEqual([`0s get_bot_qrcode ${QR_BASE} tokens=[]`])
    }))

  it.effect("fails when a QR refresh cannot be fetched", () =>
    Effect.gen(function*() {
      const h = makeHarness({ qrCodes: [qr(1), Effect.fail(httpError)], statuses: [status("expired")] })
      const outcome = yield* runToEnd(h)
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/could not get a QR code/)
      expect(h.log).toEqual([
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`,
        `0s status ${QR_BASE} qr-1`,
        `0s get_bot_qrcode ${QR_BASE} tokens=[]`
      ])
    }))

  it.effect("rejects a QR base URL that is not an absolute http(s) URL before any request", () =>
    Effect.gen(function*() {
      const h = makeHarness({})
      const outcome = yield* runToEnd(h, { qrBaseUrl: "ftp://example" })
      expect(outcome._tag === "Failed" && outcome.reason).toMatch(/baseUrl/)
      expect(h.log).toEqual([])
    }))
})

describe("redirectedBaseUrl", () => {
  it("follows the scheme of the QR base URL and accepts host:port", () => {
    expect(redirectedBaseUrl("https://ilinkai.weixin.qq.com", "sh.ilinkai.weixin.qq.com")).toEqual(
      Option.some("https://sh.ilinkai.weixin.qq.com")
    )
    expect(redirectedBaseUrl("http://127.0.0.1:4000/", "127.0.0.1:4001")).toEqual(Option.some("http://127.0.0.1:4001"))
  })

  it("refuses anything but a bare host[:port]", () => {
    for (const bad of ["", "a b", "host/path", "user@host", "https://host", "host:port", "host?x=1"]) {
      expect(redirectedBaseUrl("https://x.example", bad)).toEqual(Option.none())
    }
  })
})

describe("terminalLoginPrompt", () => {
  const ask = (retry: boolean, input: PassThrough, output: PassThrough) =>
    Effect.flatMap(LoginPrompt, (prompt) => prompt.askVerifyCode({ retry })).pipe(
      Effect.provide(terminalLoginPrompt(input, output))
    )

  it.live("prints the question and returns the typed line", () =>
    Effect.gen(function*() {
      const input = new PassThrough()
      const output = new PassThrough()
      const printed: Array<string> = []
      output.on("data", (chunk: Buffer) => printed.push(chunk.toString()))
      const answer = yield* Effect.fork(ask(true, input, output))
      input.write("4321\n")
      expect(yield* Fiber.join(answer)).toBe("4321")
      expect(printed.join("")).toBe(verifyCodeQuestion({ retry: true }))
      expect(printed.join("")).toMatch(/did not match/)
    }))

  it.live("fails as closed when the input ends before a line is typed", () =>
    Effect.gen(function*() {
      const input = new PassThrough()
      const answer = yield* Effect.fork(Effect.either(ask(false, input, new PassThrough())))
      input.end()
      const result = yield* Fiber.join(answer)
      expect(Either.isLeft(result) && result.left.reason).toBe("closed")
    }))
})
