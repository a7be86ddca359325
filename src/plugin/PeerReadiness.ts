/**
 * Whether a proactive send (cron, the message tool, `openclaw message send`) to one peer would go through
 * now, by the same rule the Outbox refuses with (src/account/SendPolicy.ts `refusalFor`): a context token
 * is known, the reply window (PROTOCOL §4: 24 h since the peer's last message) is open, and the reply
 * budget (PROTOCOL App. C: about 10 per inbound message) is not spent. Pure: the directory adapter
 * (Directory.ts) feeds it the stored tokens and activity and the clock's time.
 */
import type { PeerActivity } from "../state/StoredFiles.js"
import { refusalFor } from "../account/SendPolicy.js"

export interface ReadinessLimits {
  readonly budget: number
  readonly windowMs: number
}

export interface PeerReadiness {
  /** the user id exactly as the server spelled it */
  readonly userId: string
  /** true when a one-message send would not be refused before reaching WeChat */
  readonly sendable: boolean
  /** why not, when not: `window-closed` or `budget-spent` */
  readonly blockedBy: "window-closed" | "budget-spent" | undefined
  /** epoch ms of the peer's last message; undefined for a token restored from the official plugin's file */
  readonly lastInboundAt: number | undefined
  /** epoch ms when the reply window closes (or closed); undefined when the last message time is unknown */
  readonly windowClosesAt: number | undefined
  readonly repliesLeft: number
}

export const peerReadiness = (
  userId: string,
  token: string,
  activity: PeerActivity | undefined,
  now: number,
  limits: ReadinessLimits
): PeerReadiness => {
  const lastInboundAt = activity?.lastInboundAt
  const repliesSince = activity?.repliesSince ?? 0
  const refusal = refusalFor(userId, { userId, token, lastInboundAt, repliesSince }, undefined, 1, now, limits)
  return {
    userId,
    sendable: refusal === undefined,
    blockedBy: refusal?._tag === "ReplyWindowClosed"
      ? "window-closed"
      : refusal?._tag === "ReplyBudgetSpent"
      ? "budget-spent"
      : undefined,
    lastInboundAt,
    windowClosesAt: lastInboundAt === undefined ? undefined : lastInboundAt + limits.windowMs,
    repliesLeft: Math.max(0, limits.budget - repliesSince)
  }
}

/** Minutes are enough for a window of hours; ISO so that agents and scripts can compare it. */
const at = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16)}Z`

/** One line for a person (the Name column of `openclaw directory peers list`). */
export const describeReadiness = (readiness: PeerReadiness, limits: ReadinessLimits): string => {
  const left = `${readiness.repliesLeft} of ${limits.budget} replies left`
  if (readiness.blockedBy === "window-closed") {
    return `cannot send: reply window closed at ${at(readiness.windowClosesAt ?? 0)}; the user must write first`
  }
  if (readiness.blockedBy === "budget-spent") {
    return `cannot send: reply budget spent (${limits.budget} since their last message); the user must write first`
  }
  if (readiness.windowClosesAt === undefined) {
    return `can send (window unknown: token from before this plugin), ${left}`
  }
  return `can send until ${at(readiness.windowClosesAt)}, ${left}`
}

/** Sendable peers first, the most recent writer first; unknown times last. */
export const byReadiness = (a: PeerReadiness, b: PeerReadiness): number =>
  Number(b.sendable) - Number(a.sendable) || (b.lastInboundAt ?? -1) - (a.lastInboundAt ?? -1) ||
  a.userId.localeCompare(b.userId)
