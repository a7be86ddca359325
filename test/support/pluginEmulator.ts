/**
 * The sandbox emulator and the plugin around it, for adapter tests. The Effect helpers (what the plugin
 * tests use) tie everything to the test's scope: closing it disposes the plugin's runtime first, so its
 * accounts send notifystop while the emulator still listens, then closes the emulator. The promise forms
 * below them serve promise-style tests.
 */
import { afterEach } from "@effect/vitest"
import { Effect, Exit, type Layer, Scope } from "effect"
import { type Emulator, type EmulatorOptions, makeEmulator } from "../../sandbox/emulator/Emulator.js"
import { waitUntil } from "../../sandbox/gateway/waitUntil.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import type { ChannelTurns } from "../../src/host/ChannelTurns.js"
import type { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { makeWeixinChannelPlugin } from "../../src/plugin/ChannelPlugin.js"
import type { PluginDeps } from "../../src/plugin/PluginDeps.js"
import { makeTempDir } from "./actorHarness.js"
import { fakeGatewayContext, recordingBridge, seedAccount, storeLogin, tempDir, testDeps, waitFor } from "./plugin.js"

// ---- Effect helpers ------------------------------------------------------------------------------------

/** Plugin deps rooted at `stateDir`; the plugin's runtime is disposed when the scope closes. */
export const scopedDeps = (stateDir: string, options: Parameters<typeof testDeps>[1] = {}) => Effect.acquireRelease(Effect.sync(() => testDeps(stateDir, options)), (deps) => Effect.promise(() => deps.runtime.dispose()))

/** A host adapter call (a promise) as an effect that fails with whatever the promise rejects with. */
export const hostCall = <A>(call: () => Promise<A>): Effect.Effect<A, unknown> =>
  Effect.tryPromise({ try: call, catch: (error) => error })

/** One bot on a fresh emulator, logged in to a temp state dir, under a plugin whose accounts answer with the in-memory host. */
export const pluginWithBot = (options: {
  readonly dirPrefix: string
  readonly emulator?: EmulatorOptions
  readonly replyTo?: (text: string) => string
  /** also store the bot owner's user id, as a login that reported one does */
  readonly withUserId?: boolean
}) =>
  Effect.gen(function*() {
    const emulator = yield* makeEmulator({ longPollMs: 300, ...options.emulator })
    const bot = yield* emulator.addBot()
    const dir = yield* makeTempDir(options.dirPrefix)
    yield* storeLogin(dir, {
      id: bot.botId,
      token: bot.token,
      baseUrl: emulator.baseUrl,
      ...(options.withUserId === true ? { userId: bot.ownerUserId } : {})
    })
    const bridge = recordingBridge(options.replyTo === undefined ? {} : { replyTo: options.replyTo })
    const deps = yield* scopedDeps(dir, { bridge: bridge.layer })
    const plugin = makeWeixinChannelPlugin(deps)
    return { emulator, bot, dir, accountId: normalizeAccountId(bot.botId), bridge, deps, plugin }
  })

/**
 * `gateway.startAccount` the way the host calls it, in a fiber that ends when the host's promise does
 * (abort `fake.abort` to end it); returns once the account reports running.
 */
export const startAccountInFiber = (
  plugin: ReturnType<typeof makeWeixinChannelPlugin>,
  accountId: string,
  cfg: Record<string, unknown>,
  what = "the account to be running"
) =>
  Effect.gen(function*() {
    const fake = fakeGatewayContext(accountId, cfg)
    const started = yield* Effect.fork(hostCall(() => plugin.gateway!.startAccount!(fake.ctx)))
    yield* waitUntil(what, Effect.sync(() => fake.statuses.some((s) => s.statusState === "running")))
    return { fake, started }
  })

// ---- promise forms -------------------------------------------------------------------------------------

export interface RunningEmulator {
  readonly emulator: Emulator
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  readonly close: () => Promise<void>
}

export const startEmulator = async (options: EmulatorOptions = {}): Promise<RunningEmulator> => {
  const scope = Effect.runSync(Scope.make())
  const emulator = await Effect.runPromise(Scope.extend(makeEmulator({ longPollMs: 300, ...options }), scope))
  return {
    emulator,
    run: (effect) => Effect.runPromise(effect),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Settles-tracking wrapper: lets a test assert a promise is still pending. */
export const track = <A>(promise: Promise<A>) => {
  const state: { settled: "pending" | "resolved" | "rejected"; error: unknown } = { settled: "pending", error: undefined }
  const done = promise.then(
    (value) => {
      state.settled = "resolved"
      return value
    },
    (error) => {
      state.settled = "rejected"
      state.error = error
      throw error
    }
  )
  done.catch(() => {})
  return { state, done }
}

/**
 * The emulator and plugin deps of the test that is running, released by an `afterEach` this registers:
 * the runtime is disposed first, so its accounts send notifystop while the emulator still listens.
 */
export const emulatorPerTest = () => {
  let running: RunningEmulator | undefined
  let deps: PluginDeps | undefined
  afterEach(async () => {
    await deps?.runtime.dispose()
    await running?.close()
    running = undefined
    deps = undefined
  })

  const start = async (options: EmulatorOptions = {}): Promise<RunningEmulator> => (running = await startEmulator(options))
  const keep = (made: PluginDeps): PluginDeps => (deps = made)

  /** One bot on a fresh emulator, logged in to a temp state dir, under a plugin whose bridge records turns. */
  const startPluginWithBot = async (options: {
    readonly dirPrefix: string
    readonly emulator?: EmulatorOptions
    readonly replyTo?: (text: string) => string
    /** also store the bot owner's user id, as a login that reported one does */
    readonly withUserId?: boolean
  }) => {
    const { emulator, run } = await start(options.emulator)
    const bot = await run(emulator.addBot())
    const dir = tempDir(options.dirPrefix)
    await seedAccount(dir, {
      id: bot.botId,
      token: bot.token,
      baseUrl: emulator.baseUrl,
      ...(options.withUserId === true ? { userId: bot.ownerUserId } : {})
    })
    const bridge = recordingBridge(options.replyTo === undefined ? {} : { replyTo: options.replyTo })
    const deps = keep(testDeps(dir, { bridge: bridge.layer }))
    const plugin = makeWeixinChannelPlugin(deps)
    return { emulator, run, bot, dir, accountId: normalizeAccountId(bot.botId), bridge, deps, plugin }
  }

  return { start, keep, startPluginWithBot }
}

/**
 * Starts an account the way the host does and waits until it reports running. `started` settles when the
 * host's promise does; abort `fake.abort` to end it.
 */
export const startAccountUntilRunning = async (
  plugin: ReturnType<typeof makeWeixinChannelPlugin>,
  accountId: string,
  cfg: Record<string, unknown>,
  what = "the account to be running"
) => {
  const fake = fakeGatewayContext(accountId, cfg)
  const started = track(plugin.gateway!.startAccount!(fake.ctx))
  await waitFor(() => fake.statuses.some((s) => s.statusState === "running"), what)
  return { fake, started }
}
