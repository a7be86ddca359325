/**
 * The tunables of an account actor and of the Supervisor's restarts. A user sets only what the channel
 * section offers (dispatch concurrency, chunk limit); the rest is for tests and benchmarks, which provide
 * `ActorTuning` / `RestartTuning` into the layer that runs accounts. Both are `Context.Reference`s, so
 * production code needs nothing provided and reads the defaults of config/Defaults.ts.
 */
import { Context } from "effect"
import {
  DEFAULT_DISPATCH_CAPACITY,
  DEFAULT_DISPATCH_CONCURRENCY,
  DEFAULT_INITIAL_POLL_TIMEOUT_MS,
  DEFAULT_NOTIFY_STOP_TIMEOUT_MS,
  DEFAULT_POLL_BACKOFF_BASE_MS,
  DEFAULT_POLL_BACKOFF_CAP_MS,
  DEFAULT_RESTART_BASE_MS,
  DEFAULT_RESTART_CAP_MS,
  DEFAULT_STABLE_AFTER_MS,
  DEFAULT_TEXT_CHUNK_LIMIT
} from "./Defaults.js"

/** What one account actor runs with. */
export interface ActorSettings {
  /** client timeout of the first getupdates; later ones follow the server's `longpolling_timeout_ms` */
  readonly initialPollTimeoutMs: number
  /** first backoff delay after a failed poll */
  readonly backoffBaseMs: number
  /** upper bound of the backoff delay */
  readonly backoffCapMs: number
  /** how long stop waits for `notifystop` before giving up */
  readonly notifyStopTimeoutMs: number
  /** agent turns of different peers run at once (`dispatchConcurrency`) */
  readonly dispatchConcurrency: number
  /** claimed messages waiting for a turn before polling is slowed down */
  readonly dispatchCapacity: number
  /** longest text the Outbox sends as one message (`textChunkLimit`) */
  readonly chunkLimit: number
}

export const defaultActorSettings: ActorSettings = {
  initialPollTimeoutMs: DEFAULT_INITIAL_POLL_TIMEOUT_MS,
  backoffBaseMs: DEFAULT_POLL_BACKOFF_BASE_MS,
  backoffCapMs: DEFAULT_POLL_BACKOFF_CAP_MS,
  notifyStopTimeoutMs: DEFAULT_NOTIFY_STOP_TIMEOUT_MS,
  dispatchConcurrency: DEFAULT_DISPATCH_CONCURRENCY,
  dispatchCapacity: DEFAULT_DISPATCH_CAPACITY,
  chunkLimit: DEFAULT_TEXT_CHUNK_LIMIT
}

/**
 * Overrides of the actor settings a user cannot set (poll timeouts, backoff, capacities). The settings a
 * user can set come from the channel config only, so a test tunes those through the config it binds.
 */
export class ActorTuning extends Context.Reference<ActorTuning>()("openclaw-weixin/ActorTuning", {
  defaultValue: (): Partial<ActorSettings> => ({})
}) {}

/** How the Supervisor restarts an account that crashed. */
export interface RestartSettings {
  /** delay before the first restart after a crash */
  readonly restartBaseMs: number
  /** upper bound of the restart delay */
  readonly restartCapMs: number
  /** a run that lasted this long counts as healthy: the next crash starts again from `restartBaseMs` */
  readonly stableAfterMs: number
  /** spread restart delays by ±20% so accounts that crashed together do not restart together */
  readonly jitter: boolean
}

export const defaultRestartSettings: RestartSettings = {
  restartBaseMs: DEFAULT_RESTART_BASE_MS,
  restartCapMs: DEFAULT_RESTART_CAP_MS,
  stableAfterMs: DEFAULT_STABLE_AFTER_MS,
  jitter: true
}

export class RestartTuning extends Context.Reference<RestartTuning>()("openclaw-weixin/RestartTuning", {
  defaultValue: (): RestartSettings => defaultRestartSettings
}) {}
