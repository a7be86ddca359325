/**
 * What a login reports while it runs (`LoginEvent`) and how it ends (`LoginOutcome`), with the one line a
 * person reads for each. The CLI prints these; web login answers with the outcome's line.
 *
 * `LoginEnded` is how the flows stop early: a step that reaches an ending fails with it, and the flow
 * turns it back into its outcome at the end, so a login as a whole never fails.
 */
import { Data } from "effect"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"

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

/** A login reached `outcome` before its last step; caught where the login ends (never escapes a flow). */
export class LoginEnded extends Data.TaggedError("LoginEnded")<{ readonly outcome: LoginOutcome }> {}

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
