/**
 * HostBridge: the real `Host` (src/account/AgentTurns.ts) over the host's task-scoped `ctx.channelRuntime`.
 *
 * One turn: decide access under the dmPolicy with the host's pairing store (src/plugin/Pairing.ts) →
 * `routing.resolveAgentRoute` with the account and the sender as a direct peer (so `session.dmScope`
 * isolates accounts) → `inbound.buildContext` (src/plugin/InboundContext.ts) → `inbound.dispatch`, the
 * host's current channel-turn API, which records the session, runs the agent and hands each reply
 * payload to our `deliver`. Replies go out through the turn's `ReplyChannel` (the Outbox, which already
 * chunks, with the turn's context token); tool progress through `sendProgress`; "typing…" through
 * `withTyping`, around the agent run only (a refused sender or a pairing code never shows it).
 *
 * `channelRuntime` is only typed `{ [k]: unknown }` by the host, so every function used is looked up at
 * run time: a missing one ends the turn with a HostTurnError that names it, never a TypeError.
 */
import { Clock, Effect, Exit, Layer, Runtime } from "effect"
import type { OpenClawConfig, PluginRuntime, ReplyPayload } from "openclaw/plugin-sdk/core"
import type { OutboxError } from "../account/Receipt.js"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { filterMarkdown } from "../domain/MarkdownFilter.js"
import {
  type HostService,
  HostTurnError,
  type InboundTurn,
  type ProgressItem,
  type ReplyChannel,
  TurnOutcome
} from "../account/AgentTurns.js"
import type { ChannelConfig } from "../config/ChannelConfig.js"
import { MessageItemType } from "../wire/Message.js"
import { InboundBridge } from "./InboundBridge.js"
import { inboundContextParams, type TurnRoute, turnMessageId } from "./InboundContext.js"
import { AccessDecision, decideAccess, pairingAdapter, policyReadsStore } from "./Access.js"

type ChannelRuntime = PluginRuntime["channel"]
type DispatchPlan = Parameters<ChannelRuntime["inbound"]["dispatch"]>[0]
type ItemEvent = Parameters<NonNullable<NonNullable<DispatchPlan["replyOptions"]>["onItemEvent"]>>[0]
type Stage = HostTurnError["stage"]

/** The settings of the channel section the bridge reads. */
export type HostBridgeSettings = Pick<ChannelConfig, "dmPolicy" | "allowFrom" | "replyProgressMessages">

export interface ChannelRuntimeHostParams {
  /** `ctx.channelRuntime` as the host gave it */
  readonly channelRuntime: unknown
  readonly cfg: OpenClawConfig
  readonly accountId: string
  readonly settings: HostBridgeSettings
  /** the WeChat user who scanned the login QR: always allowed under `pairing` and `allowlist` */
  readonly scannerUserId?: string | undefined
}

/** Every `channelRuntime` function the bridge may call, as `group.name`. */
export const REQUIRED_RUNTIME_PIECES = [
  "routing.resolveAgentRoute",
  "inbound.buildContext",
  "inbound.dispatch",
  "pairing.readAllowFromStore",
  "pairing.upsertPairingRequest",
  "pairing.buildPairingReply"
] as const
export type RuntimePiece = (typeof REQUIRED_RUNTIME_PIECES)[number]

/** The function at `group.name` of the runtime, or undefined when the host does not provide it. */
const pieceOf = (channelRuntime: unknown, piece: RuntimePiece): ((...args: Array<never>) => unknown) | undefined => {
  const [group, name] = piece.split(".") as [string, string]
  if (typeof channelRuntime !== "object" || channelRuntime === null) return undefined
  const holder = (channelRuntime as Record<string, unknown>)[group]
  if (typeof holder !== "object" || holder === null) return undefined
  const fn = (holder as Record<string, unknown>)[name]
  return typeof fn === "function" ? (fn as (...args: Array<never>) => unknown) : undefined
}

/** The pieces this host lacks; empty on a host the bridge fully works with. */
export const missingRuntimePieces = (channelRuntime: unknown): ReadonlyArray<RuntimePiece> =>
  REQUIRED_RUNTIME_PIECES.filter((piece) => pieceOf(channelRuntime, piece) === undefined)

const describe = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "string") return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
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

/** The text WeChat shows for a reply payload: markdown filtered; media it cannot send yet is named. */
export const replyTextOf = (payload: ReplyPayload): { readonly text: string; readonly unsentMedia: number } => {
  const text = filterMarkdown(payload.text ?? "").trim()
  const media = [...(payload.mediaUrl === undefined ? [] : [payload.mediaUrl]), ...(payload.mediaUrls ?? [])]
  return { text, unsentMedia: new Set(media).size }
}

export const channelRuntimeHost = (params: ChannelRuntimeHostParams): HostService => {
  const { accountId, cfg, channelRuntime, settings } = params

  const turnError = (turn: InboundTurn, stage: Stage, detail: string) =>
    new HostTurnError({ accountId, messageKey: turn.claimed.key, stage, detail })

  /** Calls one runtime function; a missing one or a throw/rejection becomes a HostTurnError at `stage`. */
  const call = <A>(turn: InboundTurn, stage: Stage, piece: RuntimePiece, args: unknown) =>
    Effect.suspend(() => {
      const fn = pieceOf(channelRuntime, piece) as ((arg: unknown) => A | Promise<A>) | undefined
      if (fn === undefined) {
        return Effect.fail(
          turnError(
            turn,
            stage,
            `the host's channelRuntime has no ${piece}, so this message cannot reach an agent; ` +
              "run openclaw-weixin on OpenClaw 2026.9.6 or newer"
          )
        )
      }
      return Effect.tryPromise({
        try: async () => await fn(args),
        catch: (error) => turnError(turn, stage, `${piece} failed: ${describe(error)}`)
      })
    })

  /** Decides access; returns the turn's outcome when the agent must not run, else whether the sender is an owner. */
  const authorize = (turn: InboundTurn, reply: ReplyChannel) =>
    Effect.gen(function*() {
      const sender = turn.peer.id
      const approved = policyReadsStore(settings.dmPolicy)
        ? yield* call<ReadonlyArray<string>>(turn, "route", "pairing.readAllowFromStore", {
          channel: WEIXIN_CHANNEL_ID,
          accountId
        })
        : []
      const decision = decideAccess({
        policy: settings.dmPolicy,
        sender,
        scannerUserId: params.scannerUserId,
        configAllowFrom: settings.allowFrom ?? [],
        approved: Array.isArray(approved) ? approved.map(String) : []
      })
      return yield* AccessDecision.$match(decision, {
        Allowed: ({ owner }) => Effect.succeed({ _tag: "Run" as const, owner }),
        Denied: ({ reason }) =>
          Effect.as(
            Effect.logInfo(`dropping message ${turn.claimed.key} from ${sender}: ${reason}`),
            { _tag: "Stop" as const, outcome: TurnOutcome.Skipped({ reason }) }
          ),
        NeedsPairing: () => Effect.map(requestPairing(turn, reply), (outcome) => ({ _tag: "Stop" as const, outcome }))
      })
    })

  /** One pairing code per pending request: the host's store says whether this request is new. */
  const requestPairing = (turn: InboundTurn, reply: ReplyChannel) =>
    Effect.gen(function*() {
      const sender = turn.peer.id
      const request = yield* call<{ readonly code?: unknown; readonly created?: unknown }>(
        turn,
        "route",
        "pairing.upsertPairingRequest",
        { channel: WEIXIN_CHANNEL_ID, id: sender, accountId, pairingAdapter }
      )
      const code = typeof request?.code === "string" ? request.code : ""
      if (code === "") {
        yield* Effect.logWarning(
          `unknown sender ${sender} was not given a pairing code: the host's queue of pending requests is full; ` +
            "approve or dismiss one with `openclaw pairing list openclaw-weixin`"
        )
        return TurnOutcome.Skipped({ reason: "pairing queue full" })
      }
      if (request.created !== true) {
        yield* Effect.logInfo(`sender ${sender} still waits for approval of their pairing code; message not answered`)
        return TurnOutcome.Skipped({ reason: "pairing pending; code already sent" })
      }
      const text = yield* call<string>(turn, "route", "pairing.buildPairingReply", {
        channel: WEIXIN_CHANNEL_ID,
        idLine: `Your WeChat user id: ${sender}`,
        code
      })
      yield* reply.sendText(String(text)).pipe(
        Effect.tap(() =>
          Effect.logInfo(
            `sent a pairing code to ${sender}; approve with \`openclaw pairing approve openclaw-weixin ${code}\``
          )
        ),
        Effect.catchAll((error) =>
          Effect.logWarning(`the pairing code for ${sender} could not be sent (${error.message}); they can write again`)
        )
      )
      return TurnOutcome.Skipped({ reason: "pairing code sent" })
    })

  const resolveRoute = (turn: InboundTurn) =>
    Effect.flatMap(
      call<Record<string, unknown>>(turn, "route", "routing.resolveAgentRoute", {
        cfg,
        channel: WEIXIN_CHANNEL_ID,
        accountId,
        peer: { kind: "direct", id: turn.peer.id }
      }),
      (route) => {
        const agentId = route?.["agentId"]
        const sessionKey = route?.["sessionKey"]
        if (typeof agentId !== "string" || typeof sessionKey !== "string") {
          return Effect.fail(turnError(turn, "route", "resolveAgentRoute answered without an agentId and sessionKey"))
        }
        const mainSessionKey = typeof route["mainSessionKey"] === "string" ? route["mainSessionKey"] : sessionKey
        const resolved: TurnRoute & { readonly lastRouteSessionKey: string; readonly dmScope: unknown } = {
          agentId,
          accountId: typeof route["accountId"] === "string" ? route["accountId"] : accountId,
          sessionKey,
          mainSessionKey,
          lastRouteSessionKey: route["lastRoutePolicy"] === "session" ? sessionKey : mainSessionKey,
          dmScope: route["dmScope"]
        }
        return Effect.succeed(resolved)
      }
    )

  const handleInbound = (turn: InboundTurn, reply: ReplyChannel) =>
    Effect.gen(function*() {
      const access = yield* authorize(turn, reply)
      if (access._tag === "Stop") return access.outcome
      const route = yield* resolveRoute(turn)
      const ctxPayload = yield* call<DispatchPlan["ctxPayload"]>(
        turn,
        "session",
        "inbound.buildContext",
        inboundContextParams(turn, route, { commandsAuthorized: access.owner })
      )
      const runtime = yield* Effect.runtime<never>()
      const runPromiseExit = Runtime.runPromiseExit(runtime)
      let delivered = 0
      const failures: Array<string> = []
      // progress items leave in event order, one after the other, and never hold up the turn
      let progressChain: Promise<unknown> = Promise.resolve()

      const deliver = async (payload: ReplyPayload): Promise<void> => {
        const { text, unsentMedia } = replyTextOf(payload)
        if (unsentMedia > 0) {
          await runPromiseExit(Effect.logWarning(
            `the agent replied with ${unsentMedia} media file(s); this version sends replies as text only`
          ))
        }
        if (text === "") return
        const exit = await runPromiseExit(reply.sendText(text))
        if (Exit.isSuccess(exit)) {
          delivered++
          return
        }
        const reason = Exit.match(exit, {
          onSuccess: () => "",
          onFailure: (cause) =>
            cause._tag === "Fail" ? (cause.error as OutboxError).message : "the send was interrupted"
        })
        failures.push(reason)
        await runPromiseExit(Effect.logWarning(`a reply to ${turn.peer.id} was not delivered: ${reason}`))
        // reported to the host so it records the failed delivery; the turn itself ends normally
        throw new Error(reason)
      }

      const onItemEvent = (event: ItemEvent) => {
        const send = Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const item = progressItemFor(event, now)
          return item === undefined ? Effect.void : Effect.asVoid(reply.sendProgress(item))
        }).pipe(Effect.catchAll((error) => Effect.logDebug(`a tool progress item was not sent: ${error.message}`)))
        progressChain = progressChain.then(() => runPromiseExit(send))
      }

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
          onError: (error: unknown, info: { readonly kind: string }) => {
            void runPromiseExit(Effect.logWarning(`the host reported a ${info.kind} reply failure: ${describe(error)}`))
          }
        },
        record: {
          updateLastRoute: {
            sessionKey: route.lastRouteSessionKey,
            channel: WEIXIN_CHANNEL_ID,
            to: turn.peer.id,
            accountId
          },
          onRecordError: (error: unknown) => {
            void runPromiseExit(Effect.logWarning(`the host could not record the session: ${describe(error)}`))
          }
        },
        replyOptions: {
          // WeChat shows whole messages only; the host's block streaming would split one answer
          disableBlockStreaming: true,
          ...(settings.replyProgressMessages ? { onItemEvent } : {})
        }
      } as unknown as DispatchPlan

      const dispatched = yield* Effect.either(
        reply.withTyping(
          call<{ readonly dispatched?: unknown; readonly admission?: { readonly reason?: unknown } }>(
            turn,
            "agent",
            "inbound.dispatch",
            plan
          )
        )
      )
      yield* Effect.promise(() => progressChain)
      if (failures.length > 0 && delivered === 0) {
        return yield* turnError(turn, "deliver", failures[0] ?? "no reply could be delivered")
      }
      if (dispatched._tag === "Left") return yield* dispatched.left
      const result = dispatched.right
      if (result?.dispatched === false) {
        const reason = typeof result.admission?.reason === "string" ? result.admission.reason : "the host skipped it"
        yield* Effect.logInfo(`the host did not run the agent for ${turn.claimed.key}: ${reason}`)
        return TurnOutcome.Skipped({ reason })
      }
      return TurnOutcome.Completed({ replies: delivered })
    }).pipe(Effect.withLogSpan("HostBridge.handleInbound"))

  return { handleInbound }
}

/**
 * The InboundBridge the plugin installs (PluginRuntime.configure({ inboundBridge })): each started
 * account gets a `channelRuntimeHost` over its own task-scoped channelRuntime.
 */
export const channelRuntimeInboundBridge: Layer.Layer<InboundBridge> = Layer.succeed(InboundBridge, {
  make: (input) =>
    Effect.gen(function*() {
      const missing = missingRuntimePieces(input.channelRuntime)
      if (missing.length > 0) {
        yield* Effect.logWarning(
          `the host's channelRuntime lacks ${missing.join(", ")}; messages that need them will fail with a ` +
            "HostTurnError naming the piece. Run openclaw-weixin on OpenClaw 2026.9.6 or newer"
        ).pipe(Effect.annotateLogs({ accountId: input.accountId }))
      }
      return channelRuntimeHost({
        channelRuntime: input.channelRuntime,
        cfg: input.cfg,
        accountId: input.accountId,
        settings: input.config,
        scannerUserId: input.account.userId
      })
    })
})
