/**
 * A turn's media (src/account/InboundMedia.ts) in the host's terms: the ordered media facts of
 * `inbound.buildContext({ media })`, made by the host's `toInboundMediaFacts`, and a body that tells the
 * agent about media it could not get, made by the host's `formatInboundMediaUnavailableText`
 * (`openclaw/plugin-sdk/channel-inbound`, docs/HOST-NOTES.md).
 *
 * The host module is imported on the first turn with media. Should it fail to load, the same facts go
 * to the host as they are and the notice is appended the same way, with one warning: the message still
 * reaches the agent.
 */
import { Effect } from "effect"
import type { InboundMediaKind, TurnMedia } from "../account/InboundMedia.js"
import { describeThrown } from "./ChannelRuntime.js"

type ChannelInboundModule = typeof import("openclaw/plugin-sdk/channel-inbound")
type MediaInput = NonNullable<Parameters<ChannelInboundModule["toInboundMediaFacts"]>[0]>[number]
export type InboundMediaFact = ReturnType<ChannelInboundModule["toInboundMediaFacts"]>[number]

/** The two host helpers a turn's media needs. */
export interface InboundMediaHelpers {
  readonly toInboundMediaFacts: (media: ReadonlyArray<MediaInput>) => Array<InboundMediaFact>
  readonly formatInboundMediaUnavailableText: (params: { readonly body?: string | null; readonly notice: string }) => string
}

/** What the helpers do, for a host whose module cannot be loaded. */
export const fallbackInboundMediaHelpers: InboundMediaHelpers = {
  toInboundMediaFacts: (media) =>
    media.map((input) =>
      Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined && value !== null)) as InboundMediaFact
    ),
  formatInboundMediaUnavailableText: ({ body, notice }) => {
    const text = body?.trim() ?? ""
    return text === "" ? notice.trim() : `${text}\n\n${notice.trim()}`
  }
}

let loaded: Promise<InboundMediaHelpers> | undefined

/** The host's helpers, imported once; the fallback (with a warning) when the import fails. */
export const hostInboundMediaHelpers: Effect.Effect<InboundMediaHelpers> = Effect.tryPromise(() =>
  (loaded ??= import("openclaw/plugin-sdk/channel-inbound").then(
    (module): InboundMediaHelpers => ({
      toInboundMediaFacts: (media) => module.toInboundMediaFacts(media),
      formatInboundMediaUnavailableText: (params) => module.formatInboundMediaUnavailableText(params)
    }),
    (error: unknown) => {
      loaded = undefined
      throw error
    }
  ))
).pipe(
  Effect.catchAll((error) =>
    Effect.as(
      Effect.logWarning(
        `the host's inbound media helpers could not be loaded (${describeThrown(error.error)}); media facts go to the ` +
          "host as they are"
      ),
      fallbackInboundMediaHelpers
    )
  )
)

/** The host's media kinds; a file's kind is left to the host, which knows it from the MIME type. */
const HOST_KIND: Readonly<Record<InboundMediaKind, InboundMediaFact["kind"] | undefined>> = {
  image: "image",
  voice: "audio",
  video: "video",
  file: undefined
}

const LABEL: Readonly<Record<InboundMediaKind, string>> = { image: "image", voice: "voice note", video: "video", file: "file" }

/** The notice for what is missing, or undefined when nothing is. */
export const unavailableNotice = (media: TurnMedia): string | undefined => {
  const total = media.received.length + media.missing.length
  const parts: Array<string> = []
  if (media.missing.length === 1) {
    const only = media.missing[0]!
    const name = only.fileName === undefined ? "" : ` ${only.fileName}`
    const what = `${only.quoted ? "quoted " : ""}${LABEL[only.kind]}${name}`
    parts.push(
      only.reason === "oversize"
        ? `${what} exceeds the ${Math.floor(media.maxBytes / (1024 * 1024))}MB limit`
        : `${what} could not be downloaded`
    )
  } else if (media.missing.length > 1) {
    parts.push(`${media.missing.length} of ${total} attachments could not be downloaded`)
  }
  if (media.skipped > 0) parts.push(`${media.skipped} more attachment(s) not fetched (at most ${total} per message)`)
  return parts.length === 0 ? undefined : `[media unavailable: ${parts.join("; ")}]`
}

/** The context's media facts and the body with the notice for missing media. */
export const mediaContext = (
  media: TurnMedia,
  body: string,
  messageId: string | undefined,
  helpers: InboundMediaHelpers
): { readonly media: Array<InboundMediaFact>; readonly body: string } => {
  const facts = helpers.toInboundMediaFacts(media.received.map((item) => ({
    path: item.path,
    contentType: item.contentType ?? null,
    fileName: item.fileName ?? null,
    kind: HOST_KIND[item.kind] ?? null,
    durationMs: item.durationMs ?? null,
    transcribed: item.transcribed,
    messageId: item.quoted ? null : messageId ?? null
  })))
  const notice = unavailableNotice(media)
  return { media: facts, body: notice === undefined ? body : helpers.formatInboundMediaUnavailableText({ body, notice }) }
}
