/**
 * `status.buildCapabilitiesDiagnostics`: what `openclaw channels capabilities --channel openclaw-weixin`
 * prints under each account, besides the host's own support line and our probe: the bot id, the WeChat user
 * who scanned its QR, the base URL it talks to (and where that came from), and the users it may write to
 * right now, each with until when and how many replies are left (Directory.ts, the Outbox's own rule).
 * It reads the state dir, so it answers the same in the CLI and in the gateway. An account that is not
 * logged in gets one line saying how to log in, never an empty list that looks like "nobody wrote".
 */
import { Effect, Either } from "effect"
import type { ResolvedWeixinAccount } from "../config/ResolvedAccount.js"
import { listPeers } from "./Directory.js"
import type { WeixinCapabilitiesDiagnostics } from "./SdkTypes.js"

/** At most this many open reply windows are listed; the count covers all of them. */
export const CAPABILITIES_MAX_PEERS = 10

export const capabilitiesDiagnostics = Effect.fn("Capabilities.diagnostics")(function*(account: ResolvedWeixinAccount) {
  const identity = [
    { text: `Bot: ${account.accountId}` },
    { text: `Logged in by WeChat user: ${account.userId ?? "unknown (the login did not say)"}` },
    { text: `Base URL: ${account.baseUrl} (${account.baseUrlSource})` }
  ]
  const peers = yield* Effect.either(listPeers({ accountId: account.accountId }))
  if (Either.isLeft(peers)) {
    return {
      lines: [...identity, { text: `Reply windows: unknown: ${peers.left.message}`, tone: "warn" }],
      details: { botId: account.accountId, scannerUserId: account.userId ?? null, baseUrl: account.baseUrl, openWindows: null }
    } satisfies WeixinCapabilitiesDiagnostics
  }
  // Directory.ts puts the readiness facts in each entry's `raw`
  const factsOf = (peer: (typeof peers.right)[number]) => (peer.raw ?? {}) as Readonly<Record<string, unknown>>
  const open = peers.right.filter((peer) => factsOf(peer)["sendable"] === true)
  const known = peers.right.length
  const summary = open.length === 0
    ? known === 0
      ? "Reply windows open: none; nobody has written to this bot yet (WeChat lets a bot write only to users who wrote first)"
      : `Reply windows open: none of ${known} user(s); each must write again before the bot can send`
    : `Reply windows open: ${open.length} of ${known} user(s)`
  return {
    lines: [
      ...identity,
      { text: summary, ...(open.length === 0 ? { tone: "muted" as const } : {}) },
      ...open.slice(0, CAPABILITIES_MAX_PEERS).map((peer) => ({ text: `  ${peer.id}: ${peer.name ?? ""}` })),
      ...(open.length > CAPABILITIES_MAX_PEERS
        ? [{ text: `  … and ${open.length - CAPABILITIES_MAX_PEERS} more: openclaw directory peers list --channel openclaw-weixin --account ${account.accountId}` }]
        : [])
    ],
    details: {
      botId: account.accountId,
      scannerUserId: account.userId ?? null,
      baseUrl: account.baseUrl,
      openWindows: open.map((peer) => ({ userId: peer.id, ...factsOf(peer) }))
    }
  } satisfies WeixinCapabilitiesDiagnostics
})
