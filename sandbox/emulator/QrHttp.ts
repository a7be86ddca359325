/**
 * The QR login endpoints (PROTOCOL §1.8.7, §1.8.8): issue a QR code, and long-poll its status while
 * the phone side (tests, or auto mode) moves it along.
 */
import { Effect } from "effect"
import type { IncomingCall } from "./Api.js"
import type { Bot } from "./Bots.js"
import type { QrSession } from "./Qr.js"
import { json } from "./Reply.js"
import type { EmulatorState } from "./State.js"

export const getBotQrCode = (state: EmulatorState, call: IncomingCall) =>
  Effect.sync(() => {
    const list = call.body?.["local_token_list"]
    const tokens = Array.isArray(list) ? list.filter((t): t is string => typeof t === "string") : []
    const session = state.qr.create(tokens, state.options.autoConfirmQr, `${state.origin}/qr`)
    return json({ qrcode: session.qrcode, qrcode_img_content: session.imageUrl })
  })

/**
 * Auto mode: the first poll scans, the next confirms as a fresh bot owned by a fresh user, or as the
 * bot and user set by `qr.autoConfirmNextAs` (once).
 */
const advanceAuto = (state: EmulatorState, session: QrSession) => {
  if (!session.auto) return
  if (session.status === "wait") session.status = "scaned"
  else if (session.status === "scaned") {
    const options = state.qr.nextAutoConfirm ?? {}
    state.qr.nextAutoConfirm = undefined
    confirmQr(state, session, options)
  }
}

export interface ConfirmOptions {
  readonly userId?: string
  readonly botId?: string
  /** Leave a field out of the confirmed answer (a server fault the client must survive). */
  readonly omit?: "ilink_bot_id" | "bot_token"
}

/** Confirms a QR: registers (or re-logs-in) the bot so it can poll right away. */
export const confirmQr = (state: EmulatorState, session: QrSession, options: ConfirmOptions): Bot => {
  const userId = state.directory.addUser(options.userId ?? session.scannedBy)
  const bot = state.directory.addBot({ ...(options.botId !== undefined ? { botId: options.botId } : {}), ownerUserId: userId })
  session.status = "confirmed"
  session.confirmation = {
    ...(options.omit === "bot_token" ? {} : { bot_token: bot.token }),
    ...(options.omit === "ilink_bot_id" ? {} : { ilink_bot_id: bot.botId }),
    baseurl: state.baseUrl,
    ilink_user_id: userId
  }
  state.mailbox.wake(bot.botId)
  state.qrSignals.fire(session.qrcode)
  return bot
}

export const getQrCodeStatus = (state: EmulatorState, call: IncomingCall) =>
  Effect.gen(function*() {
    const session = state.qr.sessions.get(call.query["qrcode"] ?? "")
    if (session === undefined) return json({ status: "expired" })
    session.polls += 1
    const before = session.status
    const code = call.query["verify_code"]
    state.qr.submitCode(session, code)
    advanceAuto(state, session)
    const settled = ["confirmed", "expired", "binded_redirect", "verify_code_blocked"].includes(session.status)
    if (session.status === before && code === undefined && !settled) {
      yield* state.qrSignals.wait(session.qrcode, state.options.qrStatusHoldMs)
    }
    return json(state.qr.answer(session))
  })

