/**
 * InboundMedia: the Media step of a turn (ARCHITECTURE "Media"). For each media item of a claimed message
 * (at most MAX_INBOUND_MEDIA_ITEMS, in list order) and the media of the message a quote points to, it
 * downloads the ciphertext from the CDN, decrypts it as it streams, and stores the plaintext through the
 * InboundMediaStore under the account's `mediaMaxMb` cap (PROTOCOL §6.3). Voice notes are SILK: they are
 * decoded to WAV (PROTOCOL §6.4); a voice note the server transcribed is marked `transcribed`.
 *
 * It never fails: an item that cannot be had (no key, a CDN fault, too large, a wrong key, a corrupt SILK
 * stream) becomes a {@link MissingMedia} with its typed cause and one warning line; the turn goes on with a
 * placeholder. Error messages of the CDN and key modules carry no secret (no key, no signed parameter),
 * and only they are logged.
 *
 * Items are fetched one after the other inside the peer's turn, so one peer's slow download holds up
 * only that peer. What was stored is remembered per process by account, message key and item position: a turn
 * dispatched again (after an account restart) reuses the file while the store still has it.
 */
import { Effect, Either, Stream } from "effect"
import { INBOUND_MEDIA_MEMORY, MAX_INBOUND_MEDIA_ITEMS } from "../config/Defaults.js"
import { safeFileName } from "../domain/InboundMediaName.js"
import { CdnDownload } from "../ilink/CdnDownload.js"
import { inboundDownloadRequest, type InboundMediaItem } from "../ilink/CdnInboundItem.js"
import { type MessageItem, MessageItemType } from "../wire/Message.js"
import type { ClaimedMessage } from "./InboxRecords.js"
import { InboundMediaStore, type StoredInboundMedia } from "./InboundMediaStore.js"
import { DEFAULT_VOICE_LIMITS, VoiceDecoder } from "./VoiceDecoder.js"

export type InboundMediaKind = "image" | "voice" | "file" | "video"

/** Media of the turn that is stored and can be handed to the agent. */
export interface ReceivedMedia extends StoredInboundMedia {
  readonly kind: InboundMediaKind
  /** the sender's file name, made safe (files only) */
  readonly fileName?: string | undefined
  /** length of a decoded voice note */
  readonly durationMs?: number | undefined
  /** the server sent a transcript of this voice note (it is the message body) */
  readonly transcribed: boolean
  /** it belongs to the quoted message, not to this one */
  readonly quoted: boolean
}

/** Media the turn should have had and does not; the agent gets a placeholder for it. */
export interface MissingMedia {
  readonly kind: InboundMediaKind
  readonly fileName?: string | undefined
  readonly quoted: boolean
  /** `oversize` when the cap refused it, `failed` otherwise */
  readonly reason: "oversize" | "failed"
  /** the tag of the typed error (`CdnHttpError`, `AesKeyError`, `VoiceDecodeError`, …) */
  readonly cause: string
  /** its message: what failed, never a secret */
  readonly detail: string
}

/** The media facts of one turn. */
export interface TurnMedia {
  readonly received: ReadonlyArray<ReceivedMedia>
  readonly missing: ReadonlyArray<MissingMedia>
  /** media items past the cap, neither fetched nor counted as missing */
  readonly skipped: number
  /** the cap the items were fetched under, in bytes */
  readonly maxBytes: number
}

/** Where one account fetches media from, and how much it accepts. */
export interface InboundMediaSettings {
  /** the account the messages belong to (message keys like `seq:…` are unique per account only) */
  readonly accountId: string
  readonly cdnBaseUrl: string
  /** `mediaMaxMb` in bytes */
  readonly maxBytes: number
}

export const noMedia = (maxBytes: number): TurnMedia => ({ received: [], missing: [], skipped: 0, maxBytes })

const KINDS: Readonly<Record<number, InboundMediaKind>> = {
  [MessageItemType.IMAGE]: "image",
  [MessageItemType.VOICE]: "voice",
  [MessageItemType.FILE]: "file",
  [MessageItemType.VIDEO]: "video"
}

interface Candidate {
  readonly kind: InboundMediaKind
  /** undefined when the payload could not be read (the wire decoded it as an unsupported item) */
  readonly item: InboundMediaItem | undefined
  readonly quoted: boolean
  /** position for the re-dispatch memory: `3`, or `q0` for the quote's media */
  readonly slot: string
}

const asMediaItem = (item: MessageItem): InboundMediaItem | undefined =>
  ("image_item" in item || "voice_item" in item || "file_item" in item || "video_item" in item)
    ? item as InboundMediaItem
    : undefined

/** The media items of a message in list order, then the media of the first quote that has one. */
export const mediaCandidates = (items: ReadonlyArray<MessageItem>): { readonly candidates: ReadonlyArray<Candidate>; readonly skipped: number } => {
  const own: Array<Candidate> = []
  items.forEach((item, index) => {
    const kind = KINDS[item.type]
    if (kind !== undefined) own.push({ kind, item: asMediaItem(item), quoted: false, slot: String(index) })
  })
  const quotedItem = items.map((item) => item.ref_msg?.message_item).find((quoted) => quoted !== undefined && KINDS[quoted.type] !== undefined)
  const quoted: Array<Candidate> = quotedItem === undefined
    ? []
    : [{ kind: KINDS[quotedItem.type] as InboundMediaKind, item: asMediaItem(quotedItem), quoted: true, slot: "q0" }]
  return { candidates: [...own.slice(0, MAX_INBOUND_MEDIA_ITEMS), ...quoted], skipped: Math.max(0, own.length - MAX_INBOUND_MEDIA_ITEMS) }
}

/** What the store is told about each kind (PROTOCOL §6.3): video is mp4, voice becomes WAV, the rest is sniffed. */
const contentTypeOf = (kind: InboundMediaKind): string | undefined => (kind === "video" ? "video/mp4" : undefined)

interface Failure {
  readonly _tag: string
  readonly message: string
}

export class InboundMedia extends Effect.Service<InboundMedia>()("openclaw-weixin/InboundMedia", {
  effect: Effect.gen(function*() {
    const cdn = yield* CdnDownload
    const voice = yield* VoiceDecoder
    const store = yield* InboundMediaStore
    // message key + slot → stored file; oldest first, bounded
    const remembered = new Map<string, ReceivedMedia>()
    const remember = (key: string, media: ReceivedMedia) => {
      remembered.delete(key)
      remembered.set(key, media)
      for (const oldest of remembered.keys()) {
        if (remembered.size <= INBOUND_MEDIA_MEMORY) break
        remembered.delete(oldest)
      }
    }

    const download = (candidate: Candidate, item: InboundMediaItem, settings: InboundMediaSettings) =>
      Effect.gen(function*() {
        const request = yield* inboundDownloadRequest(item, settings)
        const fileName = item.type === MessageItemType.FILE ? safeFileName(item.file_item.file_name) : undefined
        if (item.type === MessageItemType.VOICE) {
          // a voice note is small (a minute of SILK is ~60 KB): fetched whole, decoded, stored as WAV
          const cap = Math.min(settings.maxBytes, DEFAULT_VOICE_LIMITS.maxBytes)
          const silk = yield* cdn.bytes({ ...request, maxBytes: cap })
          const decoded = yield* voice.toWav(silk, { maxBytes: cap })
          const saved = yield* store.save({ chunks: Stream.make(decoded.wav), contentType: decoded.mimeType, maxBytes: settings.maxBytes })
          const transcript = item.voice_item.text
          return {
            ...saved,
            kind: candidate.kind,
            durationMs: decoded.durationMs,
            transcribed: transcript !== undefined && transcript.trim() !== "",
            quoted: candidate.quoted
          } satisfies ReceivedMedia
        }
        const saved = yield* Effect.scoped(
          Effect.flatMap(cdn.open(request), (opened) =>
            store.save({ chunks: opened.plaintext, contentType: contentTypeOf(candidate.kind), fileName, maxBytes: settings.maxBytes }))
        )
        return { ...saved, kind: candidate.kind, fileName, transcribed: false, quoted: candidate.quoted } satisfies ReceivedMedia
      })

    const fetchOne = (messageKey: string, candidate: Candidate, settings: InboundMediaSettings) =>
      Effect.gen(function*() {
        const memoKey = `${settings.accountId}/${messageKey}#${candidate.slot}`
        const earlier = remembered.get(memoKey)
        if (earlier !== undefined && (yield* store.exists(earlier.path))) {
          yield* Effect.logDebug(`inbound ${candidate.kind} of ${messageKey} was stored by an earlier run of this turn; reused`)
          return Either.right(earlier)
        }
        const item = candidate.item
        const outcome: Either.Either<ReceivedMedia, Failure> = item === undefined
          ? Either.left({ _tag: "UnreadableMediaItem", message: `the ${candidate.kind} item's payload could not be read` })
          : yield* Effect.either(download(candidate, item, settings))
        if (Either.isRight(outcome)) remember(memoKey, outcome.right)
        return outcome
      })

    /** The media of one claimed message, fetched and stored; never fails. */
    const fetch = Effect.fn("InboundMedia.fetch")(function*(claimed: ClaimedMessage, settings: InboundMediaSettings) {
      const { candidates, skipped } = mediaCandidates(claimed.message.item_list ?? [])
      if (skipped > 0) {
        yield* Effect.logWarning(
          `message ${claimed.key} carries ${MAX_INBOUND_MEDIA_ITEMS + skipped} media items; only the first ` +
            `${MAX_INBOUND_MEDIA_ITEMS} are fetched`
        )
      }
      const received: Array<ReceivedMedia> = []
      const missing: Array<MissingMedia> = []
      for (const candidate of candidates) {
        const outcome = yield* fetchOne(claimed.key, candidate, settings)
        if (Either.isRight(outcome)) {
          received.push(outcome.right)
          continue
        }
        const error = outcome.left
        const fileName = candidate.item?.type === MessageItemType.FILE ? safeFileName(candidate.item.file_item.file_name) : undefined
        const oversize = error._tag === "CdnTooLarge" || (error._tag === "InboundMediaStoreError" && "problem" in error && error.problem === "too_large")
        missing.push({
          kind: candidate.kind,
          quoted: candidate.quoted,
          reason: oversize ? "oversize" : "failed",
          cause: error._tag,
          detail: error.message,
          ...(fileName === undefined ? {} : { fileName })
        })
        yield* Effect.logWarning(
          `inbound ${candidate.quoted ? "quoted " : ""}${candidate.kind} of message ${claimed.key} is unavailable ` +
            `(${error._tag}): ${error.message}; the turn goes on with a placeholder`
        )
      }
      return { received, missing, skipped, maxBytes: settings.maxBytes } satisfies TurnMedia
    })

    return { fetch } as const
  }),
  dependencies: [CdnDownload.Default, VoiceDecoder.Default]
}) {}
