/**
 * Outbox: every message an account sends goes through one bounded queue and one sender fiber, so sends
 * to a peer leave in the order they were asked for (DESIGN.md "Outbox").
 *
 * - Refuses before calling the server when WeChat would reject the send anyway: no context token for
 *   the peer, the 24 h reply window since its last message has closed, or the reply budget (about 10
 *   replies per inbound message, ILINK App. C) is spent. Also fails fast while the account is logged out.
 * - Long texts are split by the Chunker; each chunk is its own message with its own `client_id`, kept
 *   for the message's whole life, including a retry.
 * - Retries only failures that prove the request never reached the server; an ambiguous failure is
 *   reported as `DeliveryUnknown` and not resent, so the user never sees a reply twice.
 * - Classifies the server's answer by ILINK App. C into a `Receipt` or a typed error (see Receipt.ts).
 * - On stop, queued sends fail with `OutboxClosed` at once; the send in flight gets `sendStopGrace` to
 *   finish, so a reply that is about to land reports its real receipt. Past the grace it is interrupted
 *   and its caller gets `DeliveryUnknown` (the request may have reached the server).
 */
import { Clock, Deferred, Duration, Effect, Either, Option, Queue, Schedule, Scope } from "effect"
import { chunkText, DEFAULT_CHUNK_LIMIT } from "../domain/Chunker.js"
import { makeClientId } from "../domain/ClientId.js"
import type { ReplyChannel } from "./AgentTurns.js"
import type { ILinkError } from "../wire/ILinkError.js"
import type { MessageItem, WeixinMessage } from "../wire/Message.js"
import type { SendMessageResponse } from "../wire/Api.js"
import { type ContextTokensService, type PeerContext } from "./ContextTokens.js"
import { normalizePeerId, type Peer } from "../domain/PeerId.js"
import {
  AccountAuthExpired,
  ChunkDelivered,
  type ChunkReceipt,
  ChunkUnconfirmed,
  ContextTokenRejected,
  DeliveryUnknown,
  EmptyMessage,
  InvalidRecipient,
  InvalidTarget,
  MessageRejected,
  NoContextToken,
  type OutboxError,
  OutboxClosed,
  RateLimited,
  Receipt,
  ReplyBudgetSpent,
  ReplyWindowClosed,
  SendFailed,
  ServerUnreachable
} from "./Receipt.js"

export interface SendRequest {
  /** the target as the host or the turn gives it (`user:` / `openclaw-weixin:` prefixes are stripped) */
  readonly to: string
  readonly text?: string
  /** the turn's token on the reply path; otherwise the peer's latest remembered token is used */
  readonly contextToken?: string
  /** the turn's run id (ILINK §5.7) */
  readonly runId?: string
  /** extra items (tool progress), each sent as its own message after the text */
  readonly items?: ReadonlyArray<MessageItem>
}

/** The one iLink call the Outbox makes; `ILinkApi` satisfies it (the connection type is left open). */
export interface OutboxApi<Conn> {
  readonly sendMessage: (conn: Conn, request: { readonly msg: WeixinMessage }) => Effect.Effect<SendMessageResponse, ILinkError>
}

export interface OutboxOptions<Conn> {
  readonly accountId: string
  /** read before every request, so a new login's token is used without restarting the Outbox */
  readonly connection: Effect.Effect<Conn>
  readonly api: OutboxApi<Conn>
  readonly contextTokens: ContextTokensService
  /** chunk size in UTF-16 code units (default 2000) */
  readonly chunkLimit?: number
  /** replies allowed per inbound message (default 10) */
  readonly replyBudget?: number
  /** how long after a peer's last message replies are accepted (default 24 h) */
  readonly replyWindow?: Duration.DurationInput
  /** queued sends before `send` suspends (default 256) */
  readonly capacity?: number
  /** retries of never-reached failures (default: 200 ms doubling, jittered, at most 2 s apart, 4 retries) */
  readonly retrySchedule?: Schedule.Schedule<unknown, ILinkError>
  /** how long stop waits for the send in flight (default `sendStopGrace`) */
  readonly stopGrace?: Duration.DurationInput
}

export interface OutboxService {
  readonly send: (request: SendRequest) => Effect.Effect<Receipt, OutboxError>
  /** the sending half of a turn's reply channel: every message carries the turn's token and run id */
  readonly replyChannel: (turn: {
    readonly to: string
    readonly contextToken: string | undefined
    readonly runId: string
  }) => TurnSender
  /** the account is logged out: sends fail fast with "log in again" until `clearAuthExpired` */
  readonly setAuthExpired: (reason: string) => Effect.Effect<void>
  readonly clearAuthExpired: Effect.Effect<void>
}

/** What the Outbox contributes to a turn's `ReplyChannel`; the actor adds `withTyping`. */
export type TurnSender = Omit<ReplyChannel, "withTyping">

/**
 * How long a stopping Outbox lets the send in flight finish before interrupting it. Kept short so the
 * whole stop (this, then `notifystop`'s own bound) stays well under a second.
 */
export const sendStopGrace = Duration.millis(300)

export const defaultReplyBudget = 10
export const defaultReplyWindow = Duration.hours(24)

export const defaultSendRetrySchedule: Schedule.Schedule<unknown, ILinkError> = Schedule.exponential(
  Duration.millis(200)
).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced(Duration.seconds(2))),
  Schedule.intersect(Schedule.recurs(4))
)

interface Job {
  readonly peer: string
  /** the normalised target, for ContextTokens */
  readonly target: Peer
  readonly request: SendRequest
  readonly items: readonly [MessageItem, ...Array<MessageItem>]
  readonly result: Deferred.Deferred<Receipt, OutboxError>
}

interface ChunkContext {
  readonly peer: string
  readonly chunkIndex: number
  readonly chunkCount: number
  readonly sentBefore: ReadonlyArray<ChunkReceipt>
}

const isNeverReachedTransport = (error: ILinkError): boolean =>
  error._tag === "ILinkTransportError" && error.reachedServer === "no"

/** Maps one sendmessage failure to the Outbox's error (ILINK App. C). */
export const classifySendFailure = (error: ILinkError, clientId: string, at: ChunkContext): OutboxError => {
  const base = { peer: at.peer, clientId, chunkIndex: at.chunkIndex, chunkCount: at.chunkCount, sentBefore: at.sentBefore }
  switch (error._tag) {
    case "ILinkApiError":
      return classifyRet(error.ret ?? error.errcode ?? -1, error.errmsg ?? "", base)
    case "ILinkTransportError":
      return error.reachedServer === "no"
        ? new ServerUnreachable({ ...base, reason: error.message })
        : new DeliveryUnknown({ ...base, reason: error.message })
    case "ILinkTimeoutError":
    case "ILinkDecodeError":
      return new DeliveryUnknown({ ...base, reason: error.message })
    case "ILinkHttpStatusError":
      // a 5xx may come after the message was stored; a 4xx means it was turned away at the door
      return error.status >= 500
        ? new DeliveryUnknown({ ...base, reason: error.message })
        : new SendFailed({ ...base, errmsg: error.message })
    case "ILinkConfigError":
      return new ServerUnreachable({ ...base, reason: error.message })
    case "AuthExpired":
      return new SendFailed({ ...base, errmsg: error.message })
  }
}

const classifyRet = (
  ret: number,
  errmsg: string,
  base: {
    peer: string
    clientId: string
    chunkIndex: number
    chunkCount: number
    sentBefore: ReadonlyArray<ChunkReceipt>
  }
): OutboxError => {
  const said = errmsg.trim().toLowerCase()
  if (ret === -2) {
    if (said === "" || said === "unknown error") return new ContextTokenRejected({ ...base, errmsg })
    if (said.includes("rate limit")) return new RateLimited({ ...base, errmsg })
    if (said.includes("prepare failed")) return new MessageRejected({ ...base, errmsg })
    // any other -2 (e.g. a closed reply window) has the same remedy: the user must write again
    return new ContextTokenRejected({ ...base, errmsg })
  }
  if (ret === -3) return new InvalidTarget({ ...base, errmsg })
  return new SendFailed({ ...base, ret, errmsg })
}

/** Why the Outbox will not even try; undefined when the send may go ahead. */
export const refusalFor = (
  peer: string,
  known: PeerContext | undefined,
  requestToken: string | undefined,
  needed: number,
  now: number,
  limits: { readonly budget: number; readonly windowMs: number }
): OutboxError | undefined => {
  if (requestToken === undefined && known === undefined) return new NoContextToken({ peer })
  if (known === undefined) return undefined
  if (known.lastInboundAt !== undefined && now - known.lastInboundAt >= limits.windowMs) {
    return new ReplyWindowClosed({ peer, lastInboundAt: known.lastInboundAt, windowMs: limits.windowMs })
  }
  if (known.repliesSince + needed > limits.budget) {
    return new ReplyBudgetSpent({ peer, budget: limits.budget, repliesSince: known.repliesSince, needed })
  }
  return undefined
}

export const make = <Conn>(options: OutboxOptions<Conn>): Effect.Effect<OutboxService, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { accountId, api, contextTokens } = options
    const chunkLimit = options.chunkLimit ?? DEFAULT_CHUNK_LIMIT
    const limits = {
      budget: options.replyBudget ?? defaultReplyBudget,
      windowMs: Duration.toMillis(options.replyWindow ?? defaultReplyWindow)
    }
    const retrySchedule = options.retrySchedule ?? defaultSendRetrySchedule
    const queue = yield* Queue.bounded<Job>(options.capacity ?? 256)
    const stopGrace = Duration.decode(options.stopGrace ?? sendStopGrace)
    let authExpired: string | undefined
    let closed = false
    // the job the sender is working on, so shutdown can answer its caller
    let current: { job: Job; clientId: string | undefined; sent: Array<ChunkReceipt> } | undefined

    const authGate = (): AccountAuthExpired | undefined =>
      authExpired === undefined ? undefined : new AccountAuthExpired({ accountId, reason: authExpired })

    const sendOne = (
      to: string,
      item: MessageItem,
      contextToken: string,
      runId: string | undefined,
      at: ChunkContext
    ): Effect.Effect<ChunkReceipt, OutboxError> =>
      Effect.gen(function* () {
        const clientId = yield* makeClientId
        if (current !== undefined) current.clientId = clientId
        const msg: WeixinMessage = {
          from_user_id: "",
          to_user_id: to,
          client_id: clientId,
          message_type: 2,
          message_state: 2,
          item_list: [item],
          context_token: contextToken,
          ...(runId === undefined ? {} : { run_id: runId })
        }
        const response = yield* Effect.flatMap(options.connection, (conn) => api.sendMessage(conn, { msg })).pipe(
          Effect.tapError((error) =>
            isNeverReachedTransport(error)
              ? Effect.logInfo(`send did not reach the server; retrying with the same client_id: ${error.message}`)
              : Effect.void
          ),
          Effect.retry({ schedule: retrySchedule, while: isNeverReachedTransport }),
          Effect.mapError((error) => classifySendFailure(error, clientId, at))
        )
        const ret = response.ret ?? 0
        if (ret !== 0) return yield* Effect.fail(classifyRet(ret, response.errmsg ?? "", { ...at, clientId }))
        return response.message_id === undefined
          ? new ChunkUnconfirmed({ clientId })
          : new ChunkDelivered({ clientId, messageId: response.message_id })
      })

    const process = (job: Job): Effect.Effect<Receipt, OutboxError> =>
      Effect.gen(function* () {
        const expired = authGate()
        if (expired !== undefined) return yield* Effect.fail(expired)
        const known = Option.getOrUndefined(yield* contextTokens.lookup(job.target))
        const requestToken = job.request.contextToken === "" ? undefined : job.request.contextToken
        const now = yield* Clock.currentTimeMillis
        const refusal = refusalFor(job.peer, known, requestToken, job.items.length, now, limits)
        if (refusal !== undefined) return yield* Effect.fail(refusal)
        const token = (requestToken ?? known?.token)!
        // a reply must never be on WeChat while its token is only in memory (crash after reply)
        yield* contextTokens.tokenOnDisk(job.target)
        // the server's own spelling of the id: a re-cased id is rejected with ret=-3 (ILINK App. C)
        const to = known?.userId ?? job.peer
        const sent: Array<ChunkReceipt> = current?.sent ?? []
        for (const [index, item] of job.items.entries()) {
          const at = { peer: to, chunkIndex: index + 1, chunkCount: job.items.length, sentBefore: [...sent] }
          const outcome = yield* Effect.either(sendOne(to, item, token, job.request.runId, at))
          if (outcome._tag === "Right") {
            sent.push(outcome.right)
            yield* contextTokens.noteReply(job.target)
            continue
          }
          const error = outcome.left
          // count a reply that may have arrived, so the budget errs on the side of refusing
          if (error._tag === "DeliveryUnknown") yield* contextTokens.noteReply(job.target)
          if (error._tag === "ContextTokenRejected") yield* contextTokens.noteRejected(job.target, limits.budget)
          return yield* Effect.fail(error)
        }
        return Receipt.fromChunks(to, sent as unknown as readonly [ChunkReceipt, ...Array<ChunkReceipt>])
      }).pipe(
        Effect.tapError((error) => Effect.logWarning(`send to ${job.peer} failed: ${error.message}`)),
        Effect.annotateLogs({ accountId, peer: job.peer })
      )

    const sender = Effect.forever(
      Effect.gen(function* () {
        const job = yield* Queue.take(queue)
        current = { job, clientId: undefined, sent: [] }
        // its own span, so the time a send waits in the queue is Outbox.send minus Outbox.deliver
        const exit = yield* Effect.exit(process(job).pipe(Effect.withSpan("Outbox.deliver")))
        current = undefined
        yield* Deferred.done(job.result, exit)
      })
    )

    // Runs last on stop: answers the caller of a send the grace did not save; it may have gone out.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        if (current !== undefined) {
          const { job, clientId, sent } = current
          yield* Deferred.fail(
            job.result,
            clientId === undefined
              ? new OutboxClosed({ peer: job.peer })
              : new DeliveryUnknown({
                peer: job.peer,
                clientId,
                reason: "the account stopped while the message was being sent",
                chunkIndex: sent.length + 1,
                chunkCount: job.items.length,
                sentBefore: sent
              })
          )
        }
      })
    )
    yield* Effect.forkScoped(sender)
    // Runs first on stop (finalizers run in reverse): refuse new work, fail what is queued, then give the
    // send in flight a bounded grace before the sender fiber is interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closed = true
        // taking makes room, which lets sends blocked on a full queue in; drain until none are left
        while (true) {
          const waiting = yield* Queue.takeAll(queue)
          if (waiting.length === 0) break
          for (const job of waiting) yield* Deferred.fail(job.result, new OutboxClosed({ peer: job.peer }))
        }
        // the sender, once idle, is interrupted in its take instead of starting another job
        yield* Queue.shutdown(queue)
        const inFlight = current
        if (inFlight === undefined) return
        const finished = yield* Deferred.await(inFlight.job.result).pipe(
          Effect.exit,
          Effect.interruptible,
          Effect.timeoutOption(stopGrace),
          Effect.map(Option.isSome)
        )
        if (!finished) {
          yield* Effect.logWarning(
            `stopping: the send to ${inFlight.job.peer} did not finish within ${Duration.format(stopGrace)}; ` +
              "it is cut off and reported as DeliveryUnknown (it may still have reached the peer)"
          )
        }
      }).pipe(Effect.annotateLogs({ accountId }))
    )

    const send = (request: SendRequest): Effect.Effect<Receipt, OutboxError> =>
      Effect.gen(function* () {
        const expired = authGate()
        if (expired !== undefined) return yield* Effect.fail(expired)
        const peer = Either.getOrUndefined(normalizePeerId(request.to))
        if (peer !== undefined && closed) return yield* Effect.fail(new OutboxClosed({ peer: peer.id }))
        if (peer === undefined) return yield* Effect.fail(new InvalidRecipient({ to: request.to }))
        const items: Array<MessageItem> = chunkText(request.text ?? "", chunkLimit).map((text) => ({
          type: 1,
          text_item: { text }
        }))
        items.push(...(request.items ?? []))
        const [first, ...rest] = items
        if (first === undefined) return yield* Effect.fail(new EmptyMessage({ peer: peer.id }))
        const result = yield* Deferred.make<Receipt, OutboxError>()
        // a stop shuts the queue down, which interrupts an offer still waiting for room: that is a refusal
        const accepted = yield* Queue.offer(queue, { peer: peer.id, target: peer, request, items: [first, ...rest], result }).pipe(
          Effect.catchAllCause(() => Effect.succeed(false))
        )
        if (!accepted) return yield* Effect.fail(new OutboxClosed({ peer: peer.id }))
        return yield* Deferred.await(result)
      }).pipe(Effect.withSpan("Outbox.send"))

    return {
      send,
      replyChannel: (turn) => ({
        sendText: (text) =>
          send({ to: turn.to, text, runId: turn.runId, ...(turn.contextToken === undefined ? {} : { contextToken: turn.contextToken }) }),
        sendProgress: (item) =>
          send({
            to: turn.to,
            items: [item],
            runId: turn.runId,
            ...(turn.contextToken === undefined ? {} : { contextToken: turn.contextToken })
          })
      }),
      setAuthExpired: (reason) => Effect.sync(() => void (authExpired = reason)),
      clearAuthExpired: Effect.sync(() => void (authExpired = undefined))
    }
  })

/** Namespace-style access: `Outbox.make(...)`. */
export const Outbox = { make }
