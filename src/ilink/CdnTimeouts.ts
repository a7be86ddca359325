/**
 * Client-side timeouts of CDN transfers. The official client has none (PROTOCOL §1.7), so one stalled
 * CDN could hold a peer's turn forever; ours bound the wait for an answer and the silence during a
 * transfer, never its total length, so a large file on a slow but moving link still completes.
 * A `Context.Reference` read per transfer, like `ILinkTimeouts`: the wiring provides configured values
 * and tests short ones.
 */
import { Context, Duration } from "effect"

export interface CdnTimeoutsShape {
  /** from the request to the response headers: DNS, connect, TLS, the server's first byte */
  readonly response: Duration.Duration
  /** longest silence while the body moves (download: between chunks; upload: between chunks sent and the answer) */
  readonly idle: Duration.Duration
}

export const defaultCdnTimeouts: CdnTimeoutsShape = {
  response: Duration.seconds(30),
  idle: Duration.seconds(30)
}

export class CdnTimeouts extends Context.Reference<CdnTimeouts>()("openclaw-weixin/CdnTimeouts", {
  defaultValue: (): CdnTimeoutsShape => defaultCdnTimeouts
}) {}
