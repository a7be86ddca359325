/**
 * Test support for the account actor: a temp dir, a scripted getupdates, scripted ILinkApi layers (a
 * whole one for the actor, or just the methods a part calls), and summaries of the in-memory host's
 * turns. The Inbox's stores with failure switches are in StateSupport.
 */
import { Clock, Duration, Effect, Either, Layer, Queue, Redacted, Ref, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Receipt } from "../../src/account/Receipt.js"
import type { TestAgentTurnsService } from "../../src/account/TestAgentTurns.js"
import { type ILinkCallError, ILinkApi, type ILinkApiShape } from "../../src/ilink/ILinkApi.js"
import type { ILinkConnection } from "../../src/ilink/ILinkConnection.js"
import type { GetUpdatesResponse } from "../../src/wire/Api.js"
import { ILinkTransportError } from "../../src/wire/ILinkError.js"
import { WeixinMessage } from "../../src/wire/Message.js"

export const makeTempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 }))
  )

/** One scripted outcome of getupdates: a response, a failure, or "hang" (a held long-poll that never ends). */
export type PollStep = GetUpdatesResponse | { readonly fail: ILinkCallError } | "hang"

export interface ScriptedPoll {
  readonly requests: Ref.Ref<ReadonlyArray<{ readonly get_updates_buf: string; readonly timeoutMs: number }>>
  readonly script: Queue.Queue<PollStep>
  readonly getUpdates: (request: {
    readonly get_updates_buf: string
    readonly timeoutMs: number
  }) => Effect.Effect<GetUpdatesResponse, ILinkCallError>
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

// ---- a whole actor: scripted ILinkApi ---------------------------------------------------------------

export interface TestApiControls {
  readonly poll: ScriptedPoll
  /** the bot token of every getupdates, in order */
  readonly pollTokens: Ref.Ref<ReadonlyArray<string>>
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

export const makeTestApi = Effect.gen(function*() {
  const poll = yield* makeScriptedPoll
  const pollTokens = yield* Ref.make<ReadonlyArray<string>>([])
  const interruptedPolls = yield* Ref.make(0)
  const notifyStarts = yield* Ref.make(0)
  const notifyStops = yield* Ref.make(0)
  const sent = yield* Ref.make<ReadonlyArray<WeixinMessage>>([])
  const typing = yield* Ref.make<TestApiControls["typing"] extends Ref.Ref<infer A> ? A : never>([])
  const options: TestApiControls["options"] = { notifyStart: "ok", notifyStop: "ok", typingTicket: "", sendMessage: "ok" }
  const endpoint = "ilink/bot/msg/notifystart"
  const layer = scriptedApi({
    getUpdates: (conn: ILinkConnection, request: { readonly get_updates_buf: string; readonly timeoutMs?: number }) =>
      Ref.update(pollTokens, (ts) => [...ts, conn.token === undefined ? "" : Redacted.value(conn.token)]).pipe(
        Effect.zipRight(poll.getUpdates({ get_updates_buf: request.get_updates_buf, timeoutMs: request.timeoutMs ?? 35_000 })),
        Effect.onInterrupt(() => Ref.update(interruptedPolls, (n) => n + 1))
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
      )
  })
  const controls: TestApiControls = {
    poll,
    pollTokens,
    interruptedPolls,
    notifyStarts,
    notifyStops,
    sent,
    typing,
    options,
    layer
  }
  return controls
})

/** What each recorded turn was: key, sender id and text (assertions on the in-memory host). */
export const turnSummaries = (host: TestAgentTurnsService) =>
  Effect.map(host.turns, (turns) => turns.map((t) => ({ key: t.turn.claimed.key, peer: t.turn.peer.id, text: t.text })))

/** The receipts of every reply the in-memory host delivered, in order. */
export const deliveredReceipts = (host: TestAgentTurnsService) =>
  Effect.map(host.turns, (turns) =>
    turns.flatMap((t) => t.replies.flatMap((r): Array<Receipt> => (Either.isRight(r.result) ? [r.result.right] : []))))

/** A connection for tests whose ILinkApi never makes a request. */
export const testConnection: ILinkConnection = { baseUrl: "http://127.0.0.1:9/", accountId: "bot" }

/**
 * ILinkApi.layerTest with handlers typed loosely: scripted answers may be any ILinkError, and a handler
 * may take only the arguments it reads. Any other call dies naming the method.
 */
export const scriptedApi = (methods: { readonly [K in keyof ILinkApiShape]?: (...args: Array<any>) => Effect.Effect<any, any> }) =>
  ILinkApi.layerTest(methods as Partial<ILinkApiShape>)
