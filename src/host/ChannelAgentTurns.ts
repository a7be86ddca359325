/**
 * ChannelAgentTurns: the real `AgentTurns` (src/account/AgentTurns.ts) over the host's task-scoped
 * `ctx.channelRuntime` (docs/HOST-NOTES.md "Inbound").
 *
 * One turn: admission under the dmPolicy with the host's pairing store (Admission.ts) →
 * `routing.resolveAgentRoute` with the account and the sender as a direct peer (so `session.dmScope`
 * isolates accounts; unset with several accounts, src/config/DmScope.ts asks for per-account sessions) → the turn's media (fetched now, InboundMediaFacts.ts) → `inbound.buildContext`
 * (InboundContext.ts) → `inbound.dispatch`, the host's
 * channel-turn API, which records the session, runs the agent and hands each reply payload to our
 * `deliver`, which answers with what was sent or a typed error (DeliverySettlement.ts), so the host's
 * `message_sent` hooks see WeChat replies. Replies go out through the turn's `ReplyChannel` (the Outbox,
 * which chunks, with the turn's context token); tool progress through `sendProgress`, one item after the other from one fiber;
 * "typing…" through `withTyping`, around the agent run only (a refused sender never sees it).
 */
import { Cause, Clock, Effect, Either, Exit, Fiber, Option, Queue, Ref, Runtime, Stream } from "effect"
import type { OpenClawConfig, PluginRuntime, ReplyPayload } from "openclaw/plugin-sdk/core"
import {
  type AgentTurnsService,
  type InboundTurn,
  type ProgressItem,
  type ReplyChannel,
  TurnOutcome
} from "../account/AgentTurns.js"
import type { HostTurnError } from "../account/HostTurnError.js"
import type { OutboxError } from "../account/Receipt.js"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { firstTextOf, inboundBody } from "../domain/InboundText.js"
import { filterMarkdown } from "../domain/MarkdownFilter.js"
import type { ChannelConfig } from "../config/ChannelConfig.js"
import { MessageItemType, type WeixinMessage } from "../wire/Message.js"
import { makeAdmission } from "./Admission.js"
import { type AsyncContextRunner, describeThrown, runtimeCaller } from "./ChannelRuntime.js"
import { deliveredResult, type HostDeliveryResult, hostSettlementErrors, type SettlementErrors, settlementError } from "./DeliverySettlement.js"
import { inboundContextParams, type TurnRoute, turnMessageId } from "./InboundContext.js"
import { hostInboundMediaHelpers, type InboundMediaHelpers, mediaContext } from "./InboundMediaFacts.js"
import type { MediaLoaderService } from "./MediaLoader.js"
import { resolveQuote } from "./QuoteContext.js"
import { recordInbound } from "./QuoteRecording.js"
import { deliverReplyMedia, makeNoticeGate, REPLY_FAILURE_NOTICE, replyMediaRefs } from "./ReplyMedia.js"

type HostChannelRuntime = PluginRuntime["channel"]
type DispatchPlan = Parameters<HostChannelRuntime["inbound"]["dispatch"]>[0]
type ItemEvent = Parameters<NonNullable<NonNullable<DispatchPlan["replyOptions"]>["onItemEvent"]>>[0]

/** The settings of the channel section the agent turns read. */
export type ChannelAgentTurnsSettings = Pick<ChannelConfig, "dmPolicy" | "allowFrom" | "replyProgressMessages">

export interface ChannelAgentTurnsParams {
  /** `ctx.channelRuntime` as the host gave it */
  readonly channelRuntime: unknown
  readonly cfg: OpenClawConfig
  readonly accountId: string
  readonly settings: ChannelAgentTurnsSettings
  /** the WeChat user who scanned the login QR: always allowed under `pairing` and `allowlist` */
  readonly scannerUserId?: string | undefined
  /** runs each call of `channelRuntime` in the async context the host started the account in */
  readonly inHostContext?: AsyncContextRunner | undefined
  /** the host's media helpers (default: imported from the host on the first turn with media) */
  readonly mediaHelpers?: Effect.Effect<InboundMediaHelpers> | undefined
  /** the `dmScope` to route with (src/config/DmScope.ts), read at each turn; unset: the host's own */
  readonly dmScope?: (() => string | undefined) | undefined
  /** the host's delivery error class (default: imported from the host on the first failed reply) */
  readonly settlement?: Effect.Effect<SettlementErrors> | undefined
  /** the host's inbound debounce for this channel in ms (ChannelTurns.ts reads it); default 0, off */
  readonly inboundDebounceMs?: number | undefined
  /** loads a reply's media (ReplyMedia.ts) under the account's cap; without it media is logged and skipped */
  readonly media?: { readonly loader: MediaLoaderService; readonly maxBytes: number } | undefined
}

/** The tool progress item for one host item event, or undefined for events WeChat does not show (§5.7). */
export const progressItemFor = (event: ItemEvent, now: number): ProgressItem | undefined => {
  if (event.kind !== "tool" || (event.phase !== "start" && event.phase !== "end")) return undefined
  const toolName = event.name?.trim() || event.title?.trim() || "tool"
  const callId = event.itemId?.trim()
  const id = callId === undefined || callId === "" ? {} : { tool_call_id: callId }
  if (event.phase === "start") {
    return {
      type: MessageItemType.TOOL_CALL_START,
      create_time_ms: now,
      is_completed: false,
      tool_call_start_item: { tool_name: toolName, ...id }
    }
  }
  const status = event.status === "completed" || event.status === "failed" || event.status === "blocked"
    ? event.status
    : "unknown"
  return {
    type: MessageItemType.TOOL_CALL_RESULT,
    create_time_ms: now,
    is_completed: true,
    tool_call_result_item: { tool_name: toolName, ...id, status }
  }
}

/** The text WeChat shows for a reply payload (markdown filtered), and its media references. */
export const replyTextOf = (payload: ReplyPayload): { readonly text: string; readonly media: ReadonlyArray<string> } => ({
  text: filterMarkdown(payload.text ?? "").trim(),
  media: replyMediaRefs(payload)
})

/**
 * The final answer without the commentary the user already got this turn: an answer equal to one commentary
 * text is empty; an answer that starts with the commentary texts, in the order they were sent, keeps what
 * follows them. Anything else is left whole (a partial overlap is not a repeat).
 */
export const withoutRepeatedCommentary = (text: string, commentary: ReadonlyArray<string>): string => {
  if (commentary.includes(text)) return ""
  let rest = text
  for (const said of commentary) {
    if (said === "" || !rest.startsWith(said)) break
    rest = rest.slice(said.length).trimStart()
  }
  return rest
}

interface ResolvedRoute extends TurnRoute {
  readonly lastRouteSessionKey: string
  readonly dmScope: unknown
}

export const makeChannelAgentTurns = (params: ChannelAgentTurnsParams): AgentTurnsService => {
  const { accountId, cfg, settings } = params
  const { call, turnError } = runtimeCaller(params.channelRuntime, accountId, params.inHostContext)
  const { admit } = makeAdmission({ accountId, settings, scannerUserId: params.scannerUserId, call })
  const mediaHelpers = params.mediaHelpers ?? hostInboundMediaHelpers
  const notice = makeNoticeGate()
  const settlement = params.settlement ?? hostSettlementErrors

  const resolveRoute = (turn: InboundTurn): Effect.Effect<ResolvedRoute, HostTurnError> =>
    Effect.flatMap(
      Effect.suspend(() => {
        const dmScope = params.dmScope?.()
        return call<Record<string, unknown> | undefined>(turn, "route", "routing.resolveAgentRoute", {
          cfg,
          channel: WEIXIN_CHANNEL_ID,
          accountId,
          peer: { kind: "direct", id: turn.peer.id },
          ...(dmScope === undefined ? {} : { dmScope })
        })
      }),
      (route) => {
        const agentId = route?.["agentId"]
        const sessionKey = route?.["sessionKey"]
        if (route === undefined || typeof agentId !== "string" || typeof sessionKey !== "string") {
          return Effect.fail(turnError(turn, "route", "resolveAgentRoute answered without an agentId and sessionKey"))
        }
        const mainSessionKey = typeof route["mainSessionKey"] === "string" ? route["mainSessionKey"] : sessionKey
        return Effect.succeed({
          agentId,
          accountId: typeof route["accountId"] === "string" ? route["accountId"] : accountId,
          sessionKey,
          mainSessionKey,
          lastRouteSessionKey: route["lastRoutePolicy"] === "session" ? sessionKey : mainSessionKey,
          dmScope: route["dmScope"]
        })
      }
    )

  /**
   * Never silent: when WeChat refused a reply for a reason another short message can get past (it could
   * not prepare that text, or refused it for a reason of its own), the user gets one notice, at most one
   * per peer a minute (shared with the media notice). Not when nothing can reach them (no token, window
   * closed, budget spent, expired login, wrong id, rate limit, server unreachable) nor when the reply may
   * have arrived (DeliveryUnknown): the log line above says what to do in each case.
   */
  const tellUserOfFailure = (turn: InboundTurn, reply: ReplyChannel, error: OutboxError) =>
    error._tag !== "MessageRejected" && error._tag !== "SendFailed"
      ? Effect.void
      : Effect.flatMap(notice(turn.peer.key), (allowed) =>
        allowed
          ? reply.sendText(REPLY_FAILURE_NOTICE).pipe(
            Effect.tap(() => Effect.logInfo(`told ${turn.peer.id} that a reply could not be delivered`)),
            Effect.catchAll((again) => Effect.logWarning(`the failure notice to ${turn.peer.id} was not delivered either: ${again.message}`))
          )
          : Effect.logDebug(`no failure notice to ${turn.peer.id}: one was sent within the last minute`))

  /** `inbound.dispatch` with our delivery callbacks; the host calls them while the agent runs. */
  const dispatch = (turn: InboundTurn, reply: ReplyChannel, route: ResolvedRoute, ctxPayload: unknown) =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      const runPromiseExit = Runtime.runPromiseExit(runtime)
      const runFork = Runtime.runFork(runtime)
      const delivered = yield* Ref.make(0)
      const failures = yield* Ref.make<ReadonlyArray<string>>([])

      // texts the user already got as commentary (tool or block payloads) this turn, in order
      const commentary = yield* Ref.make<ReadonlyArray<string>>([])

      const deliverReply = (payload: ReplyPayload, kind: string | undefined): Effect.Effect<HostDeliveryResult | undefined, Error> =>
        Effect.gen(function*() {
          const { text: fullText, media } = replyTextOf(payload)
          // a final answer that repeats the commentary before it reaches the user once (PROTOCOL §5.7)
          const text = kind === "final" ? withoutRepeatedCommentary(fullText, yield* Ref.get(commentary)) : fullText
          if (text !== fullText) {
            yield* Effect.logDebug(`the final reply to ${turn.peer.id} repeated ${fullText.length - text.length} character(s) of commentary; sending the rest`)
          }
          if (media.length > 0 && params.media === undefined) {
            yield* Effect.logWarning(`the agent replied with ${media.length} media file(s); no media loader, sending the text only`)
          }
          if (text === "" && (media.length === 0 || params.media === undefined)) return undefined
          const mediaKind = media.length > 0 && params.media !== undefined ? "media" : "text"
          const send = mediaKind === "media" && params.media !== undefined
            ? deliverReplyMedia(
              { turn, reply, loader: params.media.loader, notice, cfg, agentId: route.agentId, maxBytes: params.media.maxBytes },
              text,
              media
            )
            : reply.sendText(text)
          const sent = yield* Effect.either(send)
          const now = yield* Clock.currentTimeMillis
          const failed = (message: string) =>
            Effect.zipRight(
              Ref.update(failures, (all) => [...all, message]),
              Effect.logWarning(`a reply to ${turn.peer.id} was not delivered: ${message}`)
            )
          if (Either.isLeft(sent)) {
            yield* failed(sent.left.message)
            yield* tellUserOfFailure(turn, reply, sent.left)
            return yield* Effect.fail(settlementError(sent.left, yield* settlement, mediaKind, now))
          }
          if (sent.right === undefined) {
            // every file failed to load and there was no caption: the user got the media notice, not the reply
            const message = `none of the ${media.length} file(s) of the reply could be loaded`
            yield* failed(message)
            return yield* Effect.fail((yield* settlement).notDispatched(message, undefined, false))
          }
          yield* Ref.update(delivered, (n) => n + 1)
          if (kind !== "final" && text !== "") yield* Ref.update(commentary, (all) => [...all, text])
          return deliveredResult(sent.right, text, mediaKind, now)
        })

      // the host awaits this per payload: what was sent (its receipt), or a typed rejection (the turn goes on)
      const deliver = async (payload: ReplyPayload, info?: { readonly kind?: string }): Promise<HostDeliveryResult | undefined> => {
        const exit = await runPromiseExit(deliverReply(payload, info?.kind))
        if (Exit.isSuccess(exit)) return exit.value
        throw Option.getOrElse(Cause.failureOption(exit.cause), () => new Error("the send was interrupted"))
      }

      // progress items leave in event order from one fiber and never hold up the turn; None ends it
      const events = yield* Queue.unbounded<Option.Option<ItemEvent>>()
      const progress = yield* Stream.fromQueue(events).pipe(
        Stream.takeWhile(Option.isSome),
        Stream.runForEach((event) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const item = progressItemFor(event.value, now)
            return item === undefined ? Effect.void : Effect.asVoid(reply.sendProgress(item))
          }).pipe(Effect.catchAll((error) => Effect.logDebug(`a tool progress item was not sent: ${error.message}`)))
        ),
        Effect.forkScoped
      )

      const plan = {
        cfg,
        channel: WEIXIN_CHANNEL_ID,
        accountId,
        route: {
          agentId: route.agentId,
          sessionKey: route.sessionKey,
          ...(typeof route.dmScope === "string" ? { dmScope: route.dmScope } : {})
        },
        ctxPayload,
        messageId: turnMessageId(turn),
        delivery: {
          deliver,
          // the host fires its message_sent hooks from what deliver answers (DeliverySettlement.ts)
          observeMessageSent: true,
          onError: (error: unknown, info: { readonly kind: string }) =>
            void runFork(Effect.logWarning(`the host reported a ${info.kind} reply failure: ${describeThrown(error)}`))
        },
        record: {
          updateLastRoute: { sessionKey: route.lastRouteSessionKey, channel: WEIXIN_CHANNEL_ID, to: turn.peer.id, accountId },
          onRecordError: (error: unknown) =>
            void runFork(Effect.logWarning(`the host could not record the session: ${describeThrown(error)}`))
        },
        replyOptions: {
          // WeChat shows whole messages only; the host's block streaming would split one answer
          disableBlockStreaming: true,
          ...(settings.replyProgressMessages
            ? { onItemEvent: (event: ItemEvent) => void Queue.unsafeOffer(events, Option.some(event)) }
            : {})
        }
      } as unknown as DispatchPlan

      const dispatched = yield* Effect.either(
        reply.withTyping(
          call<{ readonly dispatched?: unknown; readonly admission?: { readonly reason?: unknown } } | undefined>(
            turn,
            "agent",
            "inbound.dispatch",
            plan
          )
        )
      )
      yield* Queue.offer(events, Option.none())
      yield* Fiber.join(progress)
      const [sent, failed] = [yield* Ref.get(delivered), yield* Ref.get(failures)]
      if (failed.length > 0 && sent === 0) return yield* turnError(turn, "deliver", failed[0] ?? "no reply could be delivered")
      if (dispatched._tag === "Left") return yield* dispatched.left
      const result = dispatched.right
      if (result?.dispatched === false) {
        const reason = typeof result.admission?.reason === "string" ? result.admission.reason : "the host skipped it"
        yield* Effect.logInfo(`the host did not run the agent for ${turn.claimed.key}: ${reason}`)
        return TurnOutcome.Skipped({ reason })
      }
      return TurnOutcome.Completed({ replies: sent })
    }).pipe(Effect.scoped)

  const run = (turn: InboundTurn, reply: ReplyChannel): Effect.Effect<TurnOutcome, HostTurnError> =>
    Effect.gen(function*() {
      const admission = yield* admit(turn, reply)
      if (admission._tag === "Stop") return admission.outcome
      // the channel's own commands, for admitted senders only (src/account/ChannelCommands.ts)
      const command = turn.commands === undefined ? Option.none<string>() : yield* turn.commands.handle(turn, reply)
      if (Option.isSome(command)) return TurnOutcome.Command({ name: command.value })
      const route = yield* resolveRoute(turn)
      // fetched after admission, so a refused sender's media is never downloaded
      const media = yield* turn.media
      const hasMedia = media.received.length + media.missing.length + media.skipped > 0
      const forContext = hasMedia
        ? mediaContext(media, inboundBody(turn.claimed.message), turnMessageId(turn), yield* mediaHelpers)
        : undefined
      const quote = yield* resolveQuote(turn, mediaHelpers)
      yield* recordInbound(turn, media)
      const ctxPayload = yield* call<unknown>(
        turn,
        "session",
        "inbound.buildContext",
        inboundContextParams(turn, route, { commandsAuthorized: admission.owner }, forContext, quote)
      )
      return yield* dispatch(turn, reply, route, ctxPayload)
    }).pipe(Effect.withLogSpan("AgentTurns.run"))

  // the host's own test for its control commands (`channelRuntime.text.hasControlCommand`, a pure function);
  // a host without it, or one that throws, means "not a control command": the message waits its turn
  const hostHasControlCommand = (params.channelRuntime as {
    readonly text?: { readonly hasControlCommand?: (text?: string, cfg?: unknown) => boolean }
  } | undefined)?.text?.hasControlCommand
  const isControlCommand = (message: WeixinMessage): boolean => {
    const text = firstTextOf(message)?.trim()
    if (text === undefined || !text.startsWith("/") || typeof hostHasControlCommand !== "function") return false
    try {
      return hostHasControlCommand(text, cfg) === true
    } catch {
      return false
    }
  }

  return { run, isControlCommand, inboundDebounceMs: params.inboundDebounceMs ?? 0 }
}
