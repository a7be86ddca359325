/**
 * Web login (`gateway.loginWithQrStart` / `loginWithQrWait`, docs/PROTOCOL.md §3.1): QR logins that run in
 * the background, kept by session key (the account id given, else a random UUID) until someone waits for
 * their outcome. A login whose QR is 5 minutes old is stale: it is not reused, and it is purged. A newer
 * start for the same key cancels the older login unless its QR is still shown and `force` is not set.
 */
import { Clock, Deferred, Duration, Effect, FiberMap, HashMap, Option, Ref } from "effect"
import { randomUUID } from "node:crypto"
import { describeLoginOutcome, type LoginEvent, LoginOutcome, type QrShownEvent } from "./LoginEvents.js"
import { type LoginPrompt, LoginPromptUnavailable } from "./LoginPrompt.js"
import { nonBlank } from "../domain/NonBlank.js"
import { DEFAULT_LOGIN_TIMEOUT_MS, MIN_LOGIN_TIMEOUT_MS, type QrLoginOptions } from "./QrLogin.js"

/** a web login whose QR was shown this long ago is stale: not reused, purged (docs/PROTOCOL.md §3.1) */
export const WEB_LOGIN_FRESH_MS = 5 * 60_000

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

/**
 * The pending web logins over `login` (one QR login to its ending). Each login runs in a fiber of the
 * scope this is made in, so closing it ends them all.
 */
export const makeWebLogins = (
  login: (options: QrLoginOptions) => Effect.Effect<LoginOutcome, never, LoginPrompt>
) =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    const pending = yield* Ref.make(HashMap.empty<string, PendingWebLogin>())
    const lock = yield* Effect.makeSemaphore(1)

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

    return { start, wait, cancel } as const
  })
