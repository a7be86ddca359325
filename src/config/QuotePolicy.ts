/**
 * The quote store's policy for one account, from `channels.openclaw-weixin.quoteCache` (PROTOCOL §7.5).
 * As in the official plugin, a value that makes no sense (not a positive finite number) falls back to its
 * default instead of failing the config: the section may have been written by the official plugin.
 */
import {
  DEFAULT_QUOTE_MAX_MEDIA_BYTES,
  DEFAULT_QUOTE_MAX_MESSAGES,
  DEFAULT_QUOTE_MAX_SINGLE_MEDIA_BYTES,
  DEFAULT_QUOTE_MEDIA_RETENTION_DAYS,
  DEFAULT_QUOTE_RETENTION_DAYS
} from "./Defaults.js"

export interface QuoteCacheSection {
  readonly enabled?: boolean
  readonly retentionDays?: number
  readonly maxMessagesPerAccount?: number
  readonly mediaRetentionDays?: number
  readonly maxMediaBytesPerAccount?: number
  readonly maxSingleMediaBytes?: number
}

export interface QuotePolicy {
  /** `false` turns the store off: nothing is recorded, id-only quotes get the placeholder */
  readonly enabled: boolean
  readonly retentionMs: number
  readonly maxMessages: number
  readonly mediaRetentionMs: number
  readonly maxMediaBytes: number
  readonly maxSingleMediaBytes: number
}

const DAY_MS = 24 * 60 * 60_000

const positive = (value: number | undefined, fallback: number): number =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback

export const quotePolicyOf = (section: QuoteCacheSection | undefined): QuotePolicy => ({
  enabled: section?.enabled !== false,
  retentionMs: positive(section?.retentionDays, DEFAULT_QUOTE_RETENTION_DAYS) * DAY_MS,
  maxMessages: Math.floor(positive(section?.maxMessagesPerAccount, DEFAULT_QUOTE_MAX_MESSAGES)),
  mediaRetentionMs: positive(section?.mediaRetentionDays, DEFAULT_QUOTE_MEDIA_RETENTION_DAYS) * DAY_MS,
  maxMediaBytes: positive(section?.maxMediaBytesPerAccount, DEFAULT_QUOTE_MAX_MEDIA_BYTES),
  maxSingleMediaBytes: positive(section?.maxSingleMediaBytes, DEFAULT_QUOTE_MAX_SINGLE_MEDIA_BYTES)
})

export const defaultQuotePolicy: QuotePolicy = quotePolicyOf(undefined)
