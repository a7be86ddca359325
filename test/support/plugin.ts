/**
 * Fakes of the host for adapter tests: an `api` that records what `register` touches, a gateway `ctx`
 * that records `setStatus` and log lines, plugin deps rooted in a temp state dir, logins and context
 * tokens stored the way a QR login and a turn store them, and the in-memory host every started account
 * gets. The Effect helpers are what the plugin tests use; the promise forms serve promise-style tests.
 */
import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { OpenClawPluginApi } from "openclaw/plugin-sdk/core"
import type { InboundTurn } from "../../src/account/AgentTurns.js"
import { TestAgentTurns } from "../../src/account/TestAgentTurns.js"
import { InboundMediaStore } from "../../src/account/InboundMediaStore.js"
import type { CdnTimeoutsShape } from "../../src/ilink/CdnTimeouts.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { AccountStore } from "../../src/state/AccountStore.js"
import { ContextTokenStore } from "../../src/state/ContextTokenStore.js"
import { State } from "../../src/state/State.js"
import { statePathsFor } from "../../src/state/StatePaths.js"
import { ChannelTurns } from "../../src/host/ChannelTurns.js"
import { MediaLoader } from "../../src/host/MediaLoader.js"
import { makePluginDeps, type PluginDeps } from "../../src/plugin/PluginDeps.js"
import { PluginRuntime } from "../../src/plugin/PluginRuntime.js"
import type { AccountSnapshot, GatewayContext } from "../../src/plugin/SdkTypes.js"
import { waitUntil } from "../../sandbox/gateway/waitUntil.js"

export const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

export interface LogCapture {
  readonly lines: Array<string>
  readonly sink: { debug: (m: string) => void; info: (m: string) => void; warn: (m: string) => void; error: (m: string) => void }
}

export const captureLogs = (label: string, lines: Array<string> = []): LogCapture => ({
  lines,
  sink: {
    debug: (m) => void lines.push(`${label} debug ${m}`),
    info: (m) => void lines.push(`${label} info ${m}`),
    warn: (m) => void lines.push(`${label} warn ${m}`),
    error: (m) => void lines.push(`${label} error ${m}`)
  }
})

/**
 * The in-memory host every started account of the plugin gets: it records each turn and replies
 * `pong: <text>` (or what `replyTo` says). `turns` reads what it recorded so far.
 */
export const recordingBridge = (options: { readonly replyTo?: (text: string) => string } = {}) => {
  const replyTo = options.replyTo ?? ((text: string) => `pong: ${text}`)
  const host = Effect.runSync(TestAgentTurns.make({ replies: (turn) => [replyTo(firstText(turn))] }))
  return {
    host,
    layer: ChannelTurns.layerTest(host),
    get turns() {
      return Effect.runSync(host.turns).map((t) => ({ accountId: t.turn.accountId, text: t.text ?? "", peer: t.turn.peer.id }))
    }
  }
}

/** Text of the first text item of an inbound turn. */
export const turnText = (turn: InboundTurn): string => firstText(turn)

const firstText = (turn: InboundTurn): string => {
  const item = turn.claimed.message.item_list?.[0] as { readonly text_item?: { readonly text?: string } } | undefined
  return item?.text_item?.text ?? ""
}

/**
 * Plugin deps rooted at `stateDir`, with an optional bridge and ILinkApi. Media loads from local files
 * under the system temp dir (the host's loader needs Node 24), unless `mediaLoader` says otherwise.
 */
export interface TestDepsOptions {
  readonly bridge?: Layer.Layer<ChannelTurns>
  readonly ilinkApi?: Layer.Layer<ILinkApi>
  readonly mediaLoader?: Layer.Layer<MediaLoader>
  /** where inbound media goes (default: in memory) */
  readonly mediaStore?: Layer.Layer<InboundMediaStore>
  readonly cdnTimeouts?: CdnTimeoutsShape
}

export const testDeps = (stateDir: string, options: TestDepsOptions = {}): PluginDeps =>
  makePluginDeps({
    runtime: new PluginRuntime({
      state: State.layerAt(stateDir),
      channelTurns: options.bridge,
      ilinkApi: options.ilinkApi,
      mediaStore: options.mediaStore ?? InboundMediaStore.layerMemory,
      cdnTimeouts: options.cdnTimeouts,
      mediaLoader: options.mediaLoader ?? MediaLoader.layerLocalFiles([os.tmpdir()])
    }),
    statePaths: () => statePathsFor(stateDir)
  })

/** Writes a logged-in account the way a QR login would (index + credentials). */
export const storeLogin = (
  stateDir: string,
  account: { readonly id: string; readonly token?: string; readonly baseUrl?: string; readonly userId?: string }
) =>
  Effect.gen(function*() {
    const store = yield* AccountStore
    yield* store.save(account.id, {
      ...(account.token === undefined ? {} : { token: Redacted.make(account.token) }),
      ...(account.baseUrl === undefined ? {} : { baseUrl: account.baseUrl }),
      ...(account.userId === undefined ? {} : { userId: account.userId })
    })
    yield* store.register(account.id)
  }).pipe(Effect.provide(State.layerAt(stateDir)), Effect.orDie)

/** Writes the official context-token file of an account, as turns would have. */
export const storeContextTokens = (stateDir: string, accountId: string, tokens: Record<string, string>) =>
  Effect.flatMap(ContextTokenStore, (store) => store.saveTokens(accountId, tokens)).pipe(
    Effect.provide(State.layerAt(stateDir)),
    Effect.orDie
  )

export const seedAccount = (...args: Parameters<typeof storeLogin>) => Effect.runPromise(storeLogin(...args))
export const seedContextTokens = (...args: Parameters<typeof storeContextTokens>) =>
  Effect.runPromise(storeContextTokens(...args))

export interface FakeGatewayContext {
  readonly ctx: GatewayContext
  readonly statuses: Array<AccountSnapshot>
  readonly abort: AbortController
  readonly logs: LogCapture
}

export const fakeGatewayContext = (
  accountId: string,
  cfg: Record<string, unknown>,
  options: { readonly withChannelRuntime?: boolean; readonly logLines?: Array<string> } = {}
): FakeGatewayContext => {
  const statuses: Array<AccountSnapshot> = []
  const abort = new AbortController()
  const logs = captureLogs(`ctx.log[${accountId}]`, options.logLines)
  let current: AccountSnapshot = { accountId }
  const ctx = {
    cfg,
    accountId,
    account: undefined,
    runtime: { log: () => {}, error: () => {}, exit: () => {} },
    abortSignal: abort.signal,
    log: logs.sink,
    getStatus: () => current,
    setStatus: (next: AccountSnapshot) => {
      current = next
      statuses.push(next)
    },
    ...(options.withChannelRuntime === false ? {} : { channelRuntime: { runtimeContexts: {} } })
  } as unknown as GatewayContext
  return { ctx, statuses, abort, logs }
}

export type RegistrationMode = OpenClawPluginApi["registrationMode"]

export interface FakeApi {
  readonly api: OpenClawPluginApi
  /** top-level keys read from `api`, in order */
  readonly touched: Array<string>
  readonly registered: Array<unknown>
  readonly logs: LogCapture
  readonly disposers: Array<() => void | Promise<void>>
}

/**
 * A fake `api` that records every key read. In `cli-metadata` / `setup-only` reading `runtime` throws,
 * as the host does.
 */
export const fakeApi = (
  mode: RegistrationMode,
  options: { readonly version?: unknown; readonly config?: Record<string, unknown>; readonly logLines?: Array<string> } = {}
): FakeApi => {
  const touched: Array<string> = []
  const registered: Array<unknown> = []
  const disposers: Array<() => void | Promise<void>> = []
  const logs = captureLogs("api.logger", options.logLines)
  const base: Record<string, unknown> = {
    id: "openclaw-weixin",
    name: "WeChat",
    source: "/fake/index.ts",
    registrationMode: mode,
    config: options.config ?? {},
    logger: logs.sink,
    registerChannel: (registration: unknown) => void registered.push(registration),
    lifecycle: {
      signal: new AbortController().signal,
      onDispose: (fn: () => void | Promise<void>) => {
        disposers.push(fn)
        return () => {}
      },
      registerRuntimeLifecycle: () => {}
    }
  }
  const api = new Proxy(base, {
    get(target, key) {
      if (typeof key === "string") touched.push(key)
      if (key === "runtime") {
        if (mode === "cli-metadata" || mode === "setup-only") throw new Error(`api.runtime is not available in ${mode}`)
        return "version" in options ? { version: options.version } : {}
      }
      return target[key as string]
    }
  }) as unknown as OpenClawPluginApi
  return { api, touched, registered, logs, disposers }
}

/** The one wait-until helper (sandbox/gateway/waitUntil.ts) for promise-style tests. */
export const waitFor = (
  done: () => boolean,
  what: string,
  withinMs = 10_000,
  /** refreshes what `done` reads (e.g. queries a server) before each check */
  refresh?: () => Promise<void>
): Promise<void> =>
  Effect.runPromise(
    waitUntil(what, Effect.promise(async () => {
      if (refresh !== undefined) await refresh()
      return done()
    }), { timeoutMs: withinMs })
  ).then(() => undefined)

/** A host config whose channel section points at `baseUrl`. */
export const hostConfig = (section: Record<string, unknown>): Record<string, unknown> => ({
  channels: { "openclaw-weixin": section }
})
