/**
 * `allowlist`: lets the host's own tools edit who may write to the bot (the `/allowlist add|remove dm
 * <id>` chat command and the Control UI) instead of editing the config by hand. Direct messages only:
 * the channel has no groups (capabilities.chatTypes is `direct`).
 *
 * The list edited is the one the account's dmPolicy reads (src/host/Access.ts): the account's own
 * `channels.openclaw-weixin.accounts.<id>.allowFrom` when it has one (it wins over the section's), else
 * `channels.openclaw-weixin.allowFrom`.
 * An entry is a WeChat user id (`…@im.wechat`; anything else is an invalid entry); it is stored in the spelling the server uses (prefixes such as `user:`
 * dropped, case kept, PROTOCOL §1.5 / src/domain/PeerId.ts) and compared case-insensitively, so adding
 * an id twice in another case changes nothing and removing matches any case. `*` (everyone) is accepted
 * as the host's other channels accept it.
 */
import { Either, Option } from "effect"
import { DEFAULT_ACCOUNT_ID, normalizeAccountId, WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { looksLikeWeixinUserId, normalizePeerId } from "../domain/PeerId.js"
import { CHANNEL_CONFIG_PATH } from "../config/ChannelConfig.js"
import { resolveWeixinAccount } from "../config/ResolvedAccount.js"
import { normalizeAllowEntry } from "../host/Access.js"
import { channelConfigOrThrow } from "./ConfigAdapter.js"
import type { AllowlistEditParams, AllowlistEditResult, WeixinAllowlistAdapter } from "./SdkTypes.js"

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/** `parsed.channels["openclaw-weixin"]`, created when missing. */
const channelSection = (parsed: Json): Json => {
  const channels = isRecord(parsed["channels"]) ? parsed["channels"] : (parsed["channels"] = {})
  const section = (channels as Json)[WEIXIN_CHANNEL_ID]
  if (isRecord(section)) return section
  const created: Json = {}
  ;(channels as Json)[WEIXIN_CHANNEL_ID] = created
  return created
}

/** `accounts.<id>` of the section when that account keeps its own allow-list, else undefined. */
const ownAccountList = (section: Json, accountId: string | null | undefined): { readonly id: string; readonly entry: Json } | undefined => {
  if (accountId === undefined || accountId === null) return undefined
  const accounts = section["accounts"]
  if (!isRecord(accounts)) return undefined
  const id = normalizeAccountId(accountId)
  const key = Object.keys(accounts).find((candidate) => normalizeAccountId(candidate) === id)
  const entry = key === undefined ? undefined : accounts[key]
  return key !== undefined && isRecord(entry) && Array.isArray(entry["allowFrom"]) ? { id: key, entry } : undefined
}

/** The entry as stored, or undefined when it is not a WeChat user id (nor `*`). */
export const allowEntryOf = (entry: string): string | undefined =>
  entry.trim() === "*"
    ? "*"
    : looksLikeWeixinUserId(entry)
    ? Either.match(normalizePeerId(entry), { onLeft: () => undefined, onRight: (peer) => peer.id })
    : undefined

/** Edits `parsedConfig` in place, as the host asks; the host validates and writes it. */
export const applyAllowlistEdit = (
  params: Pick<AllowlistEditParams, "parsedConfig" | "scope" | "action" | "entry" | "accountId">
): AllowlistEditResult | null => {
  if (params.scope !== "dm") return null
  const stored = allowEntryOf(params.entry)
  if (stored === undefined) return { kind: "invalid-entry" }
  const channel = channelSection(params.parsedConfig)
  const own = ownAccountList(channel, params.accountId)
  const section = own?.entry ?? channel
  const current = Array.isArray(section["allowFrom"]) ? section["allowFrom"].map(String) : []
  const key = normalizeAllowEntry(stored)
  const present = current.some((existing) => normalizeAllowEntry(existing) === key)
  const next = params.action === "add"
    ? present ? current : [...current, stored]
    : current.filter((existing) => normalizeAllowEntry(existing) !== key)
  const changed = next.length !== current.length
  if (changed) section["allowFrom"] = next
  return {
    kind: "ok",
    changed,
    ...(own === undefined
      ? { pathLabel: `${CHANNEL_CONFIG_PATH}.allowFrom`, writeTarget: { kind: "channel", scope: { channelId: WEIXIN_CHANNEL_ID } } }
      : {
        pathLabel: `${CHANNEL_CONFIG_PATH}.accounts.${own.id}.allowFrom`,
        writeTarget: { kind: "account", scope: { channelId: WEIXIN_CHANNEL_ID, accountId: own.id } }
      })
  }
}

export const allowlistAdapter: WeixinAllowlistAdapter = {
  supportsScope: ({ scope }) => scope === "dm",
  // the account's effective list and policy, as dmPolicy decides with them
  readConfig: ({ cfg, accountId }) => {
    const account = resolveWeixinAccount(channelConfigOrThrow(cfg), normalizeAccountId(accountId ?? DEFAULT_ACCOUNT_ID), Option.none())
    return { dmAllowFrom: [...account.access.allowFrom], dmPolicy: account.access.dmPolicy }
  },
  applyConfigEdit: (params) => applyAllowlistEdit(params)
}
