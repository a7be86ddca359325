/**
 * HostTaskContexts: work for an account runs in the async context the host started the account in,
 * whatever context asks for it.
 */
import { describe, expect, it } from "@effect/vitest"
import { AsyncLocalStorage } from "node:async_hooks"
import { HostTaskContexts, rememberingHostTaskContexts } from "../../../src/plugin/HostTaskContext.js"
import type { WeixinChannelPlugin } from "../../../src/plugin/SdkTypes.js"

const scope = new AsyncLocalStorage<string>()

describe("HostTaskContexts", () => {
  it("runs work for an account in the context it was started in, not the caller's, and keeps it in callbacks", async () => {
    const contexts = new HostTaskContexts()
    scope.run("host task of bot-1", () => contexts.remember("Bot-1"))
    const seen = await scope.run("a gateway request", () =>
      contexts.run("bot-1", () => new Promise<Array<string | undefined>>((resolve) => {
        const now = scope.getStore()
        setTimeout(() => resolve([now, scope.getStore()]), 0)
      })))
    expect(seen).toEqual(["host task of bot-1", "host task of bot-1"])
  })

  it("runs work for an account it never saw in the caller's context", () => {
    const contexts = new HostTaskContexts()
    expect(scope.run("a gateway request", () => contexts.run("bot-2", () => scope.getStore()))).toBe("a gateway request")
  })

  it("a later start of the same account replaces the remembered context", () => {
    const contexts = new HostTaskContexts()
    scope.run("first start", () => contexts.remember("bot-1"))
    scope.run("channel restart", () => contexts.remember("bot-1"))
    expect(contexts.run("bot-1", () => scope.getStore())).toBe("channel restart")
  })

  it("remembers the context of every startAccount call of the plugin it wraps, and passes the call on", async () => {
    const contexts = new HostTaskContexts()
    const started: Array<string> = []
    const plugin = {
      id: "openclaw-weixin",
      gateway: { startAccount: (ctx: { accountId: string }) => Promise.resolve(void started.push(ctx.accountId)) }
    } as unknown as WeixinChannelPlugin
    const wrapped = rememberingHostTaskContexts(plugin, contexts)
    await scope.run("host task of bot-3", () => wrapped.gateway!.startAccount!({ accountId: "bot-3" } as never))
    expect(started).toEqual(["bot-3"])
    expect(contexts.run("bot-3", () => scope.getStore())).toBe("host task of bot-3")
  })
})
