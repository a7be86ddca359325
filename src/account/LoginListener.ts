/**
 * How a completed login reaches the accounts that run in this process (the Supervisor implements it).
 */
import { Context, type Effect } from "effect"

/**
 * Told about accounts a login changed. In the gateway this is the Supervisor (`SupervisorLoginListener`);
 * the CLI process has none, and then nothing is told.
 */
export class LoginListener extends Context.Tag("openclaw-weixin/LoginListener")<LoginListener, {
  /**
   * Credentials of this account were just saved: stop its current run (if any), run `resetCursor`, then
   * start it with the new token. Resetting only once the old run has stopped means the old run cannot
   * write its cursor back over the fresh one.
   */
  readonly loginSaved: (accountId: string, resetCursor: Effect.Effect<void>) => Effect.Effect<void, unknown>
  /** this account is about to be deleted (the same WeChat user logged in again): stop it */
  readonly accountRemoved: (accountId: string) => Effect.Effect<void, unknown>
}>() {}
