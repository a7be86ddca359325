/**
 * Who may reach the agent in a direct message, under `channels.openclaw-weixin.dmPolicy` (ARCHITECTURE
 * "Where we differ": the host's pairing store, codes for unknown senders).
 *
 * - `pairing` (default): the QR scanner, `allowFrom` and senders approved with
 *   `openclaw pairing approve openclaw-weixin <CODE>` talk to the agent; anyone else gets one pairing code;
 * - `allowlist`: the same senders; anyone else is dropped without a reply;
 * - `open`: everyone;
 * - `disabled`: nobody, not even the scanner (direct messages are switched off).
 *
 * The decision itself is a pure function; the store read and the code request go through the host's
 * `channelRuntime.pairing`, which HostBridge passes in.
 */
import { Data, Either } from "effect"
import type { DmPolicy } from "../config/ChannelConfig.js"
import { normalizePeerId, type Peer } from "../domain/PeerId.js"

export type AccessDecision = Data.TaggedEnum<{
  /** the sender may talk to the agent; `owner` when it is on an explicit list (commands allowed) */
  Allowed: { readonly owner: boolean }
  /** unknown sender under `pairing`: ask the host for a pairing code */
  NeedsPairing: {}
  /** the policy turns the sender away without a reply */
  Denied: { readonly reason: string }
}>
export const AccessDecision = Data.taggedEnum<AccessDecision>()

export interface AccessFacts {
  readonly policy: DmPolicy
  /** the sender, as the Inbox made it */
  readonly sender: Peer
  /** the WeChat user who scanned the login QR, if the login stored one */
  readonly scannerUserId: string | undefined
  /** `channels.openclaw-weixin.allowFrom` */
  readonly configAllowFrom: ReadonlyArray<string>
  /** entries approved in the host's pairing store for this account */
  readonly approved: ReadonlyArray<string>
}

/**
 * True when `sender` matches one of the entries (case and `user:` prefixes of an entry ignored; `*`
 * matches all). Entries come from outside (config, the host's store), so they are normalised here; the
 * sender already was, at the Inbox.
 */
export const isListed = (sender: Peer, entries: ReadonlyArray<string>): boolean =>
  entries.some((entry) => entry.trim() === "*" || normalizeAllowEntry(entry) === sender.key)

/** Whether the policy needs the pairing store at all (so `open`/`disabled` never touch it). */
export const policyReadsStore = (policy: DmPolicy): boolean => policy === "pairing" || policy === "allowlist"

export const decideAccess = (facts: AccessFacts): AccessDecision => {
  switch (facts.policy) {
    case "disabled":
      return AccessDecision.Denied({ reason: "dmPolicy is disabled: direct messages are switched off" })
    case "open":
      return AccessDecision.Allowed({ owner: isOwner(facts) })
    case "allowlist":
      return isOwner(facts)
        ? AccessDecision.Allowed({ owner: true })
        : AccessDecision.Denied({
          reason: "dmPolicy is allowlist and the sender is not on it; add it to allowFrom or approve a pairing code"
        })
    case "pairing":
      return isOwner(facts) ? AccessDecision.Allowed({ owner: true }) : AccessDecision.NeedsPairing()
  }
}

const isOwner = (facts: AccessFacts): boolean =>
  (facts.scannerUserId !== undefined && isListed(facts.sender, [facts.scannerUserId])) ||
  isListed(facts.sender, facts.configAllowFrom) ||
  isListed(facts.sender, facts.approved)

/** An allow-list entry or sender id in the form entries are compared in. */
export const normalizeAllowEntry = (entry: string): string =>
  Either.match(normalizePeerId(entry), { onLeft: () => entry.trim().toLowerCase(), onRight: (peer) => peer.key })

/** What the host's pairing store needs to know about our ids (`channel.pairing` and pairing requests). */
export const pairingAdapter = {
  idLabel: "WeChat user id",
  normalizeAllowEntry
} as const
