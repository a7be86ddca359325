/**
 * Per-account context provided into an AccountActor and all its parts, so that services and log lines
 * know which account they act for without threading the id through every call.
 */
import { Context } from "effect"
import { DEFAULT_CHUNK_LIMIT } from "../domain/Chunker.js"
import { defaultDispatchConcurrency } from "./Dispatcher.js"

/** The normalized account id (e.g. `b0f5860fdecb-im-bot`) of the actor running this effect. */
export class AccountId extends Context.Tag("openclaw-weixin/AccountId")<AccountId, string>() {}

/** Tunables of one account actor; defaults in `defaultAccountSettings`. */
export interface AccountSettings {
  /** client timeout of the first getupdates; later ones follow the server's `longpolling_timeout_ms` */
  readonly initialPollTimeoutMs: number
  /** first backoff delay after a failed poll */
  readonly backoffBaseMs: number
  /** upper bound of the backoff delay */
  readonly backoffCapMs: number
  /** how long stop waits for `notifystop` before giving up */
  readonly notifyStopTimeoutMs: number
  /** agent turns of different peers run at once (default 8) */
  readonly dispatchConcurrency: number
  /** claimed messages waiting for a turn before polling is slowed down */
  readonly dispatchCapacity: number
  /** longest text the Outbox sends as one message (`textChunkLimit` of the channel config) */
  readonly chunkLimit: number
}

export const defaultAccountSettings: AccountSettings = {
  initialPollTimeoutMs: 35_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 30_000,
  notifyStopTimeoutMs: 500,
  // the Dispatcher's own default, so the two can never drift apart
  dispatchConcurrency: defaultDispatchConcurrency,
  dispatchCapacity: 64,
  chunkLimit: DEFAULT_CHUNK_LIMIT
}

export class AccountSettingsTag extends Context.Tag("openclaw-weixin/AccountSettings")<
  AccountSettingsTag,
  AccountSettings
>() {}
