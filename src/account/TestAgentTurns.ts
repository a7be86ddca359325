/**
 * The in-memory host for every test: an `AgentTurns` that records each turn (start and end time from the
 * Clock, the replies it sent and their outcomes) and behaves as scripted per message key, per peer, or by
 * default: reply texts, a delay (Clock.sleep, so TestClock controls it), a gate that holds the turn open,
 * an effect run inside the turn, a typed failure or a defect. Like the real host, a turn runs its agent
 * part inside `reply.withTyping`, and asks for the turn's media first; a skipped turn does neither, so it
 * shows no typing and downloads nothing.
 *
 * @example
 * ```ts
 * const host = yield* TestAgentTurns.make({ replies: ["ok"] })
 * yield* host.script({ key: "mid:7" }, { gate })
 * // ... run accounts with Layer.succeed(AgentTurns, host) ...
 * const turns = yield* host.turns
 * ```
 */
import { Cause, Clock, Context, Deferred, Duration, Effect, Either, Layer } from "effect"
import { AgentTurns, type AgentTurnsService, type InboundTurn, type ReplyChannel, TurnOutcome } from "./AgentTurns.js"
import { HostTurnError } from "./HostTurnError.js"
import type { TurnMedia } from "./InboundMedia.js"
import type { OutboundMedia } from "./OutboundMedia.js"
import type { OutboxError, Receipt } from "./Receipt.js"

export interface TurnScript {
  /** texts to send, in order, through the reply channel (a function sees the turn) */
  readonly replies?: ReadonlyArray<string> | ((turn: InboundTurn) => ReadonlyArray<string>)
  /** media replies sent after the texts, each through `sendMedia` (a failed one is recorded, not fatal) */
  readonly media?: (turn: InboundTurn) => ReadonlyArray<{ readonly caption: string; readonly media: ReadonlyArray<OutboundMedia> }>
  /** virtual-time delay before replying (the agent "thinking") */
  readonly delay?: Duration.DurationInput
  /** the turn waits until this is completed */
  readonly gate?: Deferred.Deferred<void>
  /** runs inside the agent part, before the replies (e.g. to record or to hold a turn open) */
  readonly during?: (turn: InboundTurn) => Effect.Effect<void>
  /** end the turn with HostTurnError (stage "agent") carrying this detail */
  readonly fail?: string
  /** end the turn with a defect carrying this message */
  readonly defect?: string
  /** skip the agent with this reason (e.g. an unauthorized sender) */
  readonly skip?: string
}

export interface RecordedTurn {
  readonly turn: InboundTurn
  /** the text of the message's first text item, if any */
  readonly text: string | undefined
  readonly startedAt: number
  endedAt: number | undefined
  readonly replies: Array<{ readonly text: string; readonly result: Either.Either<Receipt, OutboxError> }>
  /** the turn's media, fetched as the real host does: after admission, before the agent runs */
  media: TurnMedia | undefined
  outcome: "completed" | "skipped" | "failed" | "defect" | "interrupted" | undefined
}

export type ScriptMatch = { readonly key: string } | { readonly peer: string }

export interface TestAgentTurnsService extends AgentTurnsService {
  /** set the behaviour for one message key or one peer (case-insensitive); the latest wins */
  readonly script: (match: ScriptMatch, script: TurnScript) => Effect.Effect<void>
  readonly turns: Effect.Effect<ReadonlyArray<RecordedTurn>>
  /** turns running right now, and the most that ever ran at once */
  readonly active: Effect.Effect<number>
  readonly maxActive: Effect.Effect<number>
}

const firstText = (turn: InboundTurn): string | undefined => {
  const first = turn.claimed.message.item_list?.[0]
  return first !== undefined && "text_item" in first ? first.text_item.text : undefined
}

const make = (defaultScript: TurnScript = {}): Effect.Effect<TestAgentTurnsService> =>
  Effect.sync(() => {
    const byKey = new Map<string, TurnScript>()
    const byPeer = new Map<string, TurnScript>()
    const recorded: Array<RecordedTurn> = []
    let active = 0
    let maxActive = 0

    const scriptFor = (turn: InboundTurn): TurnScript =>
      byKey.get(turn.claimed.key) ?? byPeer.get(turn.peer.key) ?? defaultScript

    const deliver = (record: RecordedTurn, reply: ReplyChannel, text: string) =>
      Effect.gen(function*() {
        const result = yield* Effect.either(reply.sendText(text))
        record.replies.push({ text, result })
        if (Either.isLeft(result)) {
          return yield* new HostTurnError({
            accountId: record.turn.accountId,
            messageKey: record.turn.claimed.key,
            stage: "deliver",
            detail: result.left.message
          })
        }
      })

    const run = (turn: InboundTurn, reply: ReplyChannel) =>
      Effect.gen(function*() {
        const script = scriptFor(turn)
        const record: RecordedTurn = {
          turn,
          text: firstText(turn),
          startedAt: yield* Clock.currentTimeMillis,
          endedAt: undefined,
          replies: [],
          media: undefined,
          outcome: undefined
        }
        recorded.push(record)
        active++
        maxActive = Math.max(maxActive, active)
        const agent = Effect.gen(function*() {
          record.media = yield* turn.media
          if (script.gate !== undefined) yield* Deferred.await(script.gate)
          if (script.during !== undefined) yield* script.during(turn)
          if (script.delay !== undefined) yield* Effect.sleep(script.delay)
          if (script.defect !== undefined) return yield* Effect.dieMessage(script.defect)
          if (script.fail !== undefined) {
            return yield* new HostTurnError({
              accountId: turn.accountId,
              messageKey: turn.claimed.key,
              stage: "agent",
              detail: script.fail
            })
          }
          const texts = typeof script.replies === "function" ? script.replies(turn) : script.replies ?? []
          for (const text of texts) yield* deliver(record, reply, text)
          const media = script.media?.(turn) ?? []
          for (const request of media) {
            record.replies.push({ text: request.caption, result: yield* Effect.either(reply.sendMedia(request)) })
          }
          return TurnOutcome.Completed({ replies: texts.length + media.length })
        })
        const body: Effect.Effect<TurnOutcome, HostTurnError> = script.skip !== undefined
          ? Effect.succeed(TurnOutcome.Skipped({ reason: script.skip }))
          : reply.withTyping(agent)
        return yield* body.pipe(
          Effect.onExit((exit) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.sync(() => {
                active--
                record.endedAt = now
                record.outcome = exit._tag === "Success"
                  ? exit.value._tag === "Completed" ? "completed" : "skipped"
                  : Cause.isInterruptedOnly(exit.cause)
                  ? "interrupted"
                  : Cause.isFailType(exit.cause)
                  ? "failed"
                  : "defect"
              })
            )
          )
        )
      })

    return {
      run,
      script: (match, script) =>
        Effect.sync(() => {
          if ("key" in match) byKey.set(match.key, script)
          else byPeer.set(match.peer.toLowerCase(), script)
        }),
      turns: Effect.sync(() => [...recorded]),
      active: Effect.sync(() => active),
      maxActive: Effect.sync(() => maxActive)
    }
  })

export class TestAgentTurns extends Context.Tag("openclaw-weixin/TestAgentTurns")<
  TestAgentTurns,
  TestAgentTurnsService
>() {
  static make = make
  /** the in-memory host as `AgentTurns`, and as `TestAgentTurns` to script and read it */
  static layer = (defaultScript: TurnScript = {}): Layer.Layer<AgentTurns | TestAgentTurns> =>
    Layer.effectContext(
      Effect.map(make(defaultScript), (host) => Context.make(TestAgentTurns, host).pipe(Context.add(AgentTurns, host)))
    )
}

/**
 * A reply channel that records texts and answers each with `answer` (for host tests without an Outbox);
 * `typingRuns` counts the effects run under `withTyping` (which adds no behaviour here).
 */
export const recordingReplyChannel = (
  answer: (text: string) => Effect.Effect<Receipt, OutboxError>
): ReplyChannel & { readonly sent: Array<string>; readonly typingRuns: () => number } => {
  const sent: Array<string> = []
  let typingRuns = 0
  return {
    sent,
    typingRuns: () => typingRuns,
    sendText: (text) => Effect.suspend(() => (sent.push(text), answer(text))),
    sendProgress: () => Effect.dieMessage("recordingReplyChannel does not take progress items"),
    sendMedia: () => Effect.dieMessage("recordingReplyChannel does not take media"),
    withTyping: (effect) => Effect.suspend(() => (typingRuns++, effect))
  }
}
