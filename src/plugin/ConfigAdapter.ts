/**
 * `config`: which accounts exist and how each resolves (the host's `config` adapter; PROTOCOL §3.4).
 * Accounts are the ones in `accounts.json` (a QR login adds them), not config keys. The host calls these
 * synchronously, so they read the files synchronously; a bad channel section throws ChannelConfigError.
 */
import { Either, Redacted } from "effect"
import type { WeixinConfigAdapter } from "./SdkTypes.js"
import { DEFAULT_ACCOUNT_ID, normalizeAccountId } from "../domain/AccountId.js"
import { type ChannelConfig, channelConfigFromHostConfig } from "../config/ChannelConfig.js"
import type { PluginDeps } from "./PluginDeps.js"
import { type ResolvedWeixinAccount, resolveWeixinAccount } from "../config/ResolvedAccount.js"
import { listAccountIdsSync, loadStoredAccountSync } from "../state/AccountFilesSync.js"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"

/** The decoded channel section, or a thrown ChannelConfigError naming the bad host paths. */
export const channelConfigOrThrow = (cfg: unknown): ChannelConfig =>
  Either.getOrThrowWith(channelConfigFromHostConfig(cfg), (error) => error)

export const makeConfigAdapter = (deps: PluginDeps): WeixinConfigAdapter => {
  const listAccountIds = () => [...listAccountIdsSync(deps.statePaths())]

  const resolveAccount = (cfg: unknown, accountId?: string | null): ResolvedWeixinAccount => {
    const config = channelConfigOrThrow(cfg)
    const id = accountId === undefined || accountId === null || accountId.trim() === ""
      ? listAccountIds()[0] ?? DEFAULT_ACCOUNT_ID
      : normalizeAccountId(accountId)
    const account = resolveWeixinAccount(config, id, loadStoredAccountSync(deps.statePaths(), id))
    // the filter masks this token wherever a log line might carry it
    if (account.token !== undefined) deps.runtime.secrets.remember(revealToken(account))
    return account
  }

  return {
    listAccountIds,
    resolveAccount,
    defaultAccountId: () => listAccountIds()[0] ?? DEFAULT_ACCOUNT_ID,
    isEnabled: (account) => account.enabled,
    disabledReason: () => "disabled in channels.openclaw-weixin (enabled: false)",
    isConfigured: (account) => account.configured,
    unconfiguredReason: () => `not logged in; run \`${LOGIN_COMMAND}\``,
    describeAccount: (account) => ({
      accountId: account.accountId,
      ...(account.name === undefined ? {} : { name: account.name }),
      enabled: account.enabled,
      configured: account.configured,
      baseUrl: account.baseUrl
    }),
    hasPersistedAuthState: () => listAccountIdsSync(deps.statePaths()).length > 0
  }
}

const revealToken = (account: ResolvedWeixinAccount): string | undefined =>
  account.token === undefined ? undefined : Redacted.value(account.token)
