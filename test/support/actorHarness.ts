/**
 * Test support for the account actor: a temp dir, a scripted getupdates, a scripted ILinkApi layer, a
 * recording Host, and `waitUntil` for conditions that depend on real I/O. The Inbox's stores with
 * failure switches are in StateSupport.
 */
import { Clock, Duration, Effect, Layer, Queue, Ref, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { PollError, PollResponse } from "../../src/account/Monitor.js"
import type { Receipt } from "../../src/account/Receipt.js"
import { Host, type HostService, HostTurnError, type InboundTurn, TurnOutcome } from "../../src/account/AgentTurns.js"
import { type ILinkCallError, ILinkApi } from "../../src/ilink/ILinkApi.js"
import type { GetUpdatesResponse } from "../../src/wire/Api.js"
import { ILinkTransportError } from "../../src/wire/ILinkError.js"
import { WeixinMessage } from "../../src/wire/Message.js"

export const makeTempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** One scripted outcome of getupdates: a response, a failure, or "hang" (a held long-poll that never ends). */
export type PollStep = PollResponse | { readonly fail: PollError } | "hang"

export interface ScriptedPoll {
  readonly requests: Ref.Ref<ReadonlyArray<{ readonly get_updates_buf: string; readonly timeoutMs: number }>>
  readonly script: Queue.Queue<PollStep>
  readonly getUpdates: (request: {
    readonly get_updates_buf: string
    readonly timeoutMs: number
  }) => Effect.Effect<PollResponse, PollError>
}

/** A getupdates whose outcomes the test enqueues; with an empty script it waits (like a held poll). */
export const makeScriptedPoll = Effect.gen(function*() {
  const requests = yield* Ref.make<ReadonlyArray<{ readonly get_updates_buf: string; readonly timeoutMs: number }>>([])
  const script = yield* Queue.unbounded<PollStep>()
  const getUpdates = (request: { readonly get_updates_buf: string; readonly timeoutMs: number }) =>
    Effect.gen(function*() {
      yield* Ref.update(requests, (rs) => [...rs, request])
      const next = yield* Queue.take(script)
      if (next === "hang") return yield* Effect.never
      if ("fail" in next) return yield* Effect.fail(next.fail)
      return next
    })
  return { requests, script, getUpdates } satisfies ScriptedPoll
})

export const textMessage = (fields: {
  readonly message_id?: string
  readonly client_id?: string
  readonly seq?: number
  readonly from?: string
  readonly text?: string
  readonly create_time_ms?: number
}): WeixinMessage => Schema.decodeUnknownSync(WeixinMessage)({
  ...(fields.message_id === undefined ? {} : { message_id: fields.message_id }),
  ...(fields.client_id === undefined ? {} : { client_id: fields.client_id }),
  ...(fields.seq === undefined ? {} : { seq: fields.seq }),
  from_user_id: fields.from ?? "alice@im.wechat",
  to_user_id: "bot@im.bot",
  create_time_ms: fields.create_time_ms ?? 1_700_000_000_000,
  message_type: 1,
  message_state: 2,
  context_token: "ctx",
  item_list: [{ type: 1, text_item: { text: fields.text ?? "hi" } }]
})

// ---- a whole actor: scripted ILinkApi + recording Host ------------------------------------------------

export interface TestApiControls {
  readonly poll: ScriptedPoll
  /** long-polls interrupted by a stop */
  readonly interruptedPolls: Ref.Ref<number>
  readonly notifyStarts: Ref.Ref<number>
  readonly notifyStops: Ref.Ref<number>
  readonly sent: Ref.Ref<ReadonlyArray<WeixinMessage>>
  /** sendtyping calls with their (Test)Clock time */
  readonly typing: Ref.Ref<ReadonlyArray<{ readonly at: number; readonly userId: string; readonly status: number }>>
  /**
   * behaviour switches, set before the actor starts: `typingTicket` is what getconfig hands out ("" =
   * no typing); `sendMessage` answers at once, after `delayMs` of Clock time, or never
   */
  readonly options: {
    notifyStart: "ok" | "fail"
    notifyStop: "ok" | "hang"
    typingTicket: string
    sendMessage: "ok" | "hang" | { readonly delayMs: number }
  }
  readonly layer: Layer.Layer<ILinkApi>
}

const notImplemented = (what: string) => Effect.dieMessage(`test ILinkApi: ${what} is not scripted`)

export const makeTestApi = Effect.gen(function*() {
  const poll = yield* makeScriptedPoll
  const interruptedPolls = yield* Ref.make(0)
  const notifyStarts = yield* Ref.make(0)
  const notifyStops = yield* Ref.make(0)
  const sent = yield* Ref.make<ReadonlyArray<WeixinMessage>>([])
  const typing = yield* Ref.make<TestApiControls["typing"] extends Ref.Ref<infer A> ? A : never>([])
  const options: TestApiControls["options"] = { notifyStart: "ok", notifyStop: "ok", typingTicket: "", sendMessage: "ok" }
  const endpoint = "ilink/bot/msg/notifystart"
  const service = ILinkApi.make({
    getUpdates: (_conn: unknown, request: { readonly get_updates_buf: string; readonly timeoutMs?: number }) =>
      poll.getUpdates({ get_updates_buf: request.get_updates_buf, timeoutMs: request.timeoutMs ?? 35_000 }).pipe(
        Effect.onInterrupt(() => Ref.update(interruptedPolls, (n) => n + 1)),
        // the scripted errors are real ILinkError instances
        Effect.mapError((e) => e as ILinkCallError),
        Effect.map((r) => r as GetUpdatesResponse)
      ),
    sendMessage: (_conn: unknown, request: { readonly msg: WeixinMessage }) =>
      Ref.update(sent, (ms) => [...ms, request.msg]).pipe(
        Effect.zipRight(
          options.sendMessage === "hang"
            ? Effect.never
            : options.sendMessage === "ok"
            ? Effect.void
            : Effect.sleep(Duration.millis(options.sendMessage.delayMs))
        ),
        Effect.zipRight(Effect.sync(() => ({ ret: 0, message_id: String(1_000 + Math.floor(Math.random() * 1e9)) })))
      ),
    sendTyping: (_conn: unknown, request: { readonly ilink_user_id: string; readonly status: number }) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        Ref.update(typing, (ts) => [...ts, { at, userId: request.ilink_user_id, status: request.status }])),
    // by default no typing ticket: the Typing part then makes no typing calls
    getConfig: () => Effect.sync(() => ({ ret: 0, typing_ticket: options.typingTicket })),
    getUploadUrl: () => notImplemented("getUploadUrl"),
    notifyStart: () =>
      Ref.update(notifyStarts, (n) => n + 1).pipe(
        Effect.zipRight(
          options.notifyStart === "ok"
            ? Effect.succeed({ ret: 0 })
            : Effect.fail(new ILinkTransportError({ endpoint, reachedServer: "no", kind: "refused", detail: "test" }))
        )
      ),
    notifyStop: () =>
      Ref.update(notifyStops, (n) => n + 1).pipe(
        Effect.zipRight(options.notifyStop === "ok" ? Effect.succeed({ ret: 0 }) : Effect.never)
      ),
    getBotQrCode: () => notImplemented("getBotQrCode"),
    getQrCodeStatus: () => notImplemented("getQrCodeStatus")
  } as unknown as ConstructorParameters<typeof ILinkApi>[0])
  const controls: TestApiControls = {
    poll,
    interruptedPolls,
    notifyStarts,
    notifyStops,
    sent,
    typing,
    options,
    layer: Layer.succeed(ILinkApi, service)
  }
  return controls
})

export interface RecordedTurn {
  readonly key: string
  readonly peer: string
  readonly text: string | undefined
}

/** A Host that records each turn and, if `reply` is set, answers with that text. */
export const makeRecordingHost = (options: {
  readonly reply?: string
  /** runs inside each turn (e.g. to hold a peer's turn open) */
  readonly duringTurn?: (turn: InboundTurn) => Effect.Effect<void>
} = {}) =>
  Effect.gen(function*() {
    const turns = yield* Ref.make<ReadonlyArray<RecordedTurn>>([])
    const receipts = yield* Ref.make<ReadonlyArray<Receipt>>([])
    const service: HostService = {
      handleInbound: (turn, reply) =>
        Effect.gen(function*() {
          const first = turn.claimed.message.item_list?.[0]
          const text = first !== undefined && "text_item" in first ? first.text_item.text : undefined
          yield* Ref.update(turns, (ts) => [...ts, { key: turn.claimed.key, peer: turn.peer.id, text }])
          // the agent part, with typing shown, as the real host does
          return yield* reply.withTyping(Effect.gen(function*() {
            if (options.duringTurn) yield* options.duringTurn(turn)
            if (options.reply !== undefined) {
              const receipt = yield* reply.sendText(options.reply).pipe(
                Effect.mapError((e) =>
                  new HostTurnError({ accountId: turn.accountId, messageKey: turn.claimed.key, stage: "deliver", detail: e.message })
                )
              )
              yield* Ref.update(receipts, (rs) => [...rs, receipt])
              return TurnOutcome.Completed({ replies: 1 })
            }
            return TurnOutcome.Completed({ replies: 0 })
          }))
        })
    }
    return { turns, receipts, service, layer: Layer.succeed(Host, service) }
  })

/** Yields to the event loop (real I/O may be pending) without touching the Clock. */
const nextMacrotask = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Lets other fibers and pending real I/O run until `done` holds; dies after `withinMs` of real time so a
 * broken test fails instead of hanging. Never advances the (Test)Clock.
 */
export const waitUntil = (done: Effect.Effect<boolean>, what: string, withinMs = 5_000) =>
  Effect.gen(function*() {
    const deadline = performance.now() + withinMs
    while (performance.now() < deadline) {
      if (yield* done) return
      yield* Effect.yieldNow()
      yield* nextMacrotask
    }
    return yield* Effect.dieMessage(`condition never held within ${withinMs} ms: ${what}`)
  })
