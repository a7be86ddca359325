/**
 * Sandbox iLink + CDN emulator: a local stand-in for Tencent's bot API (PROTOCOL §1, App. B, App. C)
 * that integration and e2e tests run against. One HTTP server on 127.0.0.1 serves
 *
 *   baseUrl     http://127.0.0.1:PORT/         iLink API under ilink/bot/…
 *   cdnBaseUrl  http://127.0.0.1:PORT/c2c      CDN upload / download
 *   adminUrl    http://127.0.0.1:PORT/admin    JSON control API (below)
 *
 * It validates every request (headers, body shape, PROTOCOL §1.3/§1.4/§1.8, a bearer token it issued,
 * X-WECHAT-UIN renewed per request) and records problems as violations instead of refusing; an
 * integration test should end with `yield* emulator.expectNoViolations`. Server-side rules
 * (App. C): sendmessage needs a context_token the server issued to that (bot, user); replies are
 * allowed for `replyWindowMs` (24 h) after the user's last message and `replyBudget` (10) times per
 * user message. Outcomes: missing / unknown / stale token or budget spent → ret −2 with errmsg "";
 * window passed → ret −2 "reply window closed" (our choice: the field reports no fixed text);
 * text over 5 000 chars → ret −2 "prepare failed"; to_user_id not a known user id (case, `user:`
 * prefix) → ret −3 "invalid arguments"; otherwise {ret 0, message_id: <bare uint64>}. Stale tokens:
 * ones issued before the bot's latest login or an explicit invalidateContextTokens.
 * Unknown / replaced / expired bot token → ret −14 on every bot endpoint (`errcode` −14 if expired
 * that way). getupdates cursors are base64("<bot salt>.<seq>"): opaque to clients; a foreign one is a
 * violation and is read as "from the start". Server time (long-polls, delays) is always real time,
 * even under a test's TestClock; only the reply window uses the emulator clock (advanceClock).
 *
 * In-process handle (all Effects; unknown bots / QR codes fail with EmulatorControlError):
 *   addBot addUser bots injectInbound redeliver ignoreCursorOnce sent typingEvents notifications
 *   requests violations expectNoViolations clearViolations setFault clearFaults faults expireSession
 *   invalidateContextTokens conversation advanceClock now
 *   qr.{info, scan, confirm, autoConfirmNextAs, requireVerifyCode, expire, redirect, alreadyBound}
 *   cdn.{putMedia, uploads, sentMedia, downloads, downloadUrl}
 *
 * Admin API (JSON bodies; plain string fields such as botId may also be query parameters; errors answer
 * 400 {error, message}, unknown routes 404):
 *
 *   GET  /admin/bots                         → [{botId, token, ownerUserId}]
 *   POST /admin/bots        {botId?, token?, ownerUserId?}   → {botId, token, ownerUserId}
 *   POST /admin/users       {userId?}        → {userId}
 *   POST /admin/inject      InboundSpec      → {botId, fromUserId, messageId, contextToken, seq, json, media}
 *        InboundSpec = {botId, fromUserId?, messageId?, contextToken?, sessionId?, kind, …} with kind:
 *          text {text} | image {media, aeskeyField?} | voice {media, transcript?} | file {media, fileName}
 *          | video {media} | quote {text, svrId?, title?, quotedText?, quotedItem?, partialText?}
 *          | tool_call {toolName, toolCallId, status?} | unknown_item {itemType?} | empty | no_ids {text?}
 *          | raw {message} | raw_text {text}
 *        media = {base64 | data(text), keyEncoding?: "raw"|"hex", location?: "full_url"|"param"|"both", wrongKey?,
 *                 plain? (no key, stored unencrypted)}
 *   POST /admin/redeliver   {botId, messageId, delayMs?}      same message_id delivered again
 *   POST /admin/ignore-cursor-once {botId}   next getupdates returns everything again
 *   GET  /admin/sent?botId=                  → {sent: SentRecord[]}  (body, client_id, context_token, run_id, outcome)
 *   GET  /admin/typing?botId=                → {typing: TypingEvent[]}
 *   GET  /admin/notifications?botId=         → {notifications: [{botId, kind: start|stop, at}]}
 *   GET  /admin/requests?endpoint=           → {requests: RequestRecord[]}  (protocol traffic only, no admin calls)
 *   GET  /admin/violations                   → {violations: [{at, endpoint, rule, detail}]}
 *   POST /admin/violations/clear
 *   GET  /admin/faults | POST /admin/faults {endpoint, fault, times?, botId?} | POST /admin/faults/clear {endpoint?}
 *        (botId: only requests carrying that bot's token; without it the plan hits any caller)
 *        fault.kind: http {status, body?, errorMessageHeader?} | ret {ret?, errcode?, errmsg?} | delay {ms}
 *          | hang | reset | malformed_json | truncated_json | html_error | huge_body {bytes?} | wrong_shape
 *          | session_expired {via?} | no_message_id | rate_limited | missing_encrypted_param
 *          | cdn_body {defect: truncated|stall|unaligned|bad_padding|wrong_key|wrong_content} | oversize {bytes, chunked?}
 *        endpoint: getupdates sendmessage sendtyping getconfig getuploadurl notifystart notifystop
 *          get_bot_qrcode get_qrcode_status cdn_upload cdn_download
 *   POST /admin/expire-session {botId, via?: "ret"|"errcode"}   −14 until the bot logs in again by QR
 *   POST /admin/invalidate-context-tokens {botId, userId?}
 *   GET  /admin/conversation?botId=&userId=  → {liveContextTokens, lastInboundAt, repliesSinceInbound, typingTicket}
 *   POST /admin/clock/advance {ms}  |  GET /admin/clock → {now}
 *   GET  /admin/qr?qrcode=                   → {qrcode, imageUrl, status, polls, localTokens} (default: latest QR)
 *   POST /admin/qr/scan {qrcode?, userId?} | /admin/qr/confirm {qrcode?, userId?, botId?, omit?: "ilink_bot_id"|"bot_token"}
 *   POST /admin/qr/auto-confirm-next {botId}  auto mode: the next QR logs in again as this bot (new token)
 *   POST /admin/qr/verify-code {qrcode?, code, maxWrong?} | /admin/qr/expire {qrcode?}
 *   POST /admin/qr/redirect {qrcode?, host} | /admin/qr/already-bound {qrcode?}
 *   GET  /admin/cdn/uploads?botId=           → {uploads: [{filekey, downloadParam, keyHex, ciphertext, plaintext (base64), confirmed}]}
 *   GET  /admin/cdn/sent-media?botId=        → {sentMedia: [{toUserId, clientId, kind: image|video|file, fileName, plaintext (base64)}]}
 *                                              (the media items of the bot's delivered messages, as the recipient gets them)
 *   GET  /admin/cdn/downloads                → {downloads: [{at, downloadParam, form: full_url|param, status, bytes, fault}]}
 */
import { Effect, Fiber, type Scope } from "effect"
import { makeAdmin } from "./Admin.js"
import { type Controls, makeControls } from "./Controls.js"
import { serve } from "./Server.js"
import { type EmulatorOptions, EmulatorState, resolveOptions } from "./State.js"

export type { ConfirmOptions } from "./QrHttp.js"
export type { InboundMedia, InboundMediaOptions } from "./Cdn.js"
export { decryptAesEcb, encryptAesEcb, md5Hex } from "./Cdn.js"
export type { BotInfo, ConversationInfo, Injected, QrInfo, UploadedObject } from "./Controls.js"
export { EmulatorControlError } from "./ControlError.js"
export type { Fault, FaultPlan } from "./Faults.js"
export type { InboundContent, InboundSpec, MediaInput } from "./InboundMessages.js"
export type { QrStatus } from "./Qr.js"
export type { EndpointName, NotifyEvent, RequestRecord, SendOutcome, SentRecord, TypingEvent, Violation } from "./Records.js"
export type { EmulatorOptions } from "./State.js"

export interface Emulator extends Controls {
  /** API base URL with a trailing slash; endpoints live under `ilink/bot/`. */
  readonly baseUrl: string
  /** CDN base URL (no trailing slash), for the client's `cdnBaseUrl`. */
  readonly cdnBaseUrl: string
  readonly adminUrl: string
  readonly port: number
}

/** Starts an emulator on 127.0.0.1; it stops (polls released, sockets closed) when the scope closes. */
export const makeEmulator = (options: EmulatorOptions = {}): Effect.Effect<Emulator, never, Scope.Scope> =>
  Effect.gen(function*() {
    const state = new EmulatorState(resolveOptions(options))
    const background = new Set<Fiber.RuntimeFiber<unknown>>()
    yield* Effect.addFinalizer(() => Fiber.interruptAll([...background]))
    const controls = makeControls(state, background)
    yield* serve(state, makeAdmin(controls))
    return {
      ...controls,
      baseUrl: state.baseUrl,
      cdnBaseUrl: state.cdnBaseUrl,
      adminUrl: state.adminUrl,
      port: Number(new URL(state.origin).port)
    }
  })
