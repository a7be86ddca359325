/**
 * The phone side of QR login (PROTOCOL §1.8.7, §1.8.8, §3.2): a state per QR code that tests drive
 * with scan / confirm / requireVerifyCode / expire / redirect, or that confirms itself in auto mode.
 */
import { randomBytes } from "node:crypto"

export type QrStatus =
  | "wait"
  | "scaned"
  | "confirmed"
  | "expired"
  | "scaned_but_redirect"
  | "need_verifycode"
  | "verify_code_blocked"
  | "binded_redirect"

export interface QrConfirmation {
  readonly bot_token?: string
  readonly ilink_bot_id?: string
  readonly baseurl: string
  readonly ilink_user_id: string
}

export interface QrSession {
  readonly qrcode: string
  readonly imageUrl: string
  readonly localTokens: ReadonlyArray<string>
  status: QrStatus
  /** Set while need_verifycode: the code the phone shows. */
  verifyCode: string | undefined
  wrongCodes: number
  maxWrongCodes: number
  redirectHost: string | undefined
  confirmation: QrConfirmation | undefined
  /** The WeChat user who scanned, if the scan named one; confirm defaults to them. */
  scannedBy: string | undefined
  /** Auto mode: the first status poll scans, the next one confirms. */
  auto: boolean
  polls: number
}

export class QrBook {
  readonly sessions = new Map<string, QrSession>()
  /** Auto mode: the next confirmation logs in as this bot / user (a re-login) instead of a fresh one. */
  nextAutoConfirm: { readonly botId?: string; readonly userId?: string } | undefined = undefined

  create(localTokens: ReadonlyArray<string>, auto: boolean, imageBase: string): QrSession {
    const qrcode = randomBytes(16).toString("hex")
    const session: QrSession = {
      qrcode,
      imageUrl: `${imageBase}?qrcode=${qrcode}`,
      localTokens,
      status: "wait",
      verifyCode: undefined,
      wrongCodes: 0,
      maxWrongCodes: 3,
      redirectHost: undefined,
      confirmation: undefined,
      scannedBy: undefined,
      auto,
      polls: 0
    }
    this.sessions.set(qrcode, session)
    return session
  }

  require(qrcode: string): QrSession {
    const session = this.sessions.get(qrcode)
    if (session === undefined) throw new Error(`unknown qrcode ${qrcode}; call get_bot_qrcode first`)
    return session
  }

  latest(): QrSession | undefined {
    return [...this.sessions.values()].at(-1)
  }

  /** Applies a verify_code sent by the client while a code is pending. */
  submitCode(session: QrSession, code: string | undefined): void {
    if (session.status !== "need_verifycode" || code === undefined || session.verifyCode === undefined) return
    if (code === session.verifyCode) {
      session.status = "scaned"
      session.verifyCode = undefined
      return
    }
    session.wrongCodes += 1
    if (session.wrongCodes >= session.maxWrongCodes) {
      session.status = "verify_code_blocked"
      session.verifyCode = undefined
    }
  }

  /** The body of one status answer; one-shot statuses fall back to `scaned` afterwards. */
  answer(session: QrSession): Record<string, unknown> {
    const status = session.status
    if (status === "scaned_but_redirect") session.status = "scaned"
    if (status === "confirmed") return { status, ...session.confirmation }
    if (status === "scaned_but_redirect") return { status, redirect_host: session.redirectHost }
    return { status }
  }
}
