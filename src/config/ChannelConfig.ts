/**
 * The channel section of the host config, `channels.openclaw-weixin` (PROTOCOL §8.6 plus our own keys), as an
 * Effect Schema. One schema serves three purposes:
 * - decoding the section the host hands us (`decodeChannelConfig`), with defaults applied, so the adapters
 *   never read raw config;
 * - the JSON schema the host validates the section with (`channelConfigJsonSchema`), written into
 *   openclaw.plugin.json and returned as the channel `configSchema.schema`;
 * - the error a bad section produces: `ChannelConfigError`, whose message names the host's config path.
 *
 * Keys the official plugin writes (`channelConfigUpdatedAt`, `quoteCache`) are accepted so an existing
 * install's config stays valid; `quoteCache` is honoured (config/QuotePolicy.ts), `channelConfigUpdatedAt`
 * is accepted and not used; each says so in its description, and the README's table lists every key with
 * what it does here.
 */
import { Either, JSONSchema, ParseResult, Schema } from "effect"
import { DEFAULT_DISPATCH_CONCURRENCY, DEFAULT_TEXT_CHUNK_LIMIT, MAX_MEDIA_MAX_MB } from "./Defaults.js"
import { ilinkBaseUrlField } from "./BaseUrlField.js"

export const CHANNEL_CONFIG_PATH = "channels.openclaw-weixin"

const PositiveInt = (max: number, description: string) =>
  Schema.Number.pipe(
    Schema.int({ message: () => `must be a whole number from 1 to ${max}` }),
    Schema.between(1, max, { message: () => `must be a whole number from 1 to ${max}` })
  ).annotations({ jsonSchema: { type: "integer", minimum: 1, maximum: max, description } })

/** An optional key that, when present, must hold a value (never an explicit `undefined`). */
const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

const MediaMaxMb = PositiveInt(
  MAX_MEDIA_MAX_MB,
  "largest media file, in MB, downloaded from or uploaded to WeChat (default 100)"
)

const versionPart = (part: string) => /^\d{1,3}$/.test(part) && Number(part) <= 255
const ProtocolVersion = Schema.String.pipe(
  Schema.filter((text) => {
    const parts = text.split(".")
    return parts.length === 3 && parts.every(versionPart)
      ? true
      : "must be three numbers from 0 to 255 separated by dots, like 2.4.9"
  })
).annotations({
  jsonSchema: {
    type: "string",
    pattern: "^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$",
    description: "iLink protocol level sent in iLink-App-ClientVersion and base_info.channel_version " +
      "(default 2.4.9, the official plugin's); change it only if Tencent asks for a newer level"
  }
})

const TrimmedText = Schema.String.annotations({ description: "text; surrounding spaces are ignored" })
const RouteTag = Schema.Union(Schema.Number, Schema.String).annotations({
  description: "value of the SKRouteTag header (number or string); empty means no header"
})

export const DmPolicy = Schema.Literal("pairing", "allowlist", "open", "disabled").annotations({
  description: "who may talk to the bot in direct messages: pairing (codes for unknown senders, the default), " +
    "allowlist (only allowFrom), open (anyone), disabled (nobody)"
})
export type DmPolicy = typeof DmPolicy.Type

const AllowFrom = Schema.Array(Schema.String).annotations({
  description: "WeChat user ids (…@im.wechat) always allowed to talk to the bot, under pairing and allowlist; " +
    "\"*\" allows everyone"
})

const TextChunkLimit = PositiveInt(4000, "longest text sent as one WeChat message; longer replies are split")

/** `channels.openclaw-weixin.accounts.<id>`: per-account overrides. */
export const AccountConfig = Schema.Struct({
  name: optional(TrimmedText.annotations({ description: "display name of the account" })),
  enabled: optional(Schema.Boolean.annotations({ description: "false keeps the account stopped" })),
  baseUrl: optional(ilinkBaseUrlField("iLink API base URL for this account")),
  cdnBaseUrl: optional(TrimmedText.annotations({ description: "CDN base URL for this account" })),
  routeTag: optional(RouteTag),
  mediaMaxMb: optional(MediaMaxMb),
  dmPolicy: optional(DmPolicy.annotations({ description: "this account's dmPolicy (default: the section's)" })),
  allowFrom: optional(AllowFrom.annotations({ description: "this account's allowFrom (default: the section's)" })),
  textChunkLimit: optional(TextChunkLimit)
})
export type AccountConfig = typeof AccountConfig.Type

/**
 * The quote store (PROTOCOL §7.5), with the official plugin's keys. Numbers stay lenient: a value that is not
 * positive falls back to its default (config/QuotePolicy.ts), as in the official plugin.
 */
const quoteNumber = (description: string) => optional(Schema.Number.annotations({ description }))
const QuoteCacheConfig = Schema.Struct({
  enabled: optional(Schema.Boolean.annotations({ description: "false: no quote store; id-only quotes reach the agent as a placeholder" })),
  retentionDays: quoteNumber("days a message is remembered for quotes (default 30)"),
  maxMessagesPerAccount: quoteNumber("messages remembered per account (default 10000)"),
  mediaRetentionDays: quoteNumber("days a remembered message's media can be re-attached to a quote (default 7)"),
  maxMediaBytesPerAccount: quoteNumber("bytes of media quotes can re-attach, per account (default 268435456)"),
  maxSingleMediaBytes: quoteNumber("largest media file remembered for quotes, in bytes (default 26214400)")
}).annotations({ description: "the quote store: what id-only WeChat quotes are resolved from" })

export const ChannelConfig = Schema.Struct({
  name: optional(TrimmedText.annotations({ description: "display name used when an account has none" })),
  enabled: optional(Schema.Boolean),
  baseUrl: optional(
    ilinkBaseUrlField("iLink API base URL (QR login, and accounts without a stored one)")
  ),
  cdnBaseUrl: optional(TrimmedText.annotations({ description: "CDN base URL" })),
  botAgent: optional(Schema.String.annotations({ description: "base_info.bot_agent sent to the server" })),
  protocolVersion: optional(ProtocolVersion),
  routeTag: optional(RouteTag),
  accounts: optional(Schema.Record({ key: Schema.String, value: AccountConfig })),
  dispatchConcurrency: Schema.optionalWith(
    PositiveInt(64, "agent turns of different WeChat users handled at once, per account"),
    { exact: true, default: () => DEFAULT_DISPATCH_CONCURRENCY }
  ),
  textChunkLimit: Schema.optionalWith(TextChunkLimit, { exact: true, default: () => DEFAULT_TEXT_CHUNK_LIMIT }),
  mediaMaxMb: optional(MediaMaxMb),
  replyProgressMessages: Schema.optionalWith(
    Schema.Boolean.annotations({ description: "show tool-call progress items while the agent works" }),
    { exact: true, default: () => true }
  ),
  dmPolicy: Schema.optionalWith(DmPolicy, { exact: true, default: () => "pairing" as const }),
  allowFrom: optional(AllowFrom),
  quoteCache: optional(QuoteCacheConfig),
  channelConfigUpdatedAt: optional(Schema.String.annotations({
    description: "written by the official plugin after a login to make the host reload the channel; " +
      "accepted and ignored here (a login reaches the running gateway directly)"
  }))
}).annotations({ title: "openclaw-weixin channel", description: "WeChat (Weixin) channel over the iLink bot API" })

export type ChannelConfig = typeof ChannelConfig.Type

/** The host config section was not what this plugin understands; `issues` name each bad path. */
export class ChannelConfigError extends Schema.TaggedError<ChannelConfigError>()("ChannelConfigError", {
  issues: Schema.Array(Schema.Struct({ path: Schema.String, problem: Schema.String }))
}) {
  override get message(): string {
    const lines = this.issues.map((issue) => `${issue.path}: ${issue.problem}`)
    return `invalid WeChat channel config (${lines.join("; ")}); fix it with \`openclaw config set\` or in openclaw.json`
  }
}

const decodeSection = Schema.decodeUnknownEither(ChannelConfig, { errors: "all" })

/** The `channels.openclaw-weixin` section of a host config object (`{}` when absent). */
export const channelSectionOf = (cfg: unknown): unknown => {
  if (typeof cfg !== "object" || cfg === null) return {}
  const channels = (cfg as { readonly channels?: unknown }).channels
  if (typeof channels !== "object" || channels === null) return {}
  return (channels as Record<string, unknown>)["openclaw-weixin"] ?? {}
}

/** Decodes the section (with defaults); a bad section becomes a ChannelConfigError naming host paths. */
export const decodeChannelConfig = (section: unknown): Either.Either<ChannelConfig, ChannelConfigError> =>
  Either.mapLeft(decodeSection(section), (error) =>
    new ChannelConfigError({
      issues: ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
        path: [CHANNEL_CONFIG_PATH, ...issue.path.map(String)].join("."),
        problem: issue.message
      }))
    }))

/** Decodes the channel section out of a whole host config. */
export const channelConfigFromHostConfig = (cfg: unknown): Either.Either<ChannelConfig, ChannelConfigError> =>
  decodeChannelConfig(channelSectionOf(cfg))

// set by scripts/build.mjs to the schema already generated into openclaw.plugin.json (a test keeps the two
// equal), so the bundle carries no JSON-schema generator
declare const __CHANNEL_CONFIG_JSON_SCHEMA__: Record<string, unknown> | undefined

/** The JSON schema the host validates `channels.openclaw-weixin` with (also in openclaw.plugin.json). */
export const channelConfigJsonSchema: Record<string, unknown> = typeof __CHANNEL_CONFIG_JSON_SCHEMA__ !== "undefined"
  ? __CHANNEL_CONFIG_JSON_SCHEMA__
  : JSONSchema.make(ChannelConfig) as unknown as Record<string, unknown>

/** The section with nothing set: every default applied. */
export const defaultChannelConfig: ChannelConfig = Either.getOrThrow(decodeChannelConfig({}))
