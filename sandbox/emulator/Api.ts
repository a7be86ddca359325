/**
 * The iLink bot endpoints (PROTOCOL §1.8): authentication by bot token, getupdates long-poll,
 * sendmessage with the context-token rules of Appendix C, typing, config, upload URLs, notify.
 * The QR endpoints live in QrHttp.ts.
 */
import { Clock, Effect } from "effect"
import type { Bot } from "./Bots.js"
import type { Fault } from "./Faults.js"
import { getBotQrCode, getQrCodeStatus } from "./QrHttp.js"
import type { EndpointName, SendOutcome } from "./Records.js"
import { json, type Reply } from "./Reply.js"
import type { EmulatorState } from "./State.js"
import { mediaItemProblems } from "./SentMedia.js"
import { bare } from "./WireJson.js"

export interface IncomingCall {
  readonly endpoint: EndpointName
  readonly method: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly rawBody: Buffer
  readonly bodyText: string
  /** Parsed JSON body (undefined when absent or unparseable). */
  readonly body: Record<string, unknown> | undefined
  /** An endpoint-specific fault the server left for the handler (no_message_id, rate_limited, …). */
  readonly fault: Fault | undefined
}

const sessionExpired = (via: "ret" | "errcode"): Reply =>
  via === "ret" ? json({ ret: -14, errmsg: "session timeout" }) : json({ errcode: -14, errmsg: "session timeout" })

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

export const bearerToken = (headers: Readonly<Record<string, string | undefined>>): string => {
  const header = headers["authorization"] ?? ""
  return header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : ""
}

/** Resolves the calling bot from its bearer token; a missing, unknown, replaced or expired token → −14. */
const authenticate = (state: EmulatorState, call: IncomingCall) =>
  Effect.gen(function*() {
    const token = bearerToken(call.headers)
    const bot = token === "" ? undefined : state.directory.botByToken(token)
    if (bot === undefined) {
      const retired = state.directory.retiredTokenOwner(token)
      if (token !== "" && retired === undefined) {
        yield* state.violate(call.endpoint, "authorization", "bearer token was never issued by this server (use the token from addBot or a QR login)")
      }
      return { _tag: "Refused" as const, reply: sessionExpired("ret"), botId: retired?.botId }
    }
    if (bot.expiredVia !== undefined) return { _tag: "Refused" as const, reply: sessionExpired(bot.expiredVia), botId: bot.botId }
    return { _tag: "Accepted" as const, bot }
  })

/** Records one sendmessage and its outcome, whatever happened to it. */
export const recordSend = (
  state: EmulatorState,
  call: Pick<IncomingCall, "body" | "bodyText">,
  at: number,
  botId: string,
  outcome: SendOutcome,
  ret: number | undefined,
  errmsg: string | undefined,
  messageId?: string
): void => {
  const msgValue = call.body?.["msg"]
  const msg = typeof msgValue === "object" && msgValue !== null ? (msgValue as Record<string, unknown>) : {}
  const items = Array.isArray(msg["item_list"]) ? (msg["item_list"] as Array<unknown>) : []
  const texts = items.flatMap((item) => {
    const text = (item as { text_item?: { text?: unknown } } | null)?.text_item?.text
    return typeof text === "string" ? [text] : []
  })
  state.sent.push({
    at,
    botId,
    toUserId: str(msg["to_user_id"]) ?? "",
    clientId: str(msg["client_id"]),
    contextToken: str(msg["context_token"]),
    runId: str(msg["run_id"]),
    text: texts.length > 0 ? texts.join("") : undefined,
    msg: msgValue,
    rawBody: call.bodyText,
    outcome,
    ret,
    errmsg,
    messageId
  })
}

const getUpdates = (state: EmulatorState, bot: Bot, call: IncomingCall) =>
  Effect.gen(function*() {
    const cursorText = str(call.body?.["get_updates_buf"]) ?? ""
    let reading = state.mailbox.readCursor(bot.cursorSalt, cursorText)
    if (reading._tag === "Foreign") {
      yield* state.violate("getupdates", "get_updates_buf", `${reading.reason}; answering from the start`)
      reading = { _tag: "Start" }
    }
    const position = reading._tag === "After" ? reading.seq : 0
    const hint = state.options.longPollingTimeoutMs
    const answer = (msgs: ReadonlyArray<object>, seq: number) =>
      json({ ret: 0, msgs, get_updates_buf: state.mailbox.cursorFor(bot.cursorSalt, seq), longpolling_timeout_ms: hint })
    const deadline = (yield* Clock.currentTimeMillis) + state.options.longPollMs
    while (true) {
      if (bot.expiredVia !== undefined) return sessionExpired(bot.expiredVia)
      const batch = state.mailbox.after(bot.botId, reading)
      if (batch.length > 0) {
        return answer(batch.map((e) => e.message), Math.max(position, ...batch.map((e) => e.seq)))
      }
      const remaining = deadline - (yield* Clock.currentTimeMillis)
      if (remaining <= 0) return answer([], position)
      yield* state.mailbox.waitForChange(bot.botId, remaining)
    }
  })

const joinedText = (msg: Record<string, unknown>): string => {
  const items = msg["item_list"]
  if (!Array.isArray(items)) return ""
  return items
    .map((item) => (typeof item === "object" && item !== null ? str((item as { text_item?: { text?: unknown } }).text_item?.text) : undefined) ?? "")
    .join("")
}

const sendMessage = (state: EmulatorState, bot: Bot, call: IncomingCall) =>
  Effect.gen(function*() {
    const now = yield* state.clock.now
    const msgValue = call.body?.["msg"]
    const msg = typeof msgValue === "object" && msgValue !== null ? (msgValue as Record<string, unknown>) : {}
    const toUserId = str(msg["to_user_id"]) ?? ""
    const contextToken = str(msg["context_token"])
    const outcome = (kind: SendOutcome, ret: number, errmsg: string | undefined, messageId?: string): Reply => {
      recordSend(state, call, now, bot.botId, kind, ret, errmsg, messageId)
      if (messageId !== undefined) return json({ ret, message_id: bare(messageId) })
      return json({ ret, errmsg })
    }
    const items = Array.isArray(msg["item_list"]) ? (msg["item_list"] as ReadonlyArray<unknown>) : []
    for (const problem of mediaItemProblems(state.cdn, bot.botId, toUserId, items)) {
      yield* state.violate("sendmessage", "media_item", problem)
    }
    if (call.fault?.kind === "rate_limited") return outcome("rate_limited", -2, "rate limited")
    if (!state.directory.users.has(toUserId)) return outcome("invalid_to_user", -3, "invalid arguments")
    if (joinedText(msg).length > state.options.maxTextChars) return outcome("text_too_long", -2, "prepare failed")
    if (contextToken === undefined || contextToken === "") return outcome("no_context_token", -2, "")
    const owner = state.directory.tokenOwner(contextToken)
    if (owner === undefined || owner.botId !== bot.botId || owner.userId !== toUserId) {
      return outcome("unknown_context_token", -2, "")
    }
    const conversation = state.directory.conversation(bot.botId, toUserId)
    if (conversation.staleTokens.has(contextToken)) return outcome("stale_context_token", -2, "")
    if (conversation.lastInboundAt === undefined || now - conversation.lastInboundAt > state.options.replyWindowMs) {
      return outcome("window_closed", -2, "reply window closed")
    }
    if (conversation.repliesSinceInbound >= state.options.replyBudget) return outcome("budget_spent", -2, "")
    conversation.repliesSinceInbound += 1
    if (call.fault?.kind === "no_message_id") return outcome("accepted_without_message_id", 0, undefined)
    return outcome("delivered", 0, undefined, state.ids.take())
  })

const sendTyping = (state: EmulatorState, bot: Bot, call: IncomingCall) =>
  Effect.gen(function*() {
    const at = yield* state.clock.now
    const userId = str(call.body?.["ilink_user_id"]) ?? ""
    const ticket = str(call.body?.["typing_ticket"]) ?? ""
    const statusValue = call.body?.["status"]
    const status = statusValue === 1 ? "typing" : statusValue === 2 ? "cancel" : "invalid"
    state.typing.push({ at, botId: bot.botId, userId, status, typingTicket: ticket })
    const conversation = state.directory.existingConversation(bot.botId, userId)
    if (conversation === undefined || conversation.typingTicket !== ticket) {
      yield* state.violate("sendtyping", "typing_ticket", `typing_ticket for ${userId} was not issued by getconfig for this bot and user`)
    }
    return json({ ret: 0 })
  })

const getConfig = (state: EmulatorState, bot: Bot, call: IncomingCall) =>
  Effect.sync(() => {
    const userId = str(call.body?.["ilink_user_id"]) ?? ""
    const conversation = state.directory.existingConversation(bot.botId, userId)
    if (conversation?.lastInboundAt === undefined) return json({ ret: -4, errmsg: "no context for this user yet" })
    return json({ ret: 0, typing_ticket: conversation.typingTicket })
  })

const getUploadUrl = (state: EmulatorState, bot: Bot, call: IncomingCall) =>
  Effect.sync(() => {
    const body = call.body ?? {}
    const mediaType = body["media_type"]
    if (mediaType === 4) return json({ ret: -1, errmsg: "media type not supported" })
    const aeskey = str(body["aeskey"]) ?? ""
    const filekey = str(body["filekey"]) ?? ""
    if (!/^[0-9a-f]{32}$/.test(aeskey) || filekey === "" || typeof mediaType !== "number") {
      return json({ ret: -1, errmsg: "invalid arguments" })
    }
    const pending = state.cdn.announceUpload({
      botId: bot.botId,
      filekey,
      mediaType,
      toUserId: str(body["to_user_id"]) ?? "",
      rawsize: typeof body["rawsize"] === "number" ? body["rawsize"] : -1,
      rawfilemd5: str(body["rawfilemd5"]) ?? "",
      filesize: typeof body["filesize"] === "number" ? body["filesize"] : -1,
      aeskeyHex: aeskey
    })
    const mode = state.options.uploadUrlMode
    return json({
      upload_param: mode === "full_url" ? undefined : pending.uploadParam,
      upload_full_url: mode === "param" ? undefined : state.cdn.uploadUrl(pending)
    })
  })

const notify = (state: EmulatorState, bot: Bot, kind: "start" | "stop") =>
  Effect.flatMap(state.clock.now, (at) =>
    Effect.sync(() => {
      state.notifications.push({ at, botId: bot.botId, kind })
      return json({ ret: 0 })
    })
  )

export const handleApi = (state: EmulatorState, call: IncomingCall): Effect.Effect<Reply> => {
  if (call.endpoint === "get_bot_qrcode") return getBotQrCode(state, call)
  if (call.endpoint === "get_qrcode_status") return getQrCodeStatus(state, call)
  if (call.endpoint === "getupdates" && state.options.requireAppHeaders) {
    if (call.headers["ilink-app-id"] === undefined || call.headers["ilink-app-clientversion"] === undefined) {
      // The field answers −14 to pollers without the app headers (App. C); validation records why.
      return Effect.succeed(sessionExpired("ret"))
    }
  }
  return Effect.flatMap(authenticate(state, call), (auth): Effect.Effect<Reply> => {
    if (auth._tag === "Refused") {
      if (call.endpoint !== "sendmessage") return Effect.succeed(auth.reply)
      return Effect.map(state.clock.now, (at) => {
        recordSend(state, call, at, auth.botId ?? "(unknown token)", "session_expired", -14, "session timeout")
        return auth.reply
      })
    }
    return handleBotEndpoint(state, auth.bot, call)
  })
}

const handleBotEndpoint = (state: EmulatorState, bot: Bot, call: IncomingCall): Effect.Effect<Reply> => {
  switch (call.endpoint) {
    case "getupdates":
      return getUpdates(state, bot, call)
    case "sendmessage":
      return sendMessage(state, bot, call)
    case "sendtyping":
      return sendTyping(state, bot, call)
    case "getconfig":
      return getConfig(state, bot, call)
    case "getuploadurl":
      return getUploadUrl(state, bot, call)
    case "notifystart":
      return notify(state, bot, "start")
    case "notifystop":
      return notify(state, bot, "stop")
    default:
      return Effect.succeed(json({ ret: -1, errmsg: `no such endpoint ${call.endpoint}` }, 404))
  }
}
