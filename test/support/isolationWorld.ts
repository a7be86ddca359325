/**
 * A multi-account world for isolation tests: the plugin's production composition (PluginLayer: the
 * Supervisor over the AccountRunner, LoginFlow, ILinkApi, the state in a temp dir) against one sandbox
 * emulator on 127.0.0.1, with the in-memory host that answers every text with `re:<text>` as every
 * account's agent turns. Accounts start the way the host starts them: `Supervisor.start` with a binding. It also keeps what the isolation assertions read: which bot each bearer token
 * belongs to (so the emulator's request log can be split per bot), every phase change the Supervisor
 * published per account, steady inbound traffic, and the per-bot poll gaps.
 */
import { Deferred, Effect, Fiber, HashMap, Layer, Option, Redacted, Ref, Stream } from "effect"
import type { BotInfo, Emulator, RequestRecord } from "../../sandbox/emulator/Emulator.js"
import { makeEmulator } from "../../sandbox/emulator/Emulator.js"
import type { LoginOutcome } from "../../src/login/LoginEvents.js"
import { LoginFlow } from "../../src/login/LoginFlow.js"
import { LoginPromptUnavailable } from "../../src/login/LoginPrompt.js"
import type { HostBinding } from "../../src/account/AccountRunner.js"
import { Supervisor } from "../../src/account/Supervisor.js"
import { TestAgentTurns } from "../../src/account/TestAgentTurns.js"
import { defaultChannelConfig } from "../../src/config/ChannelConfig.js"
import { type ActorSettings, ActorTuning, type RestartSettings, RestartTuning } from "../../src/config/Tuning.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import { ChannelTurns } from "../../src/host/ChannelTurns.js"
import { LogSinks } from "../../src/plugin/HostLogger.js"
import { makePluginLayer } from "../../src/plugin/PluginLayer.js"
import { AccountStore } from "../../src/state/AccountStore.js"
import { State } from "../../src/state/State.js"
import { waitUntil } from "../../sandbox/gateway/waitUntil.js"
import { makeTempDir } from "./actorHarness.js"

export interface IsolationOptions {
  readonly accounts: number
  /** how long the emulator holds an idle getupdates */
  readonly longPollMs: number
  readonly supervisor: RestartSettings
  readonly actor: Partial<ActorSettings>
}

/** One phase the Supervisor published for an account (only changes of phase are kept). */
export interface PhaseChange {
  readonly accountId: string
  readonly phase: string
  /** position in the log, to cut it at a moment of the test */
  readonly index: number
}

/** An inbound text injected by the test, at emulator time `at`. */
export interface Injection {
  readonly botId: string
  readonly text: string
  readonly at: number
}

export interface PollRecord {
  readonly at: number
  readonly token: string
  readonly cursor: string
}

const textOf = (items: ReadonlyArray<unknown> | undefined): string | undefined => {
  const first = items?.[0]
  return typeof first === "object" && first !== null && "text_item" in first
    ? (first as { text_item: { text: string } }).text_item.text
    : undefined
}

const bearer = (record: RequestRecord): string => {
  const header = record.headers["authorization"] ?? ""
  return header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : ""
}

const cursorOf = (record: RequestRecord): string => {
  try {
    const body = JSON.parse(record.body) as { get_updates_buf?: unknown }
    return typeof body.get_updates_buf === "string" ? body.get_updates_buf : ""
  } catch {
    return ""
  }
}

/**
 * The emulator's getupdates cursor is base64("<salt>.<seq>"). Clients treat it as opaque; the test
 * reads it to prove a cursor never went back. "" (start) reads as seq −1.
 */
export const cursorSeq = (cursor: string): number => {
  if (cursor === "") return -1
  const match = /\.(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"))
  return match === null ? Number.NaN : Number(match[1])
}

/**
 * Longest time in [from, to] during which a bot had no getupdates arriving, measured between request
 * arrivals (the last poll before `from` opens the window, `to` closes it, so a bot that stopped
 * polling altogether shows the whole silence).
 */
export const longestPollGap = (arrivals: ReadonlyArray<number>, from: number, to: number): number => {
  const before = arrivals.filter((at) => at <= from)
  const inside = arrivals.filter((at) => at > from && at <= to)
  const points = [before.length > 0 ? before[before.length - 1]! : from, ...inside, to]
  let longest = 0
  for (let i = 1; i < points.length; i++) longest = Math.max(longest, points[i]! - points[i - 1]!)
  return longest
}

export const makeIsolationWorld = (options: IsolationOptions) =>
  Effect.gen(function*() {
    // The emulator's reply budget (10 replies per user message, counted per conversation) would refuse an
    // account that catches up a backlog of steady traffic after a scheduling stall on a loaded machine;
    // that is a server rule under test elsewhere, not isolation, so these worlds lift it.
    const emulator: Emulator = yield* makeEmulator({
      longPollMs: options.longPollMs,
      qrStatusHoldMs: 200,
      replyBudget: 1_000
    })
    const dir = yield* makeTempDir("ocw-isolation-")
    const host = yield* TestAgentTurns.make({
      replies: (turn) => [`re:${textOf(turn.claimed.message.item_list) ?? "?"}`]
    })
    // log lines go to the test's own output, like any effect's: no host logger sink is bound
    const sinks = new LogSinks()
    sinks.fallback = { debug: () => {}, info: () => {}, warn: (m) => console.warn(m), error: (m) => console.error(m) }
    const plugin = makePluginLayer({ sinks, state: State.layerAt(dir), channelTurns: ChannelTurns.layerTest(host) })
      .pipe(
        Layer.provide(Layer.succeed(ActorTuning, options.actor)),
        Layer.provide(Layer.succeed(RestartTuning, options.supervisor))
      )
    const context = yield* Layer.build(plugin)
    const [supervisor, store, flow] = yield* Effect.all([Supervisor, AccountStore, LoginFlow]).pipe(Effect.provide(context))

    /** What the host's `gateway.startAccount` does for an account: start it with a binding of its own. */
    const startAccount = (botId: string) => {
      const binding: HostBinding = { turns: host, config: defaultChannelConfig }
      return supervisor.start(normalizeAccountId(botId), binding)
    }

    // which bot a bearer token belongs to, old tokens included (a re-login replaces the token)
    const tokenOwner = new Map<string, string>()
    const learn = (bot: BotInfo) => {
      tokenOwner.set(bot.token, bot.botId)
      return bot
    }

    // every change of phase per account, in order, from the first status on
    const phases: Array<PhaseChange> = []
    const lastPhase = new Map<string, string>()
    yield* supervisor.changes.pipe(
      Stream.runForEach((all) =>
        Effect.sync(() => {
          for (const [id, status] of HashMap.toEntries(all)) {
            if (lastPhase.get(id) === status.phase._tag) continue
            lastPhase.set(id, status.phase._tag)
            phases.push({ accountId: id, phase: status.phase._tag, index: phases.length })
          }
        })
      ),
      Effect.forkScoped
    )

    const bots: Array<BotInfo> = []
    for (let i = 0; i < options.accounts; i++) {
      const bot = learn(yield* emulator.addBot())
      const id = normalizeAccountId(bot.botId)
      yield* store.save(id, { token: Redacted.make(bot.token), baseUrl: emulator.baseUrl, userId: bot.ownerUserId })
      yield* store.register(id)
      bots.push(bot)
    }

    const phaseOf = (botId: string) =>
      Effect.map(supervisor.status(normalizeAccountId(botId)), (s) => Option.getOrUndefined(Option.map(s, (x) => x.phase._tag)))
    const awaitPhase = (botId: string, phase: string, withinMs = 10_000) =>
      waitUntil(`${botId} ${phase}`, phaseOf(botId), (p) => p === phase, { timeoutMs: withinMs })

    /** Phases published for the account from log position `since` on. */
    const phasesSince = (botId: string, since: number) =>
      Effect.sync(() =>
        phases.filter((p) => p.index >= since && p.accountId === normalizeAccountId(botId)).map((p) => p.phase)
      )
    const phaseMark = Effect.sync(() => phases.length)

    const inject = (botId: string, text: string) =>
      Effect.gen(function*() {
        const at = yield* emulator.now
        yield* emulator.injectInbound({ botId, kind: "text", text })
        const injection: Injection = { botId, text, at }
        return injection
      })

    /** When the emulator recorded a delivered `re:<text>` from this bot, if it did. */
    const answeredAt = (injection: Injection) =>
      Effect.map(emulator.sent(injection.botId), (sent) =>
        sent.find((s) => s.text === `re:${injection.text}` && s.outcome === "delivered")?.at)
    const allAnswered = (injections: ReadonlyArray<Injection>) =>
      Effect.map(Effect.forEach(injections, answeredAt), (ats) => ats.every((at) => at !== undefined))

    /** Injects `text` and waits until its answer is delivered. */
    const say = (botId: string, text: string, withinMs = 10_000) =>
      Effect.gen(function*() {
        const injection = yield* inject(botId, text)
        yield* waitUntil(`an answer to "${text}" from ${botId}`, allAnswered([injection]), { timeoutMs: withinMs })
        return injection
      })

    /**
     * Injects one text to each of `botIds` every `everyMs` (real time: this paces traffic, it waits for
     * nothing) until `stop`, which returns every injection made.
     */
    const steadyTraffic = (botIds: ReadonlyArray<string>, everyMs: number, label: string) =>
      Effect.gen(function*() {
        const made = yield* Ref.make<ReadonlyArray<Injection>>([])
        const halt = yield* Deferred.make<void>()
        const fiber = yield* Effect.gen(function*() {
          for (let n = 0; ; n++) {
            for (const botId of botIds) {
              const injection = yield* inject(botId, `${label}-${botId}-${n}`)
              yield* Ref.update(made, (all) => [...all, injection])
            }
            yield* Effect.sleep(`${everyMs} millis`)
          }
        }).pipe(Effect.raceFirst(Deferred.await(halt)), Effect.forkScoped)
        return {
          /** the injections made so far */
          injected: Ref.get(made),
          stop: Effect.gen(function*() {
            yield* Deferred.succeed(halt, undefined)
            yield* Fiber.join(fiber)
            return yield* Ref.get(made)
          })
        }
      })

    /** Every getupdates the bot made, in arrival order, with its token and cursor. */
    const pollsOf = (botId: string) =>
      Effect.map(emulator.requests("getupdates"), (records) =>
        records
          .filter((r) => tokenOwner.get(bearer(r)) === botId)
          .map((r): PollRecord => ({ at: r.at, token: bearer(r), cursor: cursorOf(r) })))

    const starts = (botId: string) =>
      Effect.map(emulator.notifications(botId), (ns) => ns.filter((n) => n.kind === "start").length)
    const stops = (botId: string) =>
      Effect.map(emulator.notifications(botId), (ns) => ns.filter((n) => n.kind === "stop").length)

    /**
     * A CLI-style QR login through LoginFlow while the emulator's phone side confirms it: as an existing
     * bot (re-login) or, without `botId`, as a new bot of a new user. Returns the outcome and the bot.
     */
    const qrLogin = (confirm: { readonly botId?: string; readonly userId?: string }) =>
      Effect.gen(function*() {
        const codesBefore = (yield* emulator.requests("get_bot_qrcode")).length
        const login = yield* Effect.fork(
          flow.login({ qrBaseUrl: emulator.baseUrl, pollIntervalMs: 100, timeoutMs: 15_000 }).pipe(
            Effect.provide(LoginPromptUnavailable)
          )
        )
        yield* waitUntil(
          "a QR code was fetched",
          Effect.map(emulator.requests("get_bot_qrcode"), (r) => r.length > codesBefore),
          { timeoutMs: 5_000 }
        )
        const bot = learn(yield* emulator.qr.confirm(undefined, confirm))
        const outcome: LoginOutcome = yield* Fiber.join(login)
        return { outcome, bot }
      })

    return {
      emulator,
      supervisor,
      store,
      context,
      startAccount,
      host,
      bots,
      ids: bots.map((b) => normalizeAccountId(b.botId)),
      phaseOf,
      awaitPhase,
      phasesSince,
      phaseMark,
      inject,
      answeredAt,
      allAnswered,
      say,
      steadyTraffic,
      pollsOf,
      starts,
      stops,
      qrLogin
    }
  })

export type IsolationWorld = Effect.Effect.Success<ReturnType<typeof makeIsolationWorld>>
