/**
 * Commands the channel answers itself, never the agent (docs/PROTOCOL.md §7.7, §7.8):
 * - `/echo [text]` answers the text (if any), then a timing report: when WeChat created the message, how
 *   long it took to reach us, how long we held it before answering;
 * - `/toggle-debug` flips the account's debug mode (DebugModeStore, the official `debug-mode.json`); while
 *   it is on, every agent turn of the account ends with a trace of its timings (`debugTrace`).
 * Any other `/…` goes on to the agent, where the host's own commands (`/stop`, `/new`, …) apply.
 *
 * Where we differ: the official plugin runs these before its access check, so anyone who finds the bot
 * can switch its debug mode; here only a sender the access policy admitted reaches them
 * (src/host/ChannelAgentTurns.ts asks right after the access decision). A command that fails is answered
 * with what went wrong and is still handled: it never reaches the agent.
 */
import { Clock, Data, Effect, Option } from "effect"
import { DebugModeStore } from "../state/DebugModeStore.js"
import { firstTextOf } from "../domain/InboundText.js"
import type { WeixinMessage } from "../wire/Message.js"
import type { ChannelCommandsService, InboundTurn, ReplyChannel, TurnOutcome } from "./AgentTurns.js"

export type ChannelCommand = Data.TaggedEnum<{
  Echo: { readonly text: string }
  ToggleDebug: {}
}>
export const ChannelCommand = Data.taggedEnum<ChannelCommand>()

/** `/echo` answers at most this many characters of its text (one WeChat message, whatever was sent). */
export const ECHO_MAX_CHARS = 1_000


/**
 * The channel command the message carries: its first text item, trimmed, starts with `/`; the command is
 * the first word, lowercased; the rest after that space is the command's text. None for anything else.
 */
export const parseChannelCommand = (message: WeixinMessage): Option.Option<ChannelCommand> => {
  const text = firstTextOf(message)?.trim()
  if (text === undefined || !text.startsWith("/")) return Option.none()
  const space = text.indexOf(" ")
  const name = (space < 0 ? text : text.slice(0, space)).toLowerCase()
  const rest = space < 0 ? "" : text.slice(space + 1)
  if (name === "/echo") return Option.some(ChannelCommand.Echo({ text: rest }))
  if (name === "/toggle-debug") return Option.some(ChannelCommand.ToggleDebug())
  return Option.none()
}

const isoOrUnknown = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) || ms <= 0 ? "unknown" : new Date(ms).toISOString()

const msOrUnknown = (from: number | undefined, to: number): string =>
  from === undefined || !Number.isFinite(from) || from <= 0 ? "unknown" : `${Math.max(0, to - from)} ms`

/** The `/echo` timing report: created (server clock), WeChat → us, us until now. */
export const echoReport = (createdAtMs: number | undefined, claimedAt: number, now: number): string =>
  [
    "⏱ /echo",
    `• created by WeChat: ${isoOrUnknown(createdAtMs)}`,
    `• WeChat → openclaw-weixin: ${msOrUnknown(createdAtMs, claimedAt)}`,
    `• openclaw-weixin until this answer: ${Math.max(0, now - claimedAt)} ms`
  ].join("\n")

const cut = (text: string): string =>
  text.length <= ECHO_MAX_CHARS ? text : `${text.slice(0, ECHO_MAX_CHARS)}… (${text.length - ECHO_MAX_CHARS} more characters not echoed)`

const describe = (error: { readonly message: string }): string =>
  error.message.length <= 200 ? error.message : `${error.message.slice(0, 200)}…`

/** One account's channel commands. A class, so its steps are shared methods (ARCHITECTURE "Light accounts"). */
class AccountCommands implements ChannelCommandsService {
  // a missing or broken file reads as "off" (DebugModeStore), so this never fails
  readonly debugOn: Effect.Effect<boolean>

  constructor(private readonly accountId: string, private readonly debugMode: DebugModeStore) {
    this.debugOn = debugMode.isOn(accountId)
  }

  private run(command: ChannelCommand, turn: InboundTurn, reply: ReplyChannel) {
    const { accountId, debugMode } = this
    return ChannelCommand.$match(command, {
      Echo: ({ text }) =>
        Effect.gen(function*() {
          if (text.trim() !== "") yield* reply.sendText(cut(text))
          const now = yield* Clock.currentTimeMillis
          yield* reply.sendText(echoReport(turn.claimed.message.create_time_ms, turn.claimed.claimedAt, now))
        }),
      ToggleDebug: () =>
        Effect.gen(function*() {
          const on = yield* debugMode.toggle(accountId)
          yield* Effect.logInfo(`debug mode ${on ? "on" : "off"} (by ${turn.peer.id}, ${debugMode.file})`)
          yield* reply.sendText(
            on
              ? "Debug mode is on for this WeChat bot: every answer is followed by a timing trace. Send /toggle-debug again to turn it off."
              : "Debug mode is off for this WeChat bot."
          )
        })
    })
  }

  handle(turn: InboundTurn, reply: ReplyChannel): Effect.Effect<Option.Option<string>> {
    return Option.match(parseChannelCommand(turn.claimed.message), {
      onNone: () => Effect.succeed(Option.none<string>()),
      onSome: (command) => {
        const name = command._tag === "Echo" ? "/echo" : "/toggle-debug"
        return this.run(command, turn, reply).pipe(
          Effect.catchAll((error) =>
            Effect.zipRight(
              Effect.logWarning(`${name} from ${turn.peer.id} failed: ${describe(error)}`),
              Effect.ignore(reply.sendText(`${name} failed: ${describe(error)}`))
            )
          ),
          Effect.as(Option.some(name))
        )
      }
    })
  }
}

export const makeChannelCommands = Effect.fnUntraced(function*(accountId: string) {
  return new AccountCommands(accountId, yield* DebugModeStore) satisfies ChannelCommandsService
})

export interface TurnTimings {
  /** when the server created the message (its clock), if it said */
  readonly createdAtMs: number | undefined
  /** when the Inbox claimed it (after the poll that brought it) */
  readonly claimedAt: number
  readonly startedAt: number
  readonly endedAt: number
}

/** The trace sent after a turn in debug mode (PROTOCOL §7.8): what came in, what happened, how long each step took. */
export const debugTrace = (turn: InboundTurn, outcome: TurnOutcome | string, timings: TurnTimings): string => {
  const message = turn.claimed.message
  const body = firstTextOf(message) ?? ""
  const types = [...new Set((message.item_list ?? []).map((item) => item.type))].join(",")
  const result = typeof outcome === "string"
    ? `failed: ${outcome.length <= 200 ? outcome : `${outcome.slice(0, 200)}…`}`
    : outcome._tag === "Completed"
    ? `answered with ${outcome.replies} message(s)`
    : outcome._tag === "Skipped"
    ? `not run: ${outcome.reason}`
    : `answered by the channel (${outcome.name})`
  return [
    "⏱ debug",
    `in: ${turn.claimed.key} from ${turn.peer.id}, items [${types}], ${body.length} characters, context token ${turn.contextToken === undefined ? "missing" : "present"}`,
    `turn: ${result}`,
    `• WeChat → claimed: ${msOrUnknown(timings.createdAtMs, timings.claimedAt)}`,
    `• claimed → turn start (queue): ${Math.max(0, timings.startedAt - timings.claimedAt)} ms`,
    `• turn (access, route, media, agent, replies): ${Math.max(0, timings.endedAt - timings.startedAt)} ms`,
    `• total: ${msOrUnknown(timings.createdAtMs, timings.endedAt)}`
  ].join("\n")
}
