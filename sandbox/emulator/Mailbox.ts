/**
 * Per-bot inbound log behind getupdates. Each delivery (first or redelivered) gets a sequence
 * number; the cursor handed to the client is base64 of "<bot salt>.<last seq>", opaque to it.
 * Long-polls wait on a per-bot signal that fires when something is appended.
 */
import type { Effect } from "effect"
import { Signals } from "./Signals.js"
import type { RawJsonText } from "./WireJson.js"

export interface MailboxEntry {
  readonly seq: number
  /** Decimal message_id, if the message has one (used for redelivery lookups). */
  readonly messageId: string | undefined
  /** The message as written into the response (built with BareInteger ids), or raw text. */
  readonly message: object | RawJsonText
}

interface BotMailbox {
  readonly entries: Array<MailboxEntry>
  nextSeq: number
  ignoreCursorOnce: boolean
}

export type CursorReading =
  | { readonly _tag: "Start" }
  | { readonly _tag: "After"; readonly seq: number }
  | { readonly _tag: "Foreign"; readonly reason: string }

export class Mailbox {
  private readonly boxes = new Map<string, BotMailbox>()
  private readonly signals = new Signals()

  private box(botId: string): BotMailbox {
    let box = this.boxes.get(botId)
    if (box === undefined) {
      box = { entries: [], nextSeq: 1, ignoreCursorOnce: false }
      this.boxes.set(botId, box)
    }
    return box
  }

  append(botId: string, messageId: string | undefined, build: (seq: number) => object | RawJsonText): MailboxEntry {
    const box = this.box(botId)
    const seq = box.nextSeq++
    const entry: MailboxEntry = { seq, messageId, message: build(seq) }
    box.entries.push(entry)
    this.wake(botId)
    return entry
  }

  /** Wakes every long-poll of this bot (new message, session expired, emulator closing). */
  wake(botId: string): void {
    this.signals.fire(botId)
  }

  find(botId: string, messageId: string): MailboxEntry | undefined {
    return this.box(botId).entries.find((e) => e.messageId === messageId)
  }

  entries(botId: string): ReadonlyArray<MailboxEntry> {
    return this.box(botId).entries
  }

  setIgnoreCursorOnce(botId: string): void {
    this.box(botId).ignoreCursorOnce = true
  }

  /** Entries after the cursor; consumes the ignore-cursor flag (then everything is returned). */
  after(botId: string, cursor: CursorReading): ReadonlyArray<MailboxEntry> {
    const box = this.box(botId)
    if (box.ignoreCursorOnce && box.entries.length > 0) {
      box.ignoreCursorOnce = false
      return box.entries.slice()
    }
    const from = cursor._tag === "After" ? cursor.seq : 0
    return box.entries.filter((e) => e.seq > from)
  }

  /** Waits until something is appended or the timeout passes; true when woken. */
  waitForChange(botId: string, timeoutMs: number): Effect.Effect<boolean> {
    return this.signals.wait(botId, timeoutMs)
  }

  cursorFor(salt: string, seq: number): string {
    return Buffer.from(`${salt}.${seq}`, "utf8").toString("base64")
  }

  lastSeq(botId: string): number {
    return this.box(botId).nextSeq - 1
  }

  readCursor(salt: string, cursor: string): CursorReading {
    if (cursor === "") return { _tag: "Start" }
    const decoded = Buffer.from(cursor, "base64").toString("utf8")
    const match = /^([0-9a-f]+)\.(\d+)$/.exec(decoded)
    if (match === null) return { _tag: "Foreign", reason: "not a cursor this server issued" }
    if (match[1] !== salt) return { _tag: "Foreign", reason: "cursor was issued to a different bot" }
    return { _tag: "After", seq: Number(match[2]) }
  }
}
