/**
 * The emulator's control surface as Effects: what tests call in-process, and what the admin HTTP
 * API calls on their behalf. Every lookup of an unknown thing fails with EmulatorControlError.
 */
import { Effect, Fiber, Runtime } from "effect"
import { confirmQr, type ConfirmOptions } from "./QrHttp.js"
import { sentMediaOf } from "./SentMedia.js"
import type { DownloadRecord, InboundMedia, InboundMediaOptions } from "./Cdn.js"
import { EmulatorControlError } from "./ControlError.js"
import type { FaultPlan } from "./Faults.js"
import { buildInbound, type InboundSpec, specProblem } from "./InboundMessages.js"
import type { QrStatus } from "./Qr.js"
import type { EndpointName, NotifyEvent, RequestRecord, SentRecord, TypingEvent, Violation } from "./Records.js"
import type { EmulatorState } from "./State.js"
import { writeJson } from "./WireJson.js"

export interface BotInfo {
  readonly botId: string
  /** Bearer token the client sends as `Authorization: Bearer <token>`. */
  readonly token: string
  readonly ownerUserId: string
}

export interface Injected {
  readonly botId: string
  readonly fromUserId: string
  /** Decimal message_id (absent for no_ids / raw messages). */
  readonly messageId: string | undefined
  /** The context_token issued with this message (absent for raw messages). */
  readonly contextToken: string | undefined
  readonly seq: number
  /** The message exactly as getupdates will write it into `msgs`. */
  readonly json: string
  /** For media kinds: where the ciphertext lives and the key (hex) that decrypts it. */
  readonly media: InboundMedia | undefined
}

export interface ConversationInfo {
  readonly botId: string
  readonly userId: string
  readonly liveContextTokens: ReadonlyArray<string>
  readonly lastInboundAt: number | undefined
  readonly repliesSinceInbound: number
  readonly typingTicket: string
}

export interface QrInfo {
  readonly qrcode: string
  /** The `qrcode_img_content` the client got: what a phone scans (the login QR encodes this text). */
  readonly imageUrl: string
  readonly status: QrStatus
  readonly polls: number
  readonly localTokens: ReadonlyArray<string>
}

export interface UploadedObject {
  readonly botId: string
  readonly filekey: string
  readonly downloadParam: string
  readonly keyHex: string
  readonly ciphertext: Uint8Array
  /** Undefined when the upload did not decrypt (a violation was recorded). */
  readonly plaintext: Uint8Array | undefined
  /** Whether the client was given the download param (false: answered without x-encrypted-param). */
  readonly confirmed: boolean
}

export interface SentMediaRecord {
  readonly toUserId: string
  readonly clientId: string | undefined
  readonly kind: "image" | "video" | "file"
  readonly fileName: string | undefined
  readonly plaintext: Uint8Array | undefined
}

const fail = (verb: string, message: string) => new EmulatorControlError({ verb, message })

export const makeControls = (state: EmulatorState, background: Set<Fiber.RuntimeFiber<unknown>>) => {
  const bot = (verb: string, botId: string) =>
    Effect.suspend(() => {
      const found = state.directory.bots.get(botId)
      return found === undefined ? Effect.fail(fail(verb, `unknown bot ${botId}; create it with addBot`)) : Effect.succeed(found)
    })
  const qrSession = (verb: string, qrcode?: string) =>
    Effect.suspend(() => {
      const session = qrcode === undefined ? state.qr.latest() : state.qr.sessions.get(qrcode)
      return session === undefined
        ? Effect.fail(fail(verb, qrcode === undefined ? "no QR code issued yet" : `unknown qrcode ${qrcode}`))
        : Effect.succeed(session)
    })
  const info = (b: { botId: string; token: string; ownerUserId: string }): BotInfo => ({ botId: b.botId, token: b.token, ownerUserId: b.ownerUserId })
  /** Runs on the live runtime so a caller's TestClock does not freeze delayed redeliveries. */
  const inBackground = (effect: Effect.Effect<void>) =>
    Effect.sync(() => {
      const fiber = Runtime.runFork(Runtime.defaultRuntime)(effect)
      background.add(fiber)
      fiber.addObserver(() => background.delete(fiber))
    })
  const qrChanged = (qrcode: string) => state.qrSignals.fire(qrcode)

  const injectInbound = Effect.fn("Emulator.injectInbound")(function*(spec: InboundSpec) {
    const problem = specProblem(spec)
    if (problem !== undefined) return yield* fail("injectInbound", problem)
    const target = yield* bot("injectInbound", spec.botId)
    const now = yield* state.clock.now
    const isRaw = spec.kind === "raw" || spec.kind === "raw_text"
    const fromUserId = spec.fromUserId ?? target.ownerUserId
    if (!isRaw) state.directory.addUser(fromUserId)
    const contextToken = isRaw ? undefined : state.directory.issueContextToken(target.botId, fromUserId, now, spec.contextToken)
    const messageId = isRaw || spec.kind === "no_ids" ? undefined : spec.messageId ?? state.ids.take()
    let built: ReturnType<typeof buildInbound> | undefined
    const entry = yield* Effect.try({
      try: () =>
        state.mailbox.append(target.botId, messageId, (seq) => {
          built = buildInbound(
            { ...spec, ...(messageId !== undefined ? { messageId } : {}) },
            { ids: state.ids, cdn: state.cdn, fromUserId, contextToken: contextToken ?? "", now, seq }
          )
          return built.message
        }),
      catch: (error) => fail("injectInbound", error instanceof Error ? error.message : String(error))
    })
    const result: Injected = {
      botId: target.botId,
      fromUserId,
      messageId,
      contextToken,
      seq: entry.seq,
      json: writeJson(entry.message),
      media: built?.media
    }
    return result
  })

  return {
    addBot: Effect.fn("Emulator.addBot")(function*(options: { readonly botId?: string; readonly token?: string; readonly ownerUserId?: string } = {}) {
      return info(state.directory.addBot(options))
    }),
    addUser: Effect.fn("Emulator.addUser")(function*(userId?: string) {
      return state.directory.addUser(userId)
    }),
    bots: Effect.sync(() => [...state.directory.bots.values()].map(info)),
    injectInbound,
    /** Delivers an already-delivered message again (same message_id), now or after `delayMs`. */
    redeliver: Effect.fn("Emulator.redeliver")(function*(botId: string, messageId: string, options: { readonly delayMs?: number } = {}) {
      const target = yield* bot("redeliver", botId)
      const original = state.mailbox.find(target.botId, messageId)
      if (original === undefined) return yield* fail("redeliver", `bot ${botId} has no message ${messageId} to redeliver`)
      const again = Effect.sync(() => {
        state.mailbox.append(target.botId, messageId, () => original.message)
      })
      const delayMs = options.delayMs ?? 0
      if (delayMs <= 0) return yield* again
      yield* inBackground(Effect.zipRight(Effect.sleep(`${delayMs} millis`), again))
    }),
    /** The next getupdates of this bot ignores its cursor and returns every message again. */
    ignoreCursorOnce: Effect.fn("Emulator.ignoreCursorOnce")(function*(botId: string) {
      const target = yield* bot("ignoreCursorOnce", botId)
      state.mailbox.setIgnoreCursorOnce(target.botId)
    }),
    sent: (botId?: string): Effect.Effect<ReadonlyArray<SentRecord>> =>
      Effect.sync(() => state.sent.filter((s) => botId === undefined || s.botId === botId)),
    typingEvents: (botId?: string): Effect.Effect<ReadonlyArray<TypingEvent>> =>
      Effect.sync(() => state.typing.filter((t) => botId === undefined || t.botId === botId)),
    notifications: (botId?: string): Effect.Effect<ReadonlyArray<NotifyEvent>> =>
      Effect.sync(() => state.notifications.filter((n) => botId === undefined || n.botId === botId)),
    requests: (endpoint?: EndpointName): Effect.Effect<ReadonlyArray<RequestRecord>> =>
      Effect.sync(() => state.requests.filter((r) => endpoint === undefined || r.endpoint === endpoint)),
    violations: (): Effect.Effect<ReadonlyArray<Violation>> => Effect.sync(() => state.violations.slice()),
    /** Fails with every recorded violation listed; for the end of an integration test. */
    expectNoViolations: Effect.suspend(() =>
      state.violations.length === 0
        ? Effect.void
        : Effect.fail(
          fail(
            "expectNoViolations",
            `${state.violations.length} protocol violation(s):\n${state.violations.map((v) => `  ${v.endpoint} ${v.rule}: ${v.detail}`).join("\n")}`
          )
        )
    ),
    clearViolations: Effect.sync(() => {
      state.violations.length = 0
    }),
    setFault: Effect.fn("Emulator.setFault")(function*(plan: FaultPlan) {
      yield* Effect.try({ try: () => state.faults.set(plan), catch: (e) => fail("setFault", e instanceof Error ? e.message : String(e)) })
    }),
    clearFaults: (endpoint?: EndpointName): Effect.Effect<void> => Effect.sync(() => state.faults.clear(endpoint)),
    faults: Effect.sync(() => state.faults.list()),
    /** getupdates answers −14 (in `ret` or `errcode`) until the bot logs in again via QR. */
    expireSession: Effect.fn("Emulator.expireSession")(function*(botId: string, via: "ret" | "errcode" = "ret") {
      const target = yield* bot("expireSession", botId)
      target.expiredVia = via
      state.mailbox.wake(target.botId)
    }),
    /** Makes the context tokens issued so far to (bot, user?) stale. */
    invalidateContextTokens: Effect.fn("Emulator.invalidateContextTokens")(function*(botId: string, userId?: string) {
      const target = yield* bot("invalidateContextTokens", botId)
      state.directory.invalidateContextTokens(target.botId, userId)
    }),
    conversation: Effect.fn("Emulator.conversation")(function*(botId: string, userId: string) {
      const c = state.directory.existingConversation(botId, userId)
      if (c === undefined) return yield* fail("conversation", `no conversation between ${botId} and ${userId}`)
      const result: ConversationInfo = {
        botId,
        userId,
        liveContextTokens: [...c.liveTokens],
        lastInboundAt: c.lastInboundAt,
        repliesSinceInbound: c.repliesSinceInbound,
        typingTicket: c.typingTicket
      }
      return result
    }),
    advanceClock: Effect.fn("Emulator.advanceClock")(function*(ms: number) {
      yield* Effect.try({ try: () => state.clock.advance(ms), catch: (e) => fail("advanceClock", e instanceof Error ? e.message : String(e)) })
    }),
    now: state.clock.now,
    qr: {
      /** The most recent QR code (or a given one) and its status. */
      info: Effect.fn("Emulator.qr.info")(function*(qrcode?: string) {
        const s = yield* qrSession("qr.info", qrcode)
        const result: QrInfo = { qrcode: s.qrcode, imageUrl: s.imageUrl, status: s.status, polls: s.polls, localTokens: s.localTokens }
        return result
      }),
      /** The phone scans; binded_redirect when local_token_list holds a bot already bound to this user. */
      scan: Effect.fn("Emulator.qr.scan")(function*(qrcode?: string, options: { readonly userId?: string } = {}) {
        const s = yield* qrSession("qr.scan", qrcode)
        const userId = options.userId
        const bound = userId !== undefined &&
          s.localTokens.some((token) => state.directory.botByToken(token)?.ownerUserId === userId)
        s.status = bound ? "binded_redirect" : "scaned"
        s.scannedBy = userId
        qrChanged(s.qrcode)
      }),
      confirm: Effect.fn("Emulator.qr.confirm")(function*(qrcode?: string, options: ConfirmOptions = {}) {
        const s = yield* qrSession("qr.confirm", qrcode)
        return info(confirmQr(state, s, options))
      }),
      /** Auto mode: the next QR code confirms as this known bot (a re-login: new token) and its owner. */
      autoConfirmNextAs: Effect.fn("Emulator.qr.autoConfirmNextAs")(function*(botId: string) {
        const target = yield* bot("qr.autoConfirmNextAs", botId)
        state.qr.nextAutoConfirm = { botId: target.botId, userId: target.ownerUserId }
      }),
      /** need_verifycode until the right code arrives (then scaned); blocked after `maxWrong` wrong codes. */
      requireVerifyCode: Effect.fn("Emulator.qr.requireVerifyCode")(function*(qrcode: string | undefined, code: string, maxWrong = 3) {
        const s = yield* qrSession("qr.requireVerifyCode", qrcode)
        s.status = "need_verifycode"
        s.verifyCode = code
        s.wrongCodes = 0
        s.maxWrongCodes = maxWrong
        qrChanged(s.qrcode)
      }),
      expire: Effect.fn("Emulator.qr.expire")(function*(qrcode?: string) {
        const s = yield* qrSession("qr.expire", qrcode)
        s.status = "expired"
        qrChanged(s.qrcode)
      }),
      /** Answers scaned_but_redirect with this host once, then scaned. */
      redirect: Effect.fn("Emulator.qr.redirect")(function*(qrcode: string | undefined, host: string) {
        const s = yield* qrSession("qr.redirect", qrcode)
        s.status = "scaned_but_redirect"
        s.redirectHost = host
        qrChanged(s.qrcode)
      }),
      alreadyBound: Effect.fn("Emulator.qr.alreadyBound")(function*(qrcode?: string) {
        const s = yield* qrSession("qr.alreadyBound", qrcode)
        s.status = "binded_redirect"
        qrChanged(s.qrcode)
      })
    },
    cdn: {
      /** Stores plaintext encrypted under a fresh key, for hand-built media items. */
      putMedia: (plaintext: Uint8Array | string, options: InboundMediaOptions = {}): Effect.Effect<InboundMedia> =>
        Effect.sync(() => state.cdn.putInbound(typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext, options)),
      /** Objects clients uploaded, with their plaintext when it decrypted. */
      uploads: (botId?: string): Effect.Effect<ReadonlyArray<UploadedObject>> =>
        Effect.sync(() =>
          state.cdn.uploads(botId).map((o) => ({
            botId: o.origin._tag === "Upload" ? o.origin.botId : "",
            filekey: o.origin._tag === "Upload" ? o.origin.filekey : "",
            downloadParam: o.downloadParam,
            keyHex: o.keyHex,
            ciphertext: o.ciphertext,
            plaintext: o.plaintext,
            confirmed: o.confirmed
          }))
        ),
      /**
       * The media messages a bot sent that the server accepted, in order: the item kind, the file name of
       * a FILE, and the plaintext the recipient would download (undefined when it does not resolve).
       */
      sentMedia: (botId: string): Effect.Effect<ReadonlyArray<SentMediaRecord>> =>
        Effect.sync(() =>
          state.sent.filter((s) => s.botId === botId && s.outcome === "delivered").flatMap((s) => {
            const items = (s.msg as { item_list?: ReadonlyArray<unknown> } | undefined)?.item_list ?? []
            return items.flatMap((item) => {
              const media = sentMediaOf(state.cdn, item)
              return media === undefined
                ? []
                : [{ toUserId: s.toUserId, clientId: s.clientId, kind: media.kind, fileName: media.fileName, plaintext: media.object?.plaintext }]
            })
          })
        ),
      /** Every download the CDN answered, in order: which object, which URL form, which fault. */
      downloads: (): Effect.Effect<ReadonlyArray<DownloadRecord>> => Effect.sync(() => state.cdn.downloads.slice()),
      downloadUrl: (downloadParam: string): string => state.cdn.downloadUrl(downloadParam)
    }
  }
}

export type Controls = ReturnType<typeof makeControls>
