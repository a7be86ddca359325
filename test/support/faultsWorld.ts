/**
 * The fault suite's worlds (test/faults). Every scenario runs the production path:
 *
 * - `pluginWorld`: the plugin's composition root (makeWeixinChannelPlugin over PluginRuntime at Debug
 *   level) and `gateway.startAccount` as the host calls it, against the sandbox emulator over real HTTP;
 *   every log line any account writes lands in the file's `suiteLog`;
 * - `virtualWorld`: the Supervisor running the production AccountRunner under TestClock, with a scripted
 *   ILinkApi (support/actorHarness.ts) and real state stores on a temp dir, for scenarios measured in
 *   minutes or backoff delays.
 *
 * `harvestSecrets` collects every secret the emulator handed out or was sent (bot tokens, context tokens,
 * AES keys, CDN download and upload parameters); `expectNoSecretLogged` greps the file's log for them.
 */
import { expect } from "@effect/vitest"
import { Duration, Effect, Fiber, HashMap, Layer, LogLevel, Option, Stream } from "effect"
import * as os from "node:os"
import { AgentTurns } from "../../src/account/AgentTurns.js"
import type { HostBinding } from "../../src/account/AccountRunner.js"
import { InboundMediaStore, makeMemoryInboundMediaStore } from "../../src/account/InboundMediaStore.js"
import { Supervisor } from "../../src/account/Supervisor.js"
import { TestAgentTurns } from "../../src/account/TestAgentTurns.js"
import { defaultChannelConfig } from "../../src/config/ChannelConfig.js"
import { type ActorSettings, ActorTuning } from "../../src/config/Tuning.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import type { CdnTimeoutsShape } from "../../src/ilink/CdnTimeouts.js"
import { ChannelTurns } from "../../src/host/ChannelTurns.js"
import { MediaLoader } from "../../src/host/MediaLoader.js"
import { makeWeixinChannelPlugin } from "../../src/plugin/ChannelPlugin.js"
import { makePluginDeps } from "../../src/plugin/PluginDeps.js"
import { PluginRuntime } from "../../src/plugin/PluginRuntime.js"
import { AccountStore } from "../../src/state/AccountStore.js"
import { State } from "../../src/state/State.js"
import { statePathsFor } from "../../src/state/StatePaths.js"
import { type BotInfo, type Emulator, type EmulatorOptions, makeEmulator } from "../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../sandbox/gateway/waitUntil.js"
import { makeTempDir, makeTestApi } from "./actorHarness.js"
import { fakeGatewayContext, type FakeGatewayContext, hostConfig, recordingBridge, storeLogin } from "./plugin.js"
import { hostCall } from "./pluginEmulator.js"

// ---- the file's log and its secrets ---------------------------------------------------------------------

/** Every line any account of this test file logged (one module instance per test file). */
export const suiteLog: Array<string> = []
/** Every secret the file's emulators handed out or received. */
export const suiteSecrets = new Set<string>()

const SECRET_FIELDS = new Set([
  "token",
  "bot_token",
  "context_token",
  "aeskey",
  "aes_key",
  "encrypt_query_param",
  "upload_param",
  "encrypted_query_param",
  "thumb_upload_param",
  "typing_ticket"
])

const collectFields = (value: unknown, into: Set<string>): void => {
  if (Array.isArray(value)) for (const v of value) collectFields(v, into)
  else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (SECRET_FIELDS.has(key) && typeof v === "string" && v.length >= 8) into.add(v)
      else collectFields(v, into)
    }
  }
}

/** Adds every secret the emulator saw to `suiteSecrets` (call before the emulator closes). */
export const harvestSecrets = (emulator: Emulator) =>
  Effect.gen(function*() {
    for (const bot of yield* emulator.bots) suiteSecrets.add(bot.token)
    for (const request of yield* emulator.requests()) {
      const bearer = request.headers["authorization"]?.replace(/^Bearer\s+/i, "")
      if (bearer !== undefined && bearer.length >= 8) suiteSecrets.add(bearer)
      if (request.endpoint === "cdn_upload" || request.endpoint === "cdn_download") {
        for (const v of Object.values(request.query)) if (v.length >= 8) suiteSecrets.add(v)
      }
      if (request.bodyEncoding === "utf8" && request.body.startsWith("{")) {
        try {
          collectFields(JSON.parse(request.body), suiteSecrets)
        } catch {
          // not JSON: nothing to harvest
        }
      }
    }
    for (const sent of yield* emulator.sent()) if (sent.contextToken !== undefined) suiteSecrets.add(sent.contextToken)
    for (const upload of yield* emulator.cdn.uploads()) {
      suiteSecrets.add(upload.keyHex)
      suiteSecrets.add(upload.downloadParam)
    }
    for (const download of yield* emulator.cdn.downloads()) suiteSecrets.add(download.downloadParam)
  })

/** Remembers what an injection handed out (context token, media key and parameter). */
export const rememberInjected = (injected: { readonly contextToken: string | undefined; readonly media: { readonly keyHex: string; readonly downloadParam: string; readonly media: { readonly aes_key?: string } } | undefined }) => {
  if (injected.contextToken !== undefined) suiteSecrets.add(injected.contextToken)
  if (injected.media !== undefined) {
    if (injected.media.keyHex !== "") suiteSecrets.add(injected.media.keyHex)
    suiteSecrets.add(injected.media.downloadParam)
    if (injected.media.media.aes_key !== undefined) suiteSecrets.add(injected.media.media.aes_key)
  }
}

/** Fails naming the first secret that reached the file's log (and how many lines were checked). */
export const expectNoSecretLogged = () => {
  const everything = suiteLog.join("\n")
  const leaked = [...suiteSecrets].filter((s) => s.length >= 8 && everything.includes(s))
  expect({ lines: suiteLog.length > 0, secrets: suiteSecrets.size > 0, leaked }).toEqual({ lines: true, secrets: true, leaked: [] })
}

// ---- the plugin on the emulator -------------------------------------------------------------------------

export interface PluginWorldOptions {
  readonly dirPrefix: string
  readonly bots?: number
  readonly emulator?: EmulatorOptions
  readonly section?: Record<string, unknown>
  readonly replyTo?: (text: string) => string
  readonly cdnTimeouts?: CdnTimeoutsShape
  /** the host's agent turns; default the recording in-memory host */
  readonly channelTurns?: Layer.Layer<ChannelTurns, never, MediaLoader>
  /** run on this emulator, these bots and this state dir (a restart, or a copy of a killed run's disk) */
  readonly existing?: { readonly emulator: Emulator; readonly bots: ReadonlyArray<BotInfo>; readonly dir: string }
}

/**
 * Bots on a fresh emulator, logged in to one temp state dir, under one plugin (Debug logging) whose
 * accounts answer with the recording host. `start(i)` starts bot i's account as the host does and
 * waits until it runs; the scope's end stops every account, harvests the secrets and closes the emulator.
 */
export const pluginWorld = (options: PluginWorldOptions) =>
  Effect.gen(function*() {
    const existing = options.existing
    const emulator = existing?.emulator ?? (yield* makeEmulator({ longPollMs: 300, ...options.emulator }))
    if (existing === undefined) yield* Effect.addFinalizer(() => harvestSecrets(emulator))
    const bots: Array<BotInfo> = existing === undefined ? [] : [...existing.bots]
    if (existing === undefined) for (let i = 0; i < (options.bots ?? 1); i++) bots.push(yield* emulator.addBot())
    const dir = existing?.dir ?? (yield* makeTempDir(options.dirPrefix))
    if (existing === undefined) {
      for (const bot of bots) yield* storeLogin(dir, { id: bot.botId, token: bot.token, baseUrl: emulator.baseUrl, userId: bot.ownerUserId })
    }
    const bridge = recordingBridge(options.replyTo === undefined ? {} : { replyTo: options.replyTo })
    const mediaStore = makeMemoryInboundMediaStore()
    const runtime = new PluginRuntime({
      state: State.layerAt(dir),
      channelTurns: options.channelTurns ?? bridge.layer,
      mediaStore: InboundMediaStore.layerFrom(mediaStore),
      mediaLoader: MediaLoader.layerLocalFiles([os.tmpdir()]),
      cdnTimeouts: options.cdnTimeouts ?? { response: Duration.millis(500), idle: Duration.millis(500) },
      minimumLogLevel: LogLevel.Debug
    })
    const deps = makePluginDeps({ runtime, statePaths: () => statePathsFor(dir) })
    yield* Effect.addFinalizer(() => Effect.promise(() => deps.runtime.dispose()))
    const plugin = makeWeixinChannelPlugin(deps)
    const cfg = hostConfig({ cdnBaseUrl: emulator.cdnBaseUrl, ...options.section })
    const accountIds = bots.map((b) => normalizeAccountId(b.botId))

    const started: Array<{ readonly fake: FakeGatewayContext; readonly fiber: Fiber.RuntimeFiber<unknown, unknown> }> = []
    /** starts bot i's account the way the host does; `channelRuntime` replaces the fake's empty one */
    const start = (i: number, extra: { readonly cfg?: Record<string, unknown>; readonly channelRuntime?: unknown } = {}) =>
      Effect.gen(function*() {
        const fake = fakeGatewayContext(accountIds[i]!, extra.cfg ?? cfg, { logLines: suiteLog })
        if (extra.channelRuntime !== undefined) (fake.ctx as { channelRuntime: unknown }).channelRuntime = extra.channelRuntime
        const fiber = yield* Effect.fork(hostCall(() => plugin.gateway!.startAccount!(fake.ctx)))
        yield* waitUntil(`account ${i} to run`, Effect.sync(() => fake.statuses.some((s) => s.statusState === "running")))
        const handle = { fake, fiber }
        started.push(handle)
        return handle
      })
    /** aborts the account's host task and waits for startAccount to resolve */
    const stop = (handle: { readonly fake: FakeGatewayContext; readonly fiber: Fiber.RuntimeFiber<unknown, unknown> }) =>
      Effect.gen(function*() {
        handle.fake.abort.abort()
        return yield* Fiber.await(handle.fiber)
      })
    const inject = (spec: Parameters<Emulator["injectInbound"]>[0]) =>
      Effect.tap(emulator.injectInbound(spec), (injected) => Effect.sync(() => rememberInjected(injected)))
    const turns = () => Effect.runSync(bridge.host.turns)
    const waitTurns = (n: number, what = `${n} turns`) =>
      waitUntil(what, Effect.sync(() => turns().filter((t) => t.outcome !== undefined).length >= n), { timeoutMs: 20_000 })
    return { emulator, bots, dir, bridge, deps, plugin, cfg, accountIds, start, stop, inject, turns, waitTurns, mediaStore, started }
  })

// ---- the Supervisor in virtual time -----------------------------------------------------------------------

/**
 * The Supervisor (production AccountRunner, real stores on a temp dir) with a scripted ILinkApi and the
 * in-memory host, under the test's TestClock. `phases(id)` records every phase the account publishes.
 */
export const virtualWorld = (tuning: Partial<ActorSettings> = {}, dir?: string) =>
  Effect.gen(function*() {
    const stateDir = dir ?? (yield* makeTempDir("ocw-faults-virtual-"))
    const api = yield* makeTestApi
    const host = yield* TestAgentTurns.make()
    const base = Layer.mergeAll(
      api.layer,
      State.layerAt(stateDir),
      Layer.succeed(AgentTurns, host),
      InboundMediaStore.layerMemory,
      Layer.succeed(ActorTuning, { initialPollTimeoutMs: 35_000, ...tuning })
    )
    const context = yield* Layer.build(Layer.provideMerge(Supervisor.layer, base))
    const [supervisor, store] = yield* Effect.all([Supervisor, AccountStore]).pipe(Effect.provide(context))
    const binding: HostBinding = { turns: host, config: defaultChannelConfig }
    const phases = (id: string) =>
      Effect.gen(function*() {
        const seen: Array<string> = []
        yield* supervisor.changes.pipe(
          Stream.filterMap((all) => HashMap.get(all, id)),
          Stream.map((status) => status.phase._tag),
          Stream.changes,
          Stream.runForEach((phase) => Effect.sync(() => void seen.push(phase))),
          Effect.forkScoped
        )
        yield* Effect.repeatN(Effect.yieldNow(), 10)
        return seen
      })
    const phaseOf = (id: string) => Effect.map(supervisor.status(id), (s) => Option.getOrUndefined(Option.map(s, (x) => x.phase)))
    return { stateDir, api, host, supervisor, store, binding, phases, phaseOf }
  })

// ---- a host channelRuntime for access tests ---------------------------------------------------------------

/**
 * The pieces of the host's `channelRuntime` an account's real agent turns use (pairing store, routing,
 * inbound dispatch), in memory: `approved` is the pairing store's allow list (edit it to approve or
 * revoke), `dispatched` the sender of every message that reached the agent. The agent replies "pong".
 */
export const fakeChannelRuntime = () => {
  const approved: Array<string> = []
  const dispatched: Array<string> = []
  const runtime = {
    pairing: {
      readAllowFromStore: async () => [...approved],
      upsertPairingRequest: async () => ({ code: "PAIR1234", created: true }),
      buildPairingReply: (params: Record<string, unknown>) => `pairing code: ${String(params["code"])}`
    },
    routing: {
      resolveAgentRoute: (params: Record<string, any>) => ({
        agentId: "main",
        channel: params["channel"],
        accountId: params["accountId"],
        sessionKey: `agent:main:openclaw-weixin:${params["accountId"]}:direct:${params["peer"]?.id}`,
        mainSessionKey: "agent:main:main",
        lastRoutePolicy: "session",
        matchedBy: "default"
      })
    },
    inbound: {
      buildContext: (params: Record<string, any>) => ({ MessageSid: params["messageId"], From: params["from"] ?? params["peer"]?.id, built: true, params }),
      dispatch: async (plan: Record<string, any>) => {
        const ctx = plan["ctxPayload"] ?? plan["ctx"] ?? {}
        dispatched.push(String(ctx?.params?.peer?.id ?? ctx?.params?.from ?? ctx?.From ?? "?"))
        await plan["delivery"].deliver({ text: "pong" }, { kind: "final" })
        return { dispatched: true, admission: { kind: "dispatch" }, ctxPayload: ctx }
      }
    },
    runtimeContexts: {}
  }
  return { runtime, approved, dispatched }
}
