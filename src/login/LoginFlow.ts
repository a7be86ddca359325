/**
 * LoginFlow: the QR login of ILINK §3.1–§3.3 (and the field behaviour of Appendix C) as one Effect, used by
 * the CLI (`auth.login`, through `login`) and by web login (`gateway.loginWithQrStart/Wait`, through
 * `start` / `wait`, a small registry of pending logins keyed by session key).
 *
 * The flow: fetch a QR (sending up to 10 stored tokens, newest account first), show it, then poll its
 * status about once a second until an ending. Decisions where the reference leaves room:
 * - The QR base URL is configurable (`channels.openclaw-weixin.baseUrl`, default the fixed host).
 * - `scaned_but_redirect` moves polling to `<scheme>//<redirect_host>` where the scheme is the one of the
 *   configured QR base URL (https in production, http against the local emulator), and `redirect_host`
 *   may carry a port. A value that is not a plain host[:port] is ignored with a warning.
 * - A failing or hanging status request counts as `wait`; every wait is bounded by the overall deadline.
 * - Cancellation is cooperative (`cancel` option) so a login that is already saving its credentials
 *   finishes saving and reports Connected; plain fiber interruption also works and never leaves a
 *   half-written account, because the saving step is uninterruptible.
 * - On `confirmed` the credentials are saved atomically first; then the account is indexed, other
 *   accounts of the same WeChat user removed (§3.3 step 4), and the Supervisor told (`loginSaved`), which
 *   resets the cursor between stopping the old run and starting the new one (in a process without a
 *   Supervisor, or one that does not run the account, the cursor is reset directly).
 */
import {
  Clock,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Either,
  FiberMap,
  HashMap,
  Layer,
  Option,
  Redacted,
  Ref,
  Schema
} from "effect"
import { randomUUID } from "node:crypto"
import * as Readline from "node:readline"
import { normalizeAccountId } from "../domain/AccountId.js"
import { Supervisor } from "../account/Supervisor.js"
import { renderTerminal, toDataUrl } from "./QrRender.js"
import { DEFAULT_ILINK_BASE_URL, normalizeBaseUrl } from "../ilink/ILinkConnection.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import { AccountStore } from "../state/AccountStore.js"
import { CursorStore } from "../state/CursorStore.js"
import {
  isUnknownQrStatus,
  type QrCodeRequest,
  type QrCodeResponse,
  type QrStatusRequest,
  type QrStatusResponse
} from "../wire/Api.js"
import type { ILinkError } from "../wire/ILinkError.js"

export const DEFAULT_LOGIN_TIMEOUT_MS = 480_000
export const MIN_LOGIN_TIMEOUT_MS = 1_000
export const QR_POLL_INTERVAL_MS = 1_000
/** one QR plus at most two refreshes, shared between expiry and blocked-code events (ILINK §3.2) */
export const MAX_QR_CODES = 3
export const MAX_LOCAL_TOKENS = 10
/** a web login whose QR was shown this long ago is stale: not reused, purged (ILINK §3.1) */
export const WEB_LOGIN_FRESH_MS = 5 * 60_000

const LOGIN_COMMAND = "openclaw channels login --channel openclaw-weixin"

// ---------------------------------------------------------------------------------------------------------
// ports

/** The two unauthenticated QR endpoints of ILinkApi (ILINK §1.8.7, §1.8.8). */
export interface QrLoginApi {
  readonly getBotQrCode: (baseUrl: string, request: QrCodeRequest) => Effect.Effect<QrCodeResponse, ILinkError>
  readonly getQrCodeStatus: (
    baseUrl: string,
    request: QrStatusRequest
  ) => Effect.Effect<QrStatusResponse, ILinkError>
}

/** What a login touches of the state: AccountStore, and CursorStore for the fresh cursor. */
export interface LoginStore {
  readonly listAccountIds: AccountStore["list"]
  readonly loadAccount: AccountStore["load"]
  readonly saveAccount: AccountStore["save"]
  readonly registerAccount: AccountStore["register"]
  readonly removeAccount: AccountStore["remove"]
  readonly saveCursor: CursorStore["save"]
}

/** The LoginStore over the state stores. */
export const loginStore: Effect.Effect<LoginStore, never, AccountStore | CursorStore> = Effect.gen(function*() {
  const accounts = yield* AccountStore
  const cursors = yield* CursorStore
  return {
    listAccountIds: accounts.list,
    loadAccount: accounts.load,
    saveAccount: accounts.save,
    registerAccount: accounts.register,
    removeAccount: accounts.remove,
    saveCursor: cursors.save
  }
})

/** What a login tells the Supervisor of its process (the gateway has one; the CLI process has none). */
export type LoginSupervisor = Pick<Supervisor, "loginSaved" | "forget">

export class LoginPromptError extends Schema.TaggedError<LoginPromptError>("openclaw-weixin/LoginPromptError")(
  "LoginPromptError",
  {
    /** `unavailable`: this login cannot ask anyone (web); `closed`: the person's input ended */
    reason: Schema.Literal("unavailable", "closed"),
    message: Schema.String
  }
) {}

export interface VerifyCodeRequest {
  /** true when the server rejected the previously entered number */
  readonly retry: boolean
}

/** Asks the person logging in for the number their phone shows (`need_verifycode`). */
export class LoginPrompt extends Context.Tag("openclaw-weixin/LoginPrompt")<LoginPrompt, {
  readonly askVerifyCode: (request: VerifyCodeRequest) => Effect.Effect<string, LoginPromptError>
}>() {}

export const verifyCodeQuestion = (request: VerifyCodeRequest): string =>
  request.retry
    ? "That number did not match. Type the number shown in WeChat on your phone again: "
    : "WeChat on your phone shows a number. Type it here to continue: "

/** For logins nobody can answer questions in (web login): a verify-code request ends the login. */
export const LoginPromptUnavailable: Layer.Layer<LoginPrompt> = Layer.succeed(LoginPrompt, {
  askVerifyCode: () =>
    Effect.fail(
      new LoginPromptError({
        reason: "unavailable",
        message: `the server asks for the number shown on the phone, which this login cannot ask for; ` +
          `log in from a terminal with \`${LOGIN_COMMAND}\``
      })
    )
})

/** A prompt on a terminal (the CLI: stdin/stdout). Interrupting the question closes it. */
export const terminalLoginPrompt = (
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream
): Layer.Layer<LoginPrompt> =>
  Layer.succeed(LoginPrompt, {
    askVerifyCode: (request) =>
      Effect.async<string, LoginPromptError>((resume) => {
        const rl = Readline.createInterface({ input, output, terminal: false })
        let answered = false
        rl.on("close", () => {
          if (!answered) {
            resume(Effect.fail(new LoginPromptError({ reason: "closed", message: "input ended before a number was typed" })))
          }
        })
        rl.question(verifyCodeQuestion(request), (answer) => {
          answered = true
          rl.close()
          resume(Effect.succeed(answer))
        })
        return Effect.sync(() => {
          answered = true
          rl.close()
        })
      })
  })

// ---------------------------------------------------------------------------------------------------------
// events and outcomes

export type LoginEvent = Data.TaggedEnum<{
  /** a QR to show; `terminal` / `dataUrl` are undefined when rendering failed (show `url` instead) */
  QrShown: {
    readonly url: string
    readonly terminal: string | undefined
    readonly dataUrl: string | undefined
    readonly qrNumber: number
    readonly maxQrCodes: number
  }
  Scanned: {}
  Redirected: { readonly pollBaseUrl: string }
  QrExpired: { readonly qrNumber: number }
  VerifyCodeBlocked: { readonly qrNumber: number }
}>
export const LoginEvent = Data.taggedEnum<LoginEvent>()
export type QrShownEvent = Extract<LoginEvent, { _tag: "QrShown" }>

export type LoginOutcome = Data.TaggedEnum<{
  Connected: {
    /** normalized id, the key of every file of this account */
    readonly accountId: string
    /** `ilink_bot_id` as the server sent it */
    readonly rawBotId: string
    readonly userId: string | undefined
    readonly baseUrl: string
  }
  /** `binded_redirect`: this bot is already connected to this OpenClaw; nothing was changed */
  AlreadyConnected: {}
  Failed: { readonly reason: string }
  TimedOut: {}
  Cancelled: {}
}>
export const LoginOutcome = Data.taggedEnum<LoginOutcome>()

/** One line for a person, for every event. The CLI prints these; QrShown also needs its picture. */
export const describeLoginEvent = LoginEvent.$match({
  QrShown: ({ maxQrCodes, qrNumber }) =>
    qrNumber === 1
      ? "Scan this QR code with WeChat on your phone to connect:"
      : `Here is a new QR code (${qrNumber}/${maxQrCodes}); scan it with WeChat on your phone:`,
  Scanned: () => "Scanned. Confirm the login in WeChat on your phone.",
  Redirected: ({ pollBaseUrl }) => `The server moved this login to ${pollBaseUrl}; still waiting.`,
  QrExpired: () => "The QR code expired; fetching a new one.",
  VerifyCodeBlocked: () => "Too many wrong numbers for this QR code; fetching a new one."
})

export const describeLoginOutcome = LoginOutcome.$match({
  Connected: ({ accountId }) => `Connected this OpenClaw to WeChat (account ${accountId}).`,
  AlreadyConnected: () => "This WeChat bot is already connected to this OpenClaw; nothing to do.",
  Failed: ({ reason }) => `Login failed: ${reason}`,
  TimedOut: () => `The QR code was not confirmed in time; run \`${LOGIN_COMMAND}\` again.`,
  Cancelled: () => "Login cancelled."
})

/** Text to print for a QR: the picture (if it rendered) and the link as a fallback. */
export const terminalQrText = (event: QrShownEvent): string =>
  [
    describeLoginEvent(event),
    ...(event.terminal === undefined ? [] : [event.terminal]),
    "If the QR code does not show or cannot be scanned, open this link instead:",
    event.url
  ].join("\n")

/** What the CLI prints for an event: the QR with its link, or the event's line. */
export const loginEventText = (event: LoginEvent): string =>
  event._tag === "QrShown" ? terminalQrText(event) : describeLoginEvent(event)

/** Connected and AlreadyConnected end a CLI login normally (exit 0); every other outcome is an error. */
export const isSuccessfulLogin = (outcome: LoginOutcome): boolean =>
  outcome._tag === "Connected" || outcome._tag === "AlreadyConnected"

// ---------------------------------------------------------------------------------------------------------
// the flow

export interface QrLoginOptions {
  /** QR fetch and initial polling host; default https://ilinkai.weixin.qq.com */
  readonly qrBaseUrl?: string | undefined
  /** overall deadline; default 480 000 ms, at least 1 000 ms */
  readonly timeoutMs?: number | undefined
  /** pause between status polls; default 1 000 ms */
  readonly pollIntervalMs?: number | undefined
  readonly onEvent?: ((event: LoginEvent) => Effect.Effect<void>) | undefined
  /** completes when the person gives up (Ctrl-C, a newer web login): the flow ends as Cancelled */
  readonly cancel?: Effect.Effect<void> | undefined
  /** how a QR URL becomes pictures; default the `qrcode` library (QrRender) */
  readonly renderQr?: ((url: string) => Effect.Effect<RenderedQr>) | undefined
}

/**
 * Completes when `emitter` emits `event`: pass `untilEvent(process, "SIGINT")` as `cancel` so Ctrl-C ends
 * a terminal login as Cancelled. The listener is removed once the login ends, so none is left behind.
 */
export const untilEvent = (emitter: NodeJS.EventEmitter, event: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const onEvent = () => resume(Effect.void)
    emitter.once(event, onEvent)
    return Effect.sync(() => void emitter.removeListener(event, onEvent))
  })

export interface RenderedQr {
  readonly terminal: string | undefined
  readonly dataUrl: string | undefined
}

/** Both pictures of a QR; a picture that fails to render is left out (the URL is always shown). */
export const renderQrWithLibrary = (url: string): Effect.Effect<RenderedQr> =>
  Effect.gen(function*() {
    const terminal = yield* Effect.option(renderTerminal(url))
    const dataUrl = yield* Effect.option(toDataUrl(url))
    return { terminal: Option.getOrUndefined(terminal), dataUrl: Option.getOrUndefined(dataUrl) }
  })

const WAIT: QrStatusResponse = { status: "wait" }

const describeError = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

const nonBlank = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

// A bare host or host:port (IPv6 in brackets), nothing else: the value comes from the network.
const HOST_WITH_OPTIONAL_PORT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** The polling base after `scaned_but_redirect`: same scheme as the QR base URL, the given host[:port]. */
export const redirectedBaseUrl = (qrBaseUrl: string, redirectHost: string): Option.Option<string> => {
  const host = redirectHost.trim()
  if (!HOST_WITH_OPTIONAL_PORT.test(host)) return Option.none()
  try {
    const scheme = new URL(qrBaseUrl).protocol
    return Option.some(new URL(`${scheme}//${host}`).origin)
  } catch {
    return Option.none()
  }
}

type Step<A> = Either.Either<A, LoginOutcome>

/**
 * Runs one QR login to its ending. Never fails: every ending, including bad input from the server, is a
 * `LoginOutcome`. Requires a `LoginPrompt` for `need_verifycode`.
 */
export const runQrLogin = (
  api: QrLoginApi,
  store: LoginStore,
  listener: Option.Option<LoginSupervisor>,
  options: QrLoginOptions = {}
): Effect.Effect<LoginOutcome, never, LoginPrompt> =>
  Effect.gen(function*() {
    const prompt = yield* LoginPrompt
    const qrBaseUrl = (options.qrBaseUrl ?? DEFAULT_ILINK_BASE_URL).trim()
    const validBase = normalizeBaseUrl(qrBaseUrl, { endpoint: "ilink/bot/get_bot_qrcode" })
    if (Either.isLeft(validBase)) return LoginOutcome.Failed({ reason: validBase.left.message })
    const timeoutMs = Math.max(options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS, MIN_LOGIN_TIMEOUT_MS)
    const pollIntervalMs = options.pollIntervalMs ?? QR_POLL_INTERVAL_MS
    const emit = options.onEvent ?? (() => Effect.void)
    const render = options.renderQr ?? renderQrWithLibrary
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    const timeLeft = Effect.map(Clock.currentTimeMillis, (now) => deadline - now)

    // Every wait is bounded by the deadline and ends early when the person cancels.
    const bounded = <A>(effect: Effect.Effect<A>): Effect.Effect<Step<A>> =>
      Effect.gen(function*() {
        const left = yield* timeLeft
        if (left <= 0) return Either.left(LoginOutcome.TimedOut())
        const timed = effect.pipe(
          Effect.timeoutTo({
            duration: Duration.millis(left),
            onSuccess: (a): Step<A> => Either.right(a),
            onTimeout: (): Step<A> => Either.left(LoginOutcome.TimedOut())
          })
        )
        return options.cancel === undefined
          ? yield* timed
          : yield* Effect.raceFirst(timed, Effect.as(options.cancel, Either.left(LoginOutcome.Cancelled())))
      })

    const localTokens = yield* storedTokens(store)

    const fetchQr = (qrNumber: number): Effect.Effect<Step<QrCodeResponse>> =>
      Effect.gen(function*() {
        const fetched = yield* bounded(Effect.either(api.getBotQrCode(qrBaseUrl, { local_token_list: localTokens })))
        if (Either.isLeft(fetched)) return Either.left(fetched.left)
        if (Either.isLeft(fetched.right)) {
          const error = fetched.right.left
          yield* Effect.logWarning(`could not fetch a login QR code: ${error.message}`)
          return Either.left(LoginOutcome.Failed({
            reason: `could not get a QR code from ${qrBaseUrl} (${error.message}); check the network and the ` +
              "channels.openclaw-weixin.baseUrl setting, then try again"
          }))
        }
        const qr = fetched.right.right
        if (qr.qrcode.trim() === "" || qr.qrcode_img_content.trim() === "") {
          return Either.left(LoginOutcome.Failed({ reason: "the server sent an empty QR code; try again later" }))
        }
        const pictures = yield* render(qr.qrcode_img_content)
        yield* emit(LoginEvent.QrShown({
          url: qr.qrcode_img_content,
          terminal: pictures.terminal,
          dataUrl: pictures.dataUrl,
          qrNumber,
          maxQrCodes: MAX_QR_CODES
        }))
        return Either.right(qr)
      })

    const first = yield* fetchQr(1)
    if (Either.isLeft(first)) return first.left
    let qr = first.right
    let qrNumber = 1
    let pollBaseUrl = qrBaseUrl
    let pendingCode: string | undefined = undefined
    let scannedShown = false
    let failuresInARow = 0

    /** Next QR after expiry or a blocked code; None when the refresh budget is spent. */
    const refresh = (why: string): Effect.Effect<Step<QrCodeResponse>> =>
      Effect.gen(function*() {
        qrNumber += 1
        if (qrNumber > MAX_QR_CODES) {
          return Either.left(LoginOutcome.Failed({
            reason: `${why}, and all ${MAX_QR_CODES} QR codes of this login are used up; wait a while, then log in again`
          }))
        }
        scannedShown = false
        return yield* fetchQr(qrNumber)
      })

    while (true) {
      const polled: Step<QrStatusResponse> = yield* bounded(
        api.getQrCodeStatus(
          pollBaseUrl,
          pendingCode === undefined ? { qrcode: qr.qrcode } : { qrcode: qr.qrcode, verify_code: pendingCode }
        ).pipe(
          Effect.tap(() => Effect.sync(() => (failuresInARow = 0))),
          Effect.catchAll((error) =>
            Effect.sync(() => ++failuresInARow).pipe(
              Effect.flatMap((n) =>
                n === 1
                  ? Effect.logWarning(`QR status request failed (${error.message}); still waiting`)
                  : Effect.logDebug(`QR status request failed again (${error.message})`)
              ),
              Effect.as(WAIT)
            )
          )
        )
      )
      if (Either.isLeft(polled)) return polled.left
      const response = polled.right
      let pause = true

      if (isUnknownQrStatus(response.status)) {
        yield* Effect.logWarning(`unknown QR status ${JSON.stringify(response.status.raw)}; treating it as wait`)
      } else {
        switch (response.status) {
          case "wait":
            break
          case "scaned": {
            pendingCode = undefined
            if (!scannedShown) {
              scannedShown = true
              yield* emit(LoginEvent.Scanned())
            }
            break
          }
          case "need_verifycode": {
            const answer: Step<Either.Either<string, LoginPromptError>> = yield* bounded(Effect.either(askNonEmpty(prompt, { retry: pendingCode !== undefined })))
            if (Either.isLeft(answer)) return answer.left
            if (Either.isLeft(answer.right)) {
              const error = answer.right.left
              return error.reason === "closed"
                ? LoginOutcome.Cancelled()
                : LoginOutcome.Failed({ reason: error.message })
            }
            pendingCode = answer.right.right
            // the server is waiting for this number: send it right away
            pause = false
            break
          }
          case "expired": {
            yield* emit(LoginEvent.QrExpired({ qrNumber }))
            const next = yield* refresh("the QR code expired")
            if (Either.isLeft(next)) return next.left
            qr = next.right
            break
          }
          case "verify_code_blocked": {
            yield* emit(LoginEvent.VerifyCodeBlocked({ qrNumber }))
            pendingCode = undefined
            const next = yield* refresh("wrong numbers were entered")
            if (Either.isLeft(next)) return next.left
            qr = next.right
            break
          }
          case "scaned_but_redirect": {
            const target = Option.flatMap(
              Option.fromNullable(nonBlank(response.redirect_host)),
              (host) => redirectedBaseUrl(qrBaseUrl, host)
            )
            if (Option.isNone(target)) {
              yield* Effect.logWarning(
                `the server redirected the login without a usable host (${
                  JSON.stringify(response.redirect_host ?? null)
                }); polling stays on ${pollBaseUrl}`
              )
            } else if (target.value !== pollBaseUrl) {
              pollBaseUrl = target.value
              yield* emit(LoginEvent.Redirected({ pollBaseUrl }))
            }
            break
          }
          case "binded_redirect":
            return LoginOutcome.AlreadyConnected()
          case "confirmed": {
            const rawBotId = nonBlank(response.ilink_bot_id)
            if (rawBotId === undefined) {
              return LoginOutcome.Failed({
                reason: "the server confirmed the login without a bot id (ilink_bot_id); nothing was saved; try again"
              })
            }
            const token = response.bot_token
            if (token === undefined || Redacted.value(token).trim() === "") {
              return LoginOutcome.Failed({
                reason: "the server confirmed the login without a bot token; nothing was saved; try again"
              })
            }
            return yield* saveLogin(store, listener, {
              rawBotId,
              token,
              baseUrl: nonBlank(response.baseurl),
              userId: nonBlank(response.ilink_user_id),
              fallbackBaseUrl: qrBaseUrl
            })
          }
        }
      }
      if (pause) {
        const slept = yield* bounded(Effect.sleep(Duration.millis(pollIntervalMs)))
        if (Either.isLeft(slept)) return slept.left
      }
    }
  }).pipe(
    Effect.tap((outcome) => Effect.logInfo(`QR login ended: ${outcome._tag}`)),
    Effect.withLogSpan("qr-login")
  )

/** Up to 10 distinct non-empty stored tokens, the most recently registered account first (ILINK §1.8.7). */
const storedTokens = (store: LoginStore): Effect.Effect<Array<Redacted.Redacted<string>>> =>
  Effect.gen(function*() {
    const ids = yield* store.listAccountIds()
    const tokens: Array<Redacted.Redacted<string>> = []
    const seen = new Set<string>()
    for (const id of [...ids].reverse()) {
      if (tokens.length >= MAX_LOCAL_TOKENS) break
      const account = yield* store.loadAccount(id)
      const token = Option.flatMap(account, (a) => Option.fromNullable(a.token))
      if (Option.isNone(token)) continue
      const value = Redacted.value(token.value).trim()
      if (value === "" || seen.has(value)) continue
      seen.add(value)
      tokens.push(Redacted.make(value))
    }
    return tokens
  }).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(
        `could not read the stored accounts (${describeError(error)}); asking for a QR code without them`
      ).pipe(Effect.as([]))
    )
  )

const askNonEmpty = (
  prompt: Context.Tag.Service<LoginPrompt>,
  request: VerifyCodeRequest
): Effect.Effect<string, LoginPromptError> =>
  Effect.flatMap(prompt.askVerifyCode(request), (answer) => {
    const code = answer.trim()
    return code === "" ? askNonEmpty(prompt, request) : Effect.succeed(code)
  })

interface ConfirmedLogin {
  readonly rawBotId: string
  readonly token: Redacted.Redacted<string>
  readonly baseUrl: string | undefined
  readonly userId: string | undefined
  readonly fallbackBaseUrl: string
}

/**
 * ILINK §3.3: credentials first (atomic), then index, stale same-user accounts, then a fresh cursor and
 * the listener. Uninterruptible, so a cancelled login never leaves an account half-written.
 */
const saveLogin = (
  store: LoginStore,
  listener: Option.Option<LoginSupervisor>,
  login: ConfirmedLogin
): Effect.Effect<LoginOutcome> =>
  Effect.gen(function*() {
    const accountId = normalizeAccountId(login.rawBotId)
    const saved = yield* Effect.either(store.saveAccount(accountId, {
      token: login.token,
      ...(login.baseUrl === undefined ? {} : { baseUrl: login.baseUrl }),
      ...(login.userId === undefined ? {} : { userId: login.userId })
    }))
    if (Either.isLeft(saved)) {
      yield* Effect.logError(`could not save the new login: ${saved.left.message}`)
      return LoginOutcome.Failed({ reason: `could not save the credentials of ${accountId}: ${saved.left.message}` })
    }
    const registered = yield* Effect.either(store.registerAccount(accountId))
    if (Either.isLeft(registered)) {
      yield* Effect.logError(`saved the new login but could not index it: ${registered.left.message}`)
      return LoginOutcome.Failed({
        reason: `saved the credentials of ${accountId} but could not add it to accounts.json ` +
          `(${registered.left.message}); fix the state dir, then log in again`
      })
    }
    if (login.userId !== undefined) yield* removeSameUserAccounts(store, listener, accountId, login.userId)
    // re-login = fresh cursor: the new session starts from the server's current position
    const resetCursor = store.saveCursor(accountId, "").pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(`could not reset the message cursor after login (${error.message}); old updates may be skipped`)
      )
    )
    if (Option.isSome(listener)) {
      const cursorReset = yield* Ref.make(false)
      const resetOnce = Effect.zipRight(resetCursor, Ref.set(cursorReset, true))
      yield* listener.value.loginSaved(accountId, resetOnce).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("the new login was saved but the running gateway could not pick it up; restart it", cause)
        )
      )
      if (!(yield* Ref.get(cursorReset))) yield* resetCursor
    } else {
      yield* resetCursor
    }
    yield* Effect.logInfo("new login saved")
    return LoginOutcome.Connected({
      accountId,
      rawBotId: login.rawBotId,
      userId: login.userId,
      baseUrl: login.baseUrl ?? login.fallbackBaseUrl
    })
  }).pipe(Effect.annotateLogs({ accountId: normalizeAccountId(login.rawBotId) }), Effect.uninterruptible)

/** ILINK §3.3 step 4: one WeChat user keeps one bot; older logins of the same user are removed. */
const removeSameUserAccounts = (
  store: LoginStore,
  listener: Option.Option<LoginSupervisor>,
  keptAccountId: string,
  userId: string
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const ids = yield* store.listAccountIds()
    for (const other of ids) {
      if (other === keptAccountId) continue
      const stored = yield* store.loadAccount(other)
      const otherUser = Option.flatMap(stored, (a) => Option.fromNullable(nonBlank(a.userId)))
      if (Option.isNone(otherUser) || otherUser.value !== userId) continue
      // stop it before deleting its files, so it cannot write its cursor back afterwards
      if (Option.isSome(listener)) yield* listener.value.forget(other).pipe(Effect.ignoreLogged)
      yield* store.removeAccount(other)
      yield* Effect.logInfo(`removed account ${other}: the same WeChat user is now logged in as ${keptAccountId}`)
    }
  }).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(
        `could not remove older accounts of the same WeChat user (${describeError(error)}); ` +
          "remove them with `openclaw channels logout` if they stay"
      )
    )
  )

// ---------------------------------------------------------------------------------------------------------
// web login registry (gateway.loginWithQrStart / loginWithQrWait)

export interface WebLoginStartRequest {
  readonly accountId?: string | undefined
  readonly force?: boolean | undefined
}

export interface WebLoginStartResult {
  readonly qrDataUrl?: string
  readonly message: string
  readonly sessionKey: string
}

export interface WebLoginWaitRequest {
  readonly sessionKey?: string | undefined
  readonly accountId?: string | undefined
  readonly timeoutMs?: number | undefined
}

export interface WebLoginWaitResult {
  readonly connected: boolean
  readonly message: string
  /** normalized id of the connected account */
  readonly accountId?: string
}

interface PendingWebLogin {
  readonly qrShownAt: Ref.Ref<number>
  readonly qr: Ref.Ref<Option.Option<QrShownEvent>>
  readonly firstQr: Deferred.Deferred<void>
  readonly cancel: Deferred.Deferred<void>
  readonly outcome: Deferred.Deferred<LoginOutcome>
}

export interface LoginFlowSettingsShape {
  /** `channels.openclaw-weixin.baseUrl`: where QR codes are fetched and first polled */
  readonly qrBaseUrl?: string | undefined
  readonly timeoutMs?: number | undefined
  readonly pollIntervalMs?: number | undefined
}

/** Read on every login, so the plugin adapter can provide the configured values and a reload applies. */
export class LoginFlowSettings extends Context.Reference<LoginFlowSettings>()("openclaw-weixin/LoginFlowSettings", {
  defaultValue: (): LoginFlowSettingsShape => ({})
}) {}

/** The LoginFlow service over explicit dependencies (the `LoginFlow` service wires the real ones). */
export const makeLoginFlow = (
  api: QrLoginApi,
  store: LoginStore,
  listener: Option.Option<LoginSupervisor>
) =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    const pending = yield* Ref.make(HashMap.empty<string, PendingWebLogin>())
    const lock = yield* Effect.makeSemaphore(1)

    /** The CLI login: runs to its ending, asking through the provided LoginPrompt. */
    const login = (options: QrLoginOptions = {}): Effect.Effect<LoginOutcome, never, LoginPrompt> =>
      Effect.flatMap(LoginFlowSettings, (settings) =>
        runQrLogin(api, store, listener, {
          ...options,
          qrBaseUrl: options.qrBaseUrl ?? settings.qrBaseUrl,
          timeoutMs: options.timeoutMs ?? settings.timeoutMs,
          pollIntervalMs: options.pollIntervalMs ?? settings.pollIntervalMs
        }))

    const isFresh = (entry: PendingWebLogin) =>
      Effect.zipWith(Clock.currentTimeMillis, Ref.get(entry.qrShownAt), (now, at) => now - at < WEB_LOGIN_FRESH_MS)

    /** Ends a pending login (its waiters see Cancelled) and forgets it. */
    const dropPending = (sessionKey: string) =>
      Effect.gen(function*() {
        const entry = HashMap.get(yield* Ref.get(pending), sessionKey)
        if (Option.isNone(entry)) return
        yield* Deferred.succeed(entry.value.cancel, undefined)
        yield* Deferred.await(entry.value.outcome)
        yield* FiberMap.remove(fibers, sessionKey)
        yield* Ref.update(pending, HashMap.remove(sessionKey))
      })

    const purgeStale = Effect.gen(function*() {
      for (const [key, entry] of yield* Ref.get(pending)) {
        if (!(yield* isFresh(entry))) yield* dropPending(key)
      }
    })

    const start = Effect.fn("LoginFlow.start")(function*(request: WebLoginStartRequest) {
      const sessionKey = nonBlank(request.accountId) ?? randomUUID()
      return yield* lock.withPermits(1)(Effect.gen(function*() {
        yield* purgeStale
        const existing = HashMap.get(yield* Ref.get(pending), sessionKey)
        if (Option.isSome(existing) && request.force !== true) {
          const shown = yield* Ref.get(existing.value.qr)
          const done = yield* Deferred.isDone(existing.value.outcome)
          if (Option.isSome(shown) && !done) {
            return {
              ...(shown.value.dataUrl === undefined ? {} : { qrDataUrl: shown.value.dataUrl }),
              message: "The QR code is already shown; scan it with WeChat on your phone.",
              sessionKey
            } satisfies WebLoginStartResult
          }
        }
        yield* dropPending(sessionKey)
        const entry: PendingWebLogin = {
          qrShownAt: yield* Ref.make(yield* Clock.currentTimeMillis),
          qr: yield* Ref.make<Option.Option<QrShownEvent>>(Option.none()),
          firstQr: yield* Deferred.make<void>(),
          cancel: yield* Deferred.make<void>(),
          outcome: yield* Deferred.make<LoginOutcome>()
        }
        yield* Ref.update(pending, HashMap.set(sessionKey, entry))
        const onEvent = (event: LoginEvent) =>
          event._tag === "QrShown"
            ? Effect.all([
              Ref.set(entry.qr, Option.some(event)),
              Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.set(entry.qrShownAt, now)),
              Deferred.succeed(entry.firstQr, undefined)
            ], { discard: true })
            : Effect.void
        yield* FiberMap.run(
          fibers,
          sessionKey,
          login({ onEvent, cancel: Deferred.await(entry.cancel) }).pipe(
            Effect.provide(LoginPromptUnavailable),
            Effect.onExit((exit) =>
              Deferred.succeed(entry.outcome, exit._tag === "Success" ? exit.value : LoginOutcome.Cancelled())
            ),
            Effect.annotateLogs({ loginSession: sessionKey })
          )
        )
        yield* Effect.raceFirst(Deferred.await(entry.firstQr), Effect.asVoid(Deferred.await(entry.outcome)))
        const shown = yield* Ref.get(entry.qr)
        if (Option.isNone(shown)) {
          const outcome = yield* Deferred.await(entry.outcome)
          yield* Ref.update(pending, HashMap.remove(sessionKey))
          return { message: `Could not start the login. ${describeLoginOutcome(outcome)}`, sessionKey }
        }
        return {
          ...(shown.value.dataUrl === undefined ? {} : { qrDataUrl: shown.value.dataUrl }),
          message: "Scan this QR code with WeChat on your phone to connect.",
          sessionKey
        } satisfies WebLoginStartResult
      }))
    })

    const wait = Effect.fn("LoginFlow.wait")(function*(request: WebLoginWaitRequest) {
      const sessionKey = nonBlank(request.sessionKey) ?? nonBlank(request.accountId) ?? ""
      const entry = HashMap.get(yield* Ref.get(pending), sessionKey)
      if (Option.isNone(entry)) {
        return { connected: false, message: "No login is in progress; start one first." } satisfies WebLoginWaitResult
      }
      const done = yield* Deferred.isDone(entry.value.outcome)
      if (!done && !(yield* isFresh(entry.value))) {
        yield* lock.withPermits(1)(dropPending(sessionKey))
        return { connected: false, message: "The QR code has expired; start a new login." } satisfies WebLoginWaitResult
      }
      const timeoutMs = Math.max(request.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS, MIN_LOGIN_TIMEOUT_MS)
      const outcome = yield* Deferred.await(entry.value.outcome).pipe(
        Effect.timeout(Duration.millis(timeoutMs)),
        Effect.option
      )
      if (Option.isNone(outcome)) {
        return {
          connected: false,
          message: "Still waiting for the QR code to be scanned and confirmed; wait again to keep waiting."
        } satisfies WebLoginWaitResult
      }
      // only forget the entry this wait was about, not a newer login started meanwhile
      yield* Ref.update(pending, (all) =>
        Option.exists(HashMap.get(all, sessionKey), (current) => current === entry.value)
          ? HashMap.remove(all, sessionKey)
          : all)
      const message = describeLoginOutcome(outcome.value)
      return outcome.value._tag === "Connected"
        ? { connected: true, message, accountId: outcome.value.accountId } satisfies WebLoginWaitResult
        : { connected: false, message } satisfies WebLoginWaitResult
    })

    /** Cancels a pending web login; its waiters see Cancelled. */
    const cancel = Effect.fn("LoginFlow.cancel")(function*(sessionKey: string) {
      yield* lock.withPermits(1)(dropPending(sessionKey))
    })

    return { login, start, wait, cancel } as const
  })

/**
 * The login service of the plugin: `login` for the CLI, `start` / `wait` / `cancel` for web login. It tells
 * the Supervisor (in the gateway) about saved logins when one is provided.
 */
export class LoginFlow extends Effect.Service<LoginFlow>()("openclaw-weixin/LoginFlow", {
  scoped: Effect.gen(function*() {
    const api = yield* ILinkApi
    const store = yield* loginStore
    const listener = yield* Effect.serviceOption(Supervisor)
    return yield* makeLoginFlow(api, store, listener)
  }),
  dependencies: [ILinkApi.Default, AccountStore.Default, CursorStore.Default]
}) {}
