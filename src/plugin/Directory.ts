/**
 * `directory`: `openclaw directory peers list --channel openclaw-weixin [--account <id>]` lists the users an
 * account can reach: every peer whose context token the account holds (PROTOCOL §4; the official
 * `<id>.context-tokens.json` and our activity file), each with whether a proactive send would go through
 * now and until when (PeerReadiness.ts, the Outbox's own rule). WeChat has no user directory to search,
 * so nobody who never wrote to the bot is listed.
 *
 * It reads the state dir, so it answers the same in the CLI process and in the gateway; the gateway's
 * writers put a new token and time on disk within moments of the message. An account that is not logged
 * in fails with what to do (UnknownAccount, AccountNotConfigured), never with an empty list that looks
 * like "nobody wrote". `self` is the bot account itself.
 */
import { Clock, Effect, Option } from "effect"
import { normalizeAccountId, WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { REPLY_BUDGET, REPLY_WINDOW_MS } from "../config/Defaults.js"
import { AccountStore } from "../state/AccountStore.js"
import { ContextTokenStore } from "../state/ContextTokenStore.js"
import { AccountNotConfigured, NoAccountsRegistered, UnknownAccount } from "./PluginErrors.js"
import { byReadiness, describeReadiness, peerReadiness, type ReadinessLimits } from "./PeerReadiness.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { DirectoryEntry, WeixinDirectoryAdapter } from "./SdkTypes.js"

export const READINESS_LIMITS: ReadinessLimits = { budget: REPLY_BUDGET, windowMs: REPLY_WINDOW_MS }

export interface ListPeersParams {
  readonly accountId?: string | null | undefined
  readonly query?: string | null | undefined
  readonly limit?: number | null | undefined
}

/** The account the host asked about, which must be logged in. */
const loggedInAccount = Effect.fn("Directory.loggedInAccount")(function*(asked: string | null | undefined) {
  const accounts = yield* AccountStore
  const known = yield* accounts.list()
  const trimmed = asked?.trim() ?? ""
  const accountId = trimmed === "" ? known[0] : normalizeAccountId(trimmed)
  if (accountId === undefined) return yield* new NoAccountsRegistered()
  const stored = yield* accounts.load(accountId)
  if (Option.isNone(stored)) {
    if (!known.includes(accountId)) return yield* new UnknownAccount({ accountId, known })
    return yield* new AccountNotConfigured({ accountId })
  }
  if (stored.value.token === undefined) return yield* new AccountNotConfigured({ accountId })
  return { accountId, userId: stored.value.userId }
})

/** `directory.listPeers` as an effect: readiness of every peer the account holds a token for. */
export const listPeers = Effect.fn("Directory.listPeers")(function*(params: ListPeersParams) {
  const { accountId } = yield* loggedInAccount(params.accountId)
  const store = yield* ContextTokenStore
  const tokens = yield* store.loadTokens(accountId)
  const activity = Option.getOrUndefined(
    yield* store.loadActivity(accountId).pipe(Effect.orElseSucceed(() => Option.none()))
  )
  const now = yield* Clock.currentTimeMillis
  const query = params.query?.trim().toLowerCase() ?? ""
  const ready = Object.entries(tokens)
    .filter(([userId]) => query === "" || userId.toLowerCase().includes(query))
    .map(([userId, token]) => peerReadiness(userId, token, activity?.peers[userId], now, READINESS_LIMITS))
    .sort(byReadiness)
  const limit = params.limit !== undefined && params.limit !== null && params.limit > 0 ? params.limit : ready.length
  return ready.slice(0, limit).map((readiness): DirectoryEntry => ({
    kind: "user",
    id: readiness.userId,
    name: describeReadiness(readiness, READINESS_LIMITS),
    raw: {
      channel: WEIXIN_CHANNEL_ID,
      accountId,
      sendable: readiness.sendable,
      blockedBy: readiness.blockedBy ?? null,
      lastInboundAt: readiness.lastInboundAt === undefined ? null : new Date(readiness.lastInboundAt).toISOString(),
      windowClosesAt: readiness.windowClosesAt === undefined ? null : new Date(readiness.windowClosesAt).toISOString(),
      repliesLeft: readiness.repliesLeft
    }
  }))
})

/** `directory.self`: the bot account, named after the WeChat user who scanned its QR when known. */
export const directorySelf = Effect.fn("Directory.self")(function*(accountId: string | null | undefined) {
  const account = yield* loggedInAccount(accountId)
  return {
    kind: "user",
    id: account.accountId,
    name: account.userId === undefined ? "WeChat bot" : `WeChat bot (logged in by ${account.userId})`
  } satisfies DirectoryEntry
})

export const makeDirectoryAdapter = (deps: PluginDeps): WeixinDirectoryAdapter => ({
  self: ({ accountId }) => deps.runtime.run(directorySelf(accountId)),
  listPeers: (params) => deps.runtime.run(listPeers(params))
})
