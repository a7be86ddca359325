/**
 * The QR login of docs/PROTOCOL.md §3.1–§3.3 as one Effect: fetch a QR (sending up to 10 stored tokens,
 * newest account first), show it, then poll its status about once a second until an ending. Decisions
 * where the protocol leaves room:
 * - The QR base URL is configurable (`channels.openclaw-weixin.baseUrl`, default the fixed host).
 * - `scaned_but_redirect` moves polling to `<scheme>//<redirect_host>` where the scheme is the one of the
 *   configured QR base URL (https in production, http against the local emulator), and `redirect_host`
 *   may carry a port. A value that is not a plain host[:port] is ignored with a warning.
 * - A failing or hanging status request counts as `wait`; every wait is bounded by the overall deadline.
 * - Cancellation is cooperative (`cancel` option) so a login that is already saving its credentials
 *   finishes saving and reports Connected; plain fiber interruption also works and never leaves a
 *   half-written account, because saving is uninterruptible (SaveLogin).
 *
 * A step that reaches an ending fails with `LoginEnded`; the flow turns it into its outcome at the end.
 */
import { Clock, Duration, Effect, Either, Option, Redacted } from "effect"
import { AccountStore } from "../state/AccountStore.js"
import type { CursorStore } from "../state/CursorStore.js"
import { Endpoint } from "../ilink/Endpoint.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import { DEFAULT_ILINK_BASE_URL, normalizeBaseUrl } from "../ilink/ILinkConnection.js"
import { isUnknownQrStatus, type QrCodeResponse, type QrStatusResponse } from "../wire/Api.js"
import { LoginEnded, LoginEvent, LoginOutcome } from "./LoginEvents.js"
import { askNonBlankVerifyCode, LoginPrompt } from "./LoginPrompt.js"
import type { RenderedQr } from "./QrRender.js"
import { type LoginSupervisor, saveLogin } from "./SaveLogin.js"
import { nonBlank } from "../domain/NonBlank.js"

export const DEFAULT_LOGIN_TIMEOUT_MS = 480_000
export const MIN_LOGIN_TIMEOUT_MS = 1_000
export const QR_POLL_INTERVAL_MS = 1_000
/** one QR plus at most two refreshes, shared between expiry and blocked-code events (docs/PROTOCOL.md §3.2) */
export const MAX_QR_CODES = 3
export const MAX_LOCAL_TOKENS = 10

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
  /** how a QR URL becomes pictures (LoginFlow passes its QrRenderer); unset: no pictures, the URL alone */
  readonly renderQr?: ((url: string) => Effect.Effect<RenderedQr>) | undefined
}

/** The value trimmed, or undefined when it is missing or blank. */

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

const WAIT: QrStatusResponse = { status: "wait" }

const noPictures = (): Effect.Effect<RenderedQr> => Effect.succeed({ terminal: undefined, dataUrl: undefined })

const ended = (outcome: LoginOutcome) => new LoginEnded({ outcome })

/**
 * Runs one QR login to its ending. Never fails: every ending, including bad input from the server, is a
 * `LoginOutcome`. Asks the `LoginPrompt` for `need_verifycode`; tells `listener` about a saved login.
 */
export const runQrLogin = (
  listener: Option.Option<LoginSupervisor>,
  options: QrLoginOptions = {}
): Effect.Effect<LoginOutcome, never, LoginPrompt | ILinkApi | AccountStore | CursorStore> =>
  Effect.gen(function*() {
    const api = yield* ILinkApi
    const prompt = yield* LoginPrompt
    const qrBaseUrl = (options.qrBaseUrl ?? DEFAULT_ILINK_BASE_URL).trim()
    yield* Either.mapLeft(
      normalizeBaseUrl(qrBaseUrl, { endpoint: Endpoint.getBotQrCode }),
      (error) => ended(LoginOutcome.Failed({ reason: error.message }))
    )
    const timeoutMs = Math.max(options.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS, MIN_LOGIN_TIMEOUT_MS)
    const pollIntervalMs = options.pollIntervalMs ?? QR_POLL_INTERVAL_MS
    const emit = options.onEvent ?? (() => Effect.void)
    const render = options.renderQr ?? noPictures
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    const timeLeft = Effect.map(Clock.currentTimeMillis, (now) => deadline - now)

    // Every wait is bounded by the deadline and ends early when the person cancels.
    const bounded = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | LoginEnded> =>
      Effect.gen(function*() {
        const left = yield* timeLeft
        if (left <= 0) return yield* ended(LoginOutcome.TimedOut())
        const timed = Effect.timeoutFail(effect, {
          duration: Duration.millis(left),
          onTimeout: () => ended(LoginOutcome.TimedOut())
        })
        return options.cancel === undefined
          ? yield* timed
          : yield* Effect.raceFirst(timed, Effect.zipRight(options.cancel, Effect.fail(ended(LoginOutcome.Cancelled()))))
      })

    const localTokens = yield* storedTokens

    const fetchQr = (qrNumber: number): Effect.Effect<QrCodeResponse, LoginEnded> =>
      Effect.gen(function*() {
        const qr = yield* bounded(
          api.getBotQrCode(qrBaseUrl, { local_token_list: localTokens }).pipe(
            Effect.tapError((error) => Effect.logWarning(`could not fetch a login QR code: ${error.message}`)),
            Effect.mapError((error) =>
              ended(LoginOutcome.Failed({
                reason: `could not get a QR code from ${qrBaseUrl} (${error.message}); check the network and the ` +
                  "channels.openclaw-weixin.baseUrl setting, then try again"
              }))
            )
          )
        )
        if (qr.qrcode.trim() === "" || qr.qrcode_img_content.trim() === "") {
          return yield* ended(LoginOutcome.Failed({ reason: "the server sent an empty QR code; try again later" }))
        }
        const pictures = yield* render(qr.qrcode_img_content)
        yield* emit(LoginEvent.QrShown({
          url: qr.qrcode_img_content,
          terminal: pictures.terminal,
          dataUrl: pictures.dataUrl,
          qrNumber,
          maxQrCodes: MAX_QR_CODES
        }))
        return qr
      })

    let qr = yield* fetchQr(1)
    let qrNumber = 1
    let pollBaseUrl = qrBaseUrl
    let pendingCode: string | undefined = undefined
    let scannedShown = false
    let failuresInARow = 0

    /** Next QR after expiry or a blocked code; the login fails when the QR budget is spent. */
    const refresh = (why: string): Effect.Effect<QrCodeResponse, LoginEnded> =>
      Effect.suspend(() => {
        qrNumber += 1
        if (qrNumber > MAX_QR_CODES) {
          return Effect.fail(ended(LoginOutcome.Failed({
            reason: `${why}, and all ${MAX_QR_CODES} QR codes of this login are used up; wait a while, then log in again`
          })))
        }
        scannedShown = false
        return fetchQr(qrNumber)
      })

    while (true) {
      const response = yield* bounded(
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
            pendingCode = yield* bounded(
              askNonBlankVerifyCode(prompt, { retry: pendingCode !== undefined }).pipe(
                Effect.mapError((error) =>
                  ended(
                    error.reason === "closed" ? LoginOutcome.Cancelled() : LoginOutcome.Failed({ reason: error.message })
                  )
                )
              )
            )
            // the server is waiting for this number: send it right away
            pause = false
            break
          }
          case "expired": {
            yield* emit(LoginEvent.QrExpired({ qrNumber }))
            qr = yield* refresh("the QR code expired")
            break
          }
          case "verify_code_blocked": {
            yield* emit(LoginEvent.VerifyCodeBlocked({ qrNumber }))
            pendingCode = undefined
            qr = yield* refresh("wrong numbers were entered")
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
            return yield* saveLogin(listener, {
              rawBotId,
              token,
              baseUrl: nonBlank(response.baseurl),
              userId: nonBlank(response.ilink_user_id),
              fallbackBaseUrl: qrBaseUrl
            })
          }
        }
      }
      if (pause) yield* bounded(Effect.sleep(Duration.millis(pollIntervalMs)))
    }
  }).pipe(
    Effect.catchTag("LoginEnded", ({ outcome }) => Effect.succeed(outcome)),
    Effect.tap((outcome) => Effect.logInfo(`QR login ended: ${outcome._tag}`)),
    Effect.withLogSpan("qr-login")
  )

/** Up to 10 distinct non-empty stored tokens, the most recently registered account first (docs/PROTOCOL.md §1.8.7). */
const storedTokens: Effect.Effect<Array<Redacted.Redacted<string>>, never, AccountStore> = Effect.gen(function*() {
  const accounts = yield* AccountStore
  const ids = yield* accounts.list()
  const tokens: Array<Redacted.Redacted<string>> = []
  const seen = new Set<string>()
  for (const id of [...ids].reverse()) {
    if (tokens.length >= MAX_LOCAL_TOKENS) break
    const account = yield* accounts.load(id)
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
    Effect.logWarning(`could not read the stored accounts (${error.message}); asking for a QR code without them`).pipe(
      Effect.as([])
    )
  )
)
