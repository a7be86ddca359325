/**
 * The async context the host started each account in, so that work the plugin starts for an account
 * from inside a gateway request runs as if the host had started it.
 *
 * The host runs `gateway.startAccount` outside any gateway request. A request's handler runs inside the
 * request's "root work" (an AsyncLocalStorage store); once it has answered, the host refuses new agent
 * turns from async work that still carries that store ("GatewayDrainingError: Gateway is draining; new
 * tasks are not accepted"). An account restarted by the resume method would carry it forever, since
 * every callback inherits the context it was created in (docs/HOST-NOTES.md).
 */
import { AsyncLocalStorage } from "node:async_hooks"
import { normalizeAccountId } from "../domain/AccountId.js"
import type { WeixinChannelPlugin } from "./SdkTypes.js"

type ContextRunner = <R>(fn: () => R) => R

export class HostTaskContexts {
  private readonly contexts = new Map<string, ContextRunner>()

  /** Remembers the current async context as the one the host started `accountId` in. */
  remember(accountId: string): void {
    const snapshot = AsyncLocalStorage.snapshot()
    this.contexts.set(normalizeAccountId(accountId), (fn) => snapshot(fn))
  }

  /** Runs `fn` in the context the host started `accountId` in (the current one if it never did). */
  run<R>(accountId: string, fn: () => R): R {
    const runner = this.contexts.get(normalizeAccountId(accountId))
    return runner === undefined ? fn() : runner(fn)
  }
}

/** The plugin with `gateway.startAccount` remembering the host's context of each account it starts. */
export const rememberingHostTaskContexts = (plugin: WeixinChannelPlugin, contexts: HostTaskContexts): WeixinChannelPlugin => {
  const gateway = plugin.gateway
  const startAccount = gateway?.startAccount
  if (gateway === undefined || startAccount === undefined) return plugin
  return {
    ...plugin,
    gateway: {
      ...gateway,
      startAccount: (ctx) => {
        contexts.remember(ctx.accountId)
        return startAccount(ctx)
      }
    }
  }
}
