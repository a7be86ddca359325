/**
 * `pairing` and `security`: direct-message access through the host's pairing store (ARCHITECTURE "Where we
 * differ": codes for unknown senders, `openclaw pairing approve openclaw-weixin <CODE>` works).
 * The policy is the account's `dmPolicy` (`channels.openclaw-weixin.accounts.<id>.dmPolicy`, else the
 * section's, default `pairing`), decided in src/host/Access.ts:
 * - `pairing`: unknown senders get a pairing code; approved ones (and `allowFrom`) may talk;
 * - `allowlist`: only `allowFrom` entries and approved senders; others are dropped;
 * - `open`: anyone (no `"*"` needed in `allowFrom`, so we report one to the host's audit);
 * - `disabled`: nobody.
 * Entries compare case-insensitively (lowercase, prefixes stripped), like context-token lookups.
 *
 * `openclaw security audit` reads `resolveDmPolicy` per account: the host itself reports `dmPolicy: open`
 * as critical ("DMs are open") and a locked policy as info; `dmRouting.resolveDmScope` tells it the
 * sessions our turns really use (src/config/DmScope.ts).
 */
import { CHANNEL_CONFIG_PATH } from "../config/ChannelConfig.js"
import { channelDmScope } from "../config/DmScope.js"
import { Option } from "effect"
import { DEFAULT_ACCOUNT_ID, normalizeAccountId } from "../domain/AccountId.js"
import { type ResolvedWeixinAccount, resolveWeixinAccount } from "../config/ResolvedAccount.js"
import { normalizeAllowEntry } from "../host/Access.js"
import { listAccountIdsSync } from "../state/AccountFilesSync.js"
import { channelConfigOrThrow } from "./ConfigAdapter.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { WeixinSecurityAdapter } from "./SdkTypes.js"

export { pairingAdapter } from "../host/Access.js"

type DmPolicyAnswer = NonNullable<ReturnType<NonNullable<WeixinSecurityAdapter["resolveDmPolicy"]>>>

/** The host's view of one account's policy; paths end with a dot (the host appends the key). */
export const dmPolicyOf = (account: ResolvedWeixinAccount): DmPolicyAnswer => {
  const own = account.accountConfig.dmPolicy !== undefined || account.accountConfig.allowFrom !== undefined
  const base = own ? `${CHANNEL_CONFIG_PATH}.accounts.${account.accountId}.` : `${CHANNEL_CONFIG_PATH}.`
  const { allowFrom, dmPolicy } = account.access
  return {
    policy: dmPolicy,
    // `open` admits everyone without a "*" entry; saying so keeps the host from calling the config inconsistent
    allowFrom: dmPolicy === "open" && !allowFrom.some((entry) => entry.trim() === "*") ? [...allowFrom, "*"] : [...allowFrom],
    policyPath: `${base}dmPolicy`,
    allowFromPath: base,
    approveHint: "approve a sender with `openclaw pairing approve openclaw-weixin <CODE>`",
    normalizeEntry: normalizeAllowEntry
  }
}

export const makeSecurityAdapter = (deps: PluginDeps): WeixinSecurityAdapter => ({
  // the host passes the account it resolved through our config adapter; a caller without one gets the section's
  resolveDmPolicy: ({ account, accountId, cfg }) =>
    dmPolicyOf(
      (account as ResolvedWeixinAccount | undefined)?.access === undefined
        ? resolveWeixinAccount(channelConfigOrThrow(cfg), normalizeAccountId(accountId ?? DEFAULT_ACCOUNT_ID), Option.none())
        : account
    ),
  dmRouting: {
    resolveDmScope: ({ cfg }) => channelDmScope(cfg, listAccountIdsSync(deps.statePaths()).length)
  }
})
