/**
 * Everything one emulator instance knows, shared by the HTTP endpoints, the admin API and the
 * in-process handle. Single-threaded JavaScript makes each synchronous update atomic.
 */
import { Effect } from "effect"
import { Directory } from "./Bots.js"
import { CdnStore } from "./Cdn.js"
import { EmulatorClock } from "./Clock.js"
import { FaultBook } from "./Faults.js"
import { IdSource } from "./InboundMessages.js"
import { Mailbox } from "./Mailbox.js"
import { QrBook } from "./Qr.js"
import type { EndpointName, NotifyEvent, RequestRecord, SentRecord, TypingEvent, Violation } from "./Records.js"
import { Signals } from "./Signals.js"

export interface EmulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number
  /** How long an idle getupdates is held before answering empty. Default 35 000. */
  readonly longPollMs?: number
  /** When set, returned as `longpolling_timeout_ms` in every getupdates answer. */
  readonly longPollingTimeoutMs?: number
  /** How long get_qrcode_status is held waiting for a change. Default min(longPollMs, 1 000). */
  readonly qrStatusHoldMs?: number
  /** Replies allowed after the user's last inbound message. Default 24 h. */
  readonly replyWindowMs?: number
  /** Replies allowed per inbound user message. Default 10. */
  readonly replyBudget?: number
  /** Longest text accepted by sendmessage before "prepare failed". Default 5 000. */
  readonly maxTextChars?: number
  /** getupdates without iLink-App-Id / iLink-App-ClientVersion answers −14 (field behaviour). Default true. */
  readonly requireAppHeaders?: boolean
  /** Which upload location getuploadurl returns. Default "both". */
  readonly uploadUrlMode?: "param" | "full_url" | "both"
  /** New QR codes confirm themselves: first status poll scans, the next confirms. Default false. */
  readonly autoConfirmQr?: boolean
}

export type ResolvedOptions = Required<Omit<EmulatorOptions, "longPollingTimeoutMs">> & {
  readonly longPollingTimeoutMs: number | undefined
}

export const resolveOptions = (options: EmulatorOptions): ResolvedOptions => {
  const longPollMs = options.longPollMs ?? 35_000
  return {
    port: options.port ?? 0,
    longPollMs,
    longPollingTimeoutMs: options.longPollingTimeoutMs,
    qrStatusHoldMs: options.qrStatusHoldMs ?? Math.min(longPollMs, 1_000),
    replyWindowMs: options.replyWindowMs ?? 24 * 60 * 60 * 1000,
    replyBudget: options.replyBudget ?? 10,
    maxTextChars: options.maxTextChars ?? 5_000,
    requireAppHeaders: options.requireAppHeaders ?? true,
    uploadUrlMode: options.uploadUrlMode ?? "both",
    autoConfirmQr: options.autoConfirmQr ?? false
  }
}

export class EmulatorState {
  readonly clock = new EmulatorClock()
  readonly directory = new Directory()
  readonly mailbox = new Mailbox()
  readonly qr = new QrBook()
  readonly qrSignals = new Signals()
  readonly faults = new FaultBook()
  readonly ids = new IdSource()
  readonly requests: Array<RequestRecord> = []
  readonly violations: Array<Violation> = []
  readonly sent: Array<SentRecord> = []
  readonly typing: Array<TypingEvent> = []
  readonly notifications: Array<NotifyEvent> = []
  readonly cdn: CdnStore
  /** X-WECHAT-UIN of the previous request, to spot a client that does not renew the nonce. */
  lastUin: string | undefined = undefined
  /** Filled in once the server listens. */
  origin = "http://127.0.0.1:0"

  constructor(readonly options: ResolvedOptions) {
    this.cdn = new CdnStore(() => this.cdnBaseUrl)
  }

  get baseUrl(): string {
    return `${this.origin}/`
  }

  get cdnBaseUrl(): string {
    return `${this.origin}/c2c`
  }

  get adminUrl(): string {
    return `${this.origin}/admin`
  }

  violate(endpoint: EndpointName | "unknown", rule: string, detail: string): Effect.Effect<void> {
    return Effect.flatMap(this.clock.now, (at) =>
      Effect.sync(() => {
        this.violations.push({ at, endpoint, rule, detail })
      }).pipe(Effect.zipRight(Effect.logDebug(`emulator: ${endpoint} violates ${rule}: ${detail}`)))
    )
  }
}
