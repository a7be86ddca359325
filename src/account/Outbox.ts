/**
 * Outbox: every message an account sends goes through one bounded queue and one sender fiber, so sends
 * to a peer leave in the order they were asked for (ARCHITECTURE "Outbox").
 *
 * - Refuses before calling the server when WeChat would reject the send anyway: no context token for
 *   the peer, the 24 h reply window since its last message has closed, or the reply budget (about 10
 *   replies per inbound message, PROTOCOL App. C) is spent. Also fails fast while the account is logged out.
 * - Long texts are split by the Chunker; each chunk is its own message with its own `client_id`, kept
 *   for the message's whole life, including a retry.
 * - Media (PROTOCOL §5.1): the caption's chunks go first, then one IMAGE / VIDEO / FILE message per file,
 *   each with its own receipt. Files are uploaded in the caller's fiber before the send is queued, so a
 *   large upload holds up only its own peer's turn, never the sender; a failed upload sends nothing.
 * - Retries only failures that prove the request never reached the server; an ambiguous failure is
 *   reported as `DeliveryUnknown` and not resent, so the user never sees a reply twice.
 * - Classifies the server's answer by PROTOCOL App. C into a `Receipt` or a typed error (see Receipt.ts).
 * - On stop, queued sends fail with `OutboxClosed` at once; the send in flight gets `sendStopGrace` to
 *   finish, so a reply that is about to land reports its real receipt. Past the grace it is interrupted
 *   and its caller gets `DeliveryUnknown` (the request may have reached the server).
 */
import { Clock, Context, Deferred, Duration, Effect, Option, Queue, Schedule, Scope } from "effect"
import { chunkText } from "../domain/Chunker.js"
import { makeClientId } from "../domain/ClientId.js"
import type { Peer } from "../domain/PeerId.js"
import {
  DEFAULT_OUTBOX_CAPACITY,
  DEFAULT_SEND_RETRIES,
  DEFAULT_SEND_RETRY_BASE_MS,
  DEFAULT_SEND_RETRY_CAP_MS,
  DEFAULT_SEND_STOP_GRACE_MS,
  DEFAULT_TEXT_CHUNK_LIMIT,
  REPLY_BUDGET,
  REPLY_WINDOW_MS
} from "../config/Defaults.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import type { ILinkConnection } from "../ilink/ILinkConnection.js"
import type { ILinkError } from "../wire/ILinkError.js"
import type { MessageItem, WeixinMessage } from "../wire/Message.js"
import type { ReplyChannel } from "./AgentTurns.js"
import type { ContextTokensService } from "./ContextTokens.js"
import {
  AccountAuthExpired,
  ChunkDelivered,
  type ChunkReceipt,
  ChunkUnconfirmed,
  DeliveryUnknown,
  EmptyMessage,
  type OutboxError,
  OutboxClosed,
  Receipt
} from "./Receipt.js"
import { type MediaUploader, MediaUploadFailed, type OutboundMedia, uploadMediaItem } from "./OutboundMedia.js"
import { addLightFinalizer } from "./LightFinalizer.js"
import { OnDemandWorker } from "./OnDemandWorker.js"
import { PROGRESS_RESERVE, type SendRequest } from "./SendRequest.js"
import { type ChunkContext, classifyRet, classifySendFailure, isNeverReachedTransport, refusalFor, type SendLimits } from "./SendPolicy.js"

export { PROGRESS_RESERVE, type SendRequest } from "./SendRequest.js"

export interface OutboxOptions {
  readonly accountId: string
  readonly connection: ILinkConnection
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
  /** the CDN uploads of media sends; without it a send with media fails with `MediaUploadFailed` */
  readonly media?: MediaUploader
}

export interface OutboxService {
  readonly send: (request: SendRequest) => Effect.Effect<Receipt, OutboxError>
  /** the sending half of a turn's reply channel: every message carries the turn's token and run id */
  readonly replyChannel: (turn: {
    readonly to: Peer
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
export const sendStopGrace = Duration.millis(DEFAULT_SEND_STOP_GRACE_MS)

export const defaultReplyBudget = REPLY_BUDGET
export const defaultReplyWindow = Duration.millis(REPLY_WINDOW_MS)

export const defaultSendRetrySchedule: Schedule.Schedule<unknown, ILinkError> = Schedule.exponential(
  Duration.millis(DEFAULT_SEND_RETRY_BASE_MS)
).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced(Duration.millis(DEFAULT_SEND_RETRY_CAP_MS))),
  Schedule.intersect(Schedule.recurs(DEFAULT_SEND_RETRIES))
)

interface Job {
  readonly peer: Peer
  readonly request: SendRequest
  readonly items: readonly [MessageItem, ...Array<MessageItem>]
  readonly result: Deferred.Deferred<Receipt, OutboxError>
}

/**
 * One account's outbox: the queue, the job in flight and the steps of a send. A class, so the steps are
 * methods shared by every account, not closures made for each one (ARCHITECTURE "Light accounts").
 */
class AccountOutbox implements OutboxService {
  private authExpired: string | undefined
  private closed = false
  // the job the sender is working on, so shutdown can answer its caller
  private current: { job: Job; clientId: string | undefined; sent: Array<ChunkReceipt> } | undefined

  constructor(
    private readonly api: ILinkApi,
    private readonly options: OutboxOptions,
    private readonly queue: Queue.Queue<Job>,
    private readonly limits: SendLimits,
    private readonly retrySchedule: Schedule.Schedule<unknown, ILinkError>,
    private readonly stopGrace: Duration.Duration,
    private readonly sender: OnDemandWorker
  ) {}

  private authGate(): AccountAuthExpired | undefined {
    return this.authExpired === undefined
      ? undefined
      : new AccountAuthExpired({ accountId: this.options.accountId, reason: this.authExpired })
  }

  private sendOne(
    to: string,
    item: MessageItem,
    contextToken: string,
    runId: string | undefined,
    at: ChunkContext
  ): Effect.Effect<ChunkReceipt, OutboxError> {
    const self = this
    return Effect.gen(function* () {
      const clientId = yield* makeClientId
      if (self.current !== undefined) self.current.clientId = clientId
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
      const response = yield* self.api.sendMessage(self.options.connection, { msg }).pipe(
        Effect.tapError((error) =>
          isNeverReachedTransport(error)
            ? Effect.logInfo(`send did not reach the server; retrying with the same client_id: ${error.message}`)
            : Effect.void
        ),
        Effect.retry({ schedule: self.retrySchedule, while: isNeverReachedTransport }),
        Effect.mapError((error) => classifySendFailure(error, clientId, at))
      )
      const ret = response.ret ?? 0
      if (ret !== 0) return yield* Effect.fail(classifyRet(ret, response.errmsg ?? "", { ...at, clientId }))
      // typed fields of a decoded answer: no second check (Receipt.fromChunks)
      return response.message_id === undefined
        ? new ChunkUnconfirmed({ clientId }, true)
        : new ChunkDelivered({ clientId, messageId: response.message_id }, true)
    })
  }

  private process(job: Job): Effect.Effect<Receipt, OutboxError> {
    const self = this
    const { contextTokens } = this.options
    const limits = this.limits
    return Effect.gen(function* () {
      const expired = self.authGate()
      if (expired !== undefined) return yield* Effect.fail(expired)
      const known = Option.getOrUndefined(yield* contextTokens.lookup(job.peer))
      const requestToken = job.request.contextToken === "" ? undefined : job.request.contextToken
      const now = yield* Clock.currentTimeMillis
      const refusal = refusalFor(job.peer.id, known, requestToken, job.items.length + (job.request.reserve ?? 0), now, limits)
      if (refusal !== undefined) return yield* Effect.fail(refusal)
      const token = (requestToken ?? known?.token)!
      // a reply must never be on WeChat while its token is only in memory (crash after reply)
      yield* contextTokens.tokenOnDisk(job.peer)
      // the server's own spelling of the id: a re-cased id is rejected with ret=-3 (PROTOCOL App. C)
      const to = known?.userId ?? job.peer.id
      const sent: Array<ChunkReceipt> = self.current?.sent ?? []
      for (const [index, item] of job.items.entries()) {
        const at = { peer: to, chunkIndex: index + 1, chunkCount: job.items.length, sentBefore: [...sent] }
        const outcome = yield* Effect.either(self.sendOne(to, item, token, job.request.runId, at))
        if (outcome._tag === "Right") {
          sent.push(outcome.right)
          yield* contextTokens.noteReply(job.peer)
          continue
        }
        const error = outcome.left
        // count a reply that may have arrived, so the budget errs on the side of refusing
        if (error._tag === "DeliveryUnknown") yield* contextTokens.noteReply(job.peer)
        if (error._tag === "ContextTokenRejected") yield* contextTokens.noteRejected(job.peer, limits.budget)
        return yield* Effect.fail(error)
      }
      return Receipt.fromChunks(to, sent as unknown as readonly [ChunkReceipt, ...Array<ChunkReceipt>])
    }).pipe(
      Effect.tapError((error) => Effect.logWarning(`send to ${job.peer.id} failed: ${error.message}`)),
      Effect.annotateLogs({ accountId: this.options.accountId, peer: job.peer.id })
    )
  }

  /**
   * Sends what is queued, in order, then ends: the sender fiber is alive only while there is something
   * to send (OnDemandWorker.ts), so an idle account holds none.
   */
  get deliverQueued(): Effect.Effect<void> {
    const self = this
    return Effect.gen(function* () {
      while (true) {
        const next = yield* Queue.poll(self.queue)
        if (Option.isNone(next)) return
        const job = next.value
        self.current = { job, clientId: undefined, sent: [] }
        // its own span, so the time a send waits in the queue is Outbox.send minus Outbox.deliver
        const exit = yield* Effect.exit(self.process(job).pipe(Effect.withSpan("Outbox.deliver")))
        self.current = undefined
        yield* Deferred.done(job.result, exit)
      }
    })
  }

  /** Runs last on stop: answers the caller of a send the grace did not save; it may have gone out. */
  get answerCutOff(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.current === undefined) return Effect.void
      const { job, clientId, sent } = this.current
      return Deferred.fail(
        job.result,
        clientId === undefined
          ? new OutboxClosed({ peer: job.peer.id })
          : new DeliveryUnknown({
            peer: job.peer.id,
            clientId,
            reason: "the account stopped while the message was being sent",
            chunkIndex: sent.length + 1,
            chunkCount: job.items.length,
            sentBefore: sent
          })
      )
    })
  }

  /**
   * Runs first on stop (finalizers run in reverse): refuse new work, fail what is queued, then give the
   * send in flight a bounded grace before the sender fiber is interrupted.
   */
  get close(): Effect.Effect<void> {
    const self = this
    return Effect.gen(function* () {
      self.closed = true
      // taking makes room, which lets sends blocked on a full queue in; drain until none are left
      while (true) {
        const waiting = yield* Queue.takeAll(self.queue)
        if (waiting.length === 0) break
        for (const job of waiting) yield* Deferred.fail(job.result, new OutboxClosed({ peer: job.peer.id }))
      }
      // the sender, once idle, is interrupted in its take instead of starting another job
      yield* Queue.shutdown(self.queue)
      const inFlight = self.current
      if (inFlight === undefined) return
      const finished = yield* Deferred.await(inFlight.job.result).pipe(
        Effect.exit,
        Effect.interruptible,
        Effect.timeoutOption(self.stopGrace),
        Effect.map(Option.isSome)
      )
      if (!finished) {
        yield* Effect.logWarning(
          `stopping: the send to ${inFlight.job.peer.id} did not finish within ${Duration.format(self.stopGrace)}; ` +
            "it is cut off and reported as DeliveryUnknown (it may still have reached the peer)"
        )
      }
    }).pipe(Effect.annotateLogs({ accountId: this.options.accountId }))
  }

  // Uploads every file of a send before any of it is queued; refuses first when the send would be
  // refused anyway, so nothing is uploaded for a message WeChat will not take.
  private uploadAll(peer: Peer, token: string | undefined, before: number, media: ReadonlyArray<OutboundMedia>) {
    const { connection, contextTokens, media: uploader } = this.options
    const limits = this.limits
    return Effect.gen(function* () {
      const known = Option.getOrUndefined(yield* contextTokens.lookup(peer))
      const now = yield* Clock.currentTimeMillis
      const refusal = refusalFor(peer.id, known, token === "" ? undefined : token, before + media.length, now, limits)
      if (refusal !== undefined) return yield* Effect.fail(refusal)
      const uploaded: Array<MessageItem> = []
      for (const file of media) {
        if (uploader === undefined) {
          return yield* new MediaUploadFailed({ peer: peer.id, fileName: file.fileName, cause: "NoUploader", reason: "this outbox cannot upload media" })
        }
        uploaded.push(yield* uploadMediaItem(uploader, { conn: connection, to: known?.userId ?? peer.id, media: file }))
      }
      return uploaded
    })
  }

  send(request: SendRequest): Effect.Effect<Receipt, OutboxError> {
    const self = this
    return Effect.gen(function* () {
      const expired = self.authGate()
      if (expired !== undefined) return yield* Effect.fail(expired)
      const peer = request.to
      if (self.closed) return yield* Effect.fail(new OutboxClosed({ peer: peer.id }))
      const items: Array<MessageItem> = chunkText(request.text ?? "", self.options.chunkLimit ?? DEFAULT_TEXT_CHUNK_LIMIT).map((text) => ({
        type: 1,
        text_item: { text }
      }))
      items.push(...(request.items ?? []))
      if ((request.media ?? []).length > 0) {
        items.push(...(yield* self.uploadAll(peer, request.contextToken, items.length, request.media ?? [])))
      }
      const [first, ...rest] = items
      if (first === undefined) return yield* Effect.fail(new EmptyMessage({ peer: peer.id }))
      const result = yield* Deferred.make<Receipt, OutboxError>()
      // a stop shuts the queue down, which interrupts an offer still waiting for room: that is a refusal
      // the sender is woken however the offer ends, so a job can never sit in the queue with no sender
      const accepted = yield* Queue.offer(self.queue, { peer, request, items: [first, ...rest], result }).pipe(
        Effect.ensuring(self.sender.wake),
        Effect.catchAllCause(() => Effect.succeed(false))
      )
      if (!accepted) return yield* Effect.fail(new OutboxClosed({ peer: peer.id }))
      return yield* Deferred.await(result)
    }).pipe(Effect.withSpan("Outbox.send"))
  }

  replyChannel(turn: { readonly to: Peer; readonly contextToken: string | undefined; readonly runId: string }): TurnSender {
    const token = turn.contextToken === undefined ? {} : { contextToken: turn.contextToken }
    return {
      sendText: (text) => this.send({ to: turn.to, text, runId: turn.runId, ...token }),
      sendMedia: ({ caption, media }) => this.send({ to: turn.to, text: caption, media, runId: turn.runId, ...token }),
      sendProgress: (item) => this.send({ to: turn.to, items: [item], runId: turn.runId, reserve: PROGRESS_RESERVE, ...token })
    }
  }

  setAuthExpired(reason: string): Effect.Effect<void> {
    return Effect.sync(() => void (this.authExpired = reason))
  }

  get clearAuthExpired(): Effect.Effect<void> {
    return Effect.sync(() => void (this.authExpired = undefined))
  }
}

const make = (options: OutboxOptions): Effect.Effect<OutboxService, never, Scope.Scope | ILinkApi> =>
  Effect.gen(function* () {
    const api = yield* ILinkApi
    const limits: SendLimits = {
      budget: options.replyBudget ?? defaultReplyBudget,
      windowMs: Duration.toMillis(options.replyWindow ?? defaultReplyWindow)
    }
    const queue = yield* Queue.bounded<Job>(options.capacity ?? DEFAULT_OUTBOX_CAPACITY)
    // set right below, before anything can be sent: the finalizer and the sender only ever run after that
    let outbox: AccountOutbox | undefined
    // added first, so it runs last on stop; it only answers callers (LightFinalizer.ts)
    yield* addLightFinalizer(() => outbox === undefined ? Effect.void : outbox.answerCutOff)
    const sender = yield* OnDemandWorker.make(Effect.suspend(() => outbox === undefined ? Effect.void : outbox.deliverQueued))
    const built = new AccountOutbox(
      api,
      options,
      queue,
      limits,
      options.retrySchedule ?? defaultSendRetrySchedule,
      Duration.decode(options.stopGrace ?? sendStopGrace),
      sender
    )
    outbox = built
    // added after the sender's stop finalizer, so it runs first on stop, before the sender is interrupted
    yield* Effect.addFinalizer(() => built.close)
    return built
  })

/**
 * The Outbox of one account. Built by the AccountActor in its own scope (the sender fiber runs there while there is something to send);
 * the CLI process builds a short-lived one for `message send`.
 */
export class Outbox extends Context.Tag("openclaw-weixin/Outbox")<Outbox, OutboxService>() {
  static make = make
}
