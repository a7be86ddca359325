/**
 * One WeChat bot account as the host sees it (`ChannelPlugin<ResolvedWeixinAccount>`), resolved from the
 * channel config and the stored login (PROTOCOL §3.4, with `baseUrl` honoured), in ONE function: its
 * endpoint (base URL, CDN base URL, token), its HTTP settings (what the iLink client's `ILinkSettings`
 * needs) and its actor settings. The account runner, the outbound and status adapters all read this;
 * logins (web and CLI), which have no account yet, read `loginSettingsOf`.
 *
 * Base URL precedence: `accounts.<id>.baseUrl` (the operator named this account's server on purpose), else
 * the base URL stored by the account's QR login (the server assigned it to this bot), else the section's
 * `baseUrl`, else the default host. The section's value is for QR logins and for accounts whose login
 * stored none; it never overrides the server a login was assigned.
 * CDN base URL: `accounts.<id>.cdnBaseUrl`, else the section's, else the default CDN.
 * `dmPolicy`, `allowFrom`, `textChunkLimit`, `mediaMaxMb`, `routeTag`: the account's own, else the section's
 * (for `textChunkLimit` the same precedence as the host's `resolveTextChunkLimit`).
 */
import { Option, Redacted } from "effect"
import { normalizeAccountId } from "../domain/AccountId.js"
import {
  DEFAULT_CDN_BASE_URL,
  DEFAULT_ILINK_BASE_URL,
  DEFAULT_MEDIA_MAX_MB,
  DEFAULT_PROTOCOL_VERSION
} from "./Defaults.js"
import type { AccountConfig, ChannelConfig, DmPolicy } from "./ChannelConfig.js"
import { type ActorSettings, defaultActorSettings } from "./Tuning.js"
import { type QuotePolicy, quotePolicyOf } from "./QuotePolicy.js"
import { nonBlank } from "../domain/NonBlank.js"

/** What a QR login stored for an account (the state folder's `StoredAccount` satisfies it). */
export interface StoredLogin {
  readonly token?: Redacted.Redacted<string> | undefined
  readonly baseUrl?: string | undefined
  readonly userId?: string | undefined
}

export type BaseUrlSource = "login" | "account-config" | "channel-config" | "default"

/** What every iLink request of the account carries from the config (the iLink client's `ILinkSettings`). */
export interface HttpSettings {
  /** raw `botAgent`; the client sanitises it into `base_info.bot_agent` (PROTOCOL §1.4) */
  readonly botAgent: string | undefined
  /** `SKRouteTag` header: the account's own route tag, else the section's */
  readonly routeTag: string | number | undefined
  /** the protocol level of `iLink-App-ClientVersion` and `base_info.channel_version` (PROTOCOL §1.3, §1.4) */
  readonly protocolVersion: string
}

/** Who may reach this account's agent (src/host/Access.ts decides with it). */
export interface AccessSettings {
  readonly dmPolicy: DmPolicy
  readonly allowFrom: ReadonlyArray<string>
}

export interface ResolvedWeixinAccount {
  /** normalized id (`b0f5860fdecb-im-bot`) */
  readonly accountId: string
  readonly name: string | undefined
  readonly enabled: boolean
  /** a bot token is stored: the account has logged in */
  readonly configured: boolean
  readonly baseUrl: string
  readonly baseUrlSource: BaseUrlSource
  readonly cdnBaseUrl: string
  /** `mediaMaxMb` in bytes: the account's own, else the section's, else the default */
  readonly mediaMaxBytes: number
  readonly token: Redacted.Redacted<string> | undefined
  /** the WeChat user who scanned the login QR */
  readonly userId: string | undefined
  /** the account's own config entry (or `{}`) */
  readonly accountConfig: AccountConfig
  readonly http: HttpSettings
  /** `dmPolicy` and `allowFrom`: the account's own, else the section's */
  readonly access: AccessSettings
  /** what its actor runs with: the section's concurrency and the account's chunk limit over the (tuned) defaults */
  readonly actor: ActorSettings
  /** the quote store's policy (`quoteCache`, PROTOCOL §7.5) */
  readonly quotes: QuotePolicy
}

/** The HTTP settings the section gives every request (an account may override its route tag). */
const sectionHttp = (config: ChannelConfig): HttpSettings => ({
  botAgent: config.botAgent,
  routeTag: config.routeTag,
  protocolVersion: config.protocolVersion ?? DEFAULT_PROTOCOL_VERSION
})

/** The config entry of an account: keyed by normalized id, or by a raw key that normalizes to it. */
export const accountConfigOf = (config: ChannelConfig, accountId: string): AccountConfig => {
  const accounts = config.accounts ?? {}
  if (Object.hasOwn(accounts, accountId)) return accounts[accountId] ?? {}
  const match = Object.keys(accounts).find((key) => normalizeAccountId(key) === accountId)
  return match === undefined ? {} : accounts[match] ?? {}
}

/** The access settings of an account entry over the section's. */
export const accessOf = (config: ChannelConfig, entry: AccountConfig): AccessSettings => ({
  dmPolicy: entry.dmPolicy ?? config.dmPolicy,
  allowFrom: entry.allowFrom ?? config.allowFrom ?? []
})

/**
 * The account as configured and logged in. `tuning` (tests and benchmarks) overrides the actor settings
 * a user cannot set; the ones a user can set come from the config only.
 */
export const resolveWeixinAccount = (
  config: ChannelConfig,
  rawAccountId: string,
  stored: Option.Option<StoredLogin>,
  tuning: Partial<ActorSettings> = {}
): ResolvedWeixinAccount => {
  const accountId = normalizeAccountId(rawAccountId)
  const entry = accountConfigOf(config, accountId)
  const login = Option.getOrUndefined(stored)
  const tokenText = login?.token === undefined ? undefined : nonBlank(Redacted.value(login.token))
  const candidates: ReadonlyArray<readonly [string | undefined, BaseUrlSource]> = [
    [nonBlank(entry.baseUrl), "account-config"],
    [nonBlank(login?.baseUrl), "login"],
    [nonBlank(config.baseUrl), "channel-config"],
    [DEFAULT_ILINK_BASE_URL, "default"]
  ]
  const [baseUrl, baseUrlSource] = candidates.find(([value]) => value !== undefined) as readonly [string, BaseUrlSource]
  return {
    accountId,
    name: nonBlank(entry.name) ?? nonBlank(config.name),
    enabled: entry.enabled !== false && config.enabled !== false,
    configured: tokenText !== undefined,
    baseUrl,
    baseUrlSource,
    cdnBaseUrl: nonBlank(entry.cdnBaseUrl) ?? nonBlank(config.cdnBaseUrl) ?? DEFAULT_CDN_BASE_URL,
    mediaMaxBytes: (entry.mediaMaxMb ?? config.mediaMaxMb ?? DEFAULT_MEDIA_MAX_MB) * 1024 * 1024,
    token: tokenText === undefined ? undefined : Redacted.make(tokenText),
    userId: nonBlank(login?.userId),
    accountConfig: entry,
    http: { ...sectionHttp(config), routeTag: entry.routeTag ?? config.routeTag },
    access: accessOf(config, entry),
    actor: {
      ...defaultActorSettings,
      ...tuning,
      dispatchConcurrency: config.dispatchConcurrency,
      chunkLimit: entry.textChunkLimit ?? config.textChunkLimit
    },
    quotes: quotePolicyOf(config.quoteCache)
  }
}

/** What a QR login (web or CLI) reads from the config: where to fetch the QR, and the section's HTTP settings. */
export interface LoginSettings {
  /** `channels.openclaw-weixin.baseUrl`; the login falls back to the default host */
  readonly qrBaseUrl: string | undefined
  readonly http: HttpSettings
}

export const loginSettingsOf = (config: ChannelConfig): LoginSettings => ({
  qrBaseUrl: config.baseUrl,
  http: sectionHttp(config)
})
