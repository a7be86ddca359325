/**
 * One persona's conversation with one bot, as the phone shows it: what the persona sent (kept here, as
 * the emulator keeps no list of injected messages) and what the bot sent (the emulator's sendmessage
 * records), in time order, each bot message with its receipt state and its pictures and files (served by
 * `media` from what the emulator's CDN decrypted), and whether the bot is typing. A message the server
 * gave an id can be quoted; a quote goes out by that id only, as current WeChat clients send it.
 */

export type ReceiptState = "delivered" | "unconfirmed" | "refused"

export interface ChatMessage {
  readonly id: string
  readonly from: "user" | "bot"
  readonly at: number
  readonly text: string
  /** bot messages: what the server answered the send */
  readonly state?: ReceiptState
  /** refused: the emulator's outcome and errmsg */
  readonly detail?: string
  /** the server's message id: what a quote of this message names */
  readonly serverId?: string
  /** bot messages: their media items; `url` serves the bytes the user gets (delivered messages only) */
  readonly media?: ReadonlyArray<MediaItem>
  /** user messages: the text of the message they quote */
  readonly quote?: string
  /** bot messages: a tool progress item (PROTOCOL §5.7), a tool call starting or its result */
  readonly progress?: ProgressNote
}

export interface ProgressNote {
  readonly tool: string
  readonly phase: "start" | "end"
  /** end: completed, failed, blocked or unknown */
  readonly status?: string
}

export interface MediaItem {
  readonly kind: "picture" | "video" | "file"
  readonly name?: string
  readonly url?: string
}

/** The bytes of one media item a bot sent, as its recipient downloads and decrypts them. */
export interface SentMediaBytes {
  readonly kind: "image" | "video" | "file"
  readonly fileName: string | undefined
  readonly bytes: Buffer
}

export interface Conversation {
  readonly botId: string
  readonly userId: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly typing: boolean
}

interface SentRecord {
  readonly at: number
  readonly toUserId: string
  readonly clientId?: string
  readonly text?: string
  readonly msg?: {
    readonly item_list?: ReadonlyArray<{
      readonly type?: number
      readonly file_item?: { readonly file_name?: string }
      readonly tool_call_start_item?: { readonly tool_name?: string }
      readonly tool_call_result_item?: { readonly tool_name?: string; readonly status?: string }
    }>
  }
  readonly outcome: string
  readonly errmsg?: string
  readonly messageId?: string
}

interface TypingEvent {
  readonly at: number
  readonly userId: string
  readonly status: "typing" | "cancel" | "invalid"
}

type Admin = (method: "GET" | "POST", route: string, body?: unknown) => Promise<unknown>

/** iLink item types (docs/PROTOCOL.md §1.9): 2 image, 4 file, 5 video */
const mediaOf = (botId: string, record: SentRecord, clientId: string): ReadonlyArray<MediaItem> => {
  const items = record.msg?.item_list ?? []
  const kinds = items.flatMap((item): ReadonlyArray<Omit<MediaItem, "url">> => {
    if (item.type === 2) return [{ kind: "picture" }]
    if (item.type === 4) return [{ kind: "file", ...(item.file_item?.file_name ? { name: item.file_item.file_name } : {}) }]
    if (item.type === 5) return [{ kind: "video" }]
    return []
  })
  // the CDN serves what the recipient would get only for a message the server delivered
  return kinds.map((item, index) =>
    record.outcome === "delivered"
      ? { ...item, url: `/api/media?${new URLSearchParams({ botId, clientId, index: String(index) }).toString()}` }
      : item
  )
}

/** iLink item types 11 and 12: a tool call starting, and its result */
const progressOf = (record: SentRecord): ProgressNote | undefined => {
  for (const item of record.msg?.item_list ?? []) {
    if (item.type === 11) return { tool: item.tool_call_start_item?.tool_name ?? "tool", phase: "start" }
    if (item.type === 12) {
      const result = item.tool_call_result_item
      return { tool: result?.tool_name ?? "tool", phase: "end", ...(result?.status === undefined ? {} : { status: result.status }) }
    }
  }
  return undefined
}

const receiptOf = (record: SentRecord): { state: ReceiptState; detail?: string } => {
  if (record.outcome === "delivered") return { state: "delivered" }
  if (record.outcome === "accepted_without_message_id") return { state: "unconfirmed", detail: "the server accepted it without a message id" }
  const reason = record.outcome.replace(/_/g, " ")
  return { state: "refused", detail: record.errmsg && record.errmsg !== reason ? `${reason}: ${record.errmsg}` : reason }
}

/** Typing events older than this without a cancel are treated as over (a turn that ended without one). */
const TYPING_STALE_MS = 30_000

export const makeConversations = (admin: Admin) => {
  const sentByUser: Array<ChatMessage & { readonly botId: string; readonly userId: string }> = []

  /** Injects `body` as a message from the persona and records it as the conversation shows it. */
  const inject = async (
    botId: string,
    userId: string,
    body: Record<string, unknown>,
    text: string,
    quoted?: string
  ): Promise<ChatMessage> => {
    const { now } = (await admin("GET", "/clock")) as { now: number }
    const injected = (await admin("POST", "/inject", { botId, fromUserId: userId, ...body })) as { messageId?: string }
    const message = {
      id: `in-${injected.messageId ?? sentByUser.length}`,
      from: "user" as const,
      at: now,
      text,
      ...(injected.messageId === undefined ? {} : { serverId: injected.messageId }),
      ...(quoted === undefined ? {} : { quote: quoted }),
      botId,
      userId
    }
    sentByUser.push(message)
    return message
  }

  /** A text from the persona; with `quote`, a quote of that message by its server id only (no copy of its content). */
  const sendText = (
    botId: string,
    userId: string,
    text: string,
    quote?: { readonly serverId: string; readonly text: string }
  ): Promise<ChatMessage> =>
    quote === undefined
      ? inject(botId, userId, { kind: "text", text }, text)
      : inject(botId, userId, { kind: "quote", text, svrId: quote.serverId }, text, quote.text)

  /** A picture (image/*) or a file from the persona, stored on the emulator's CDN as WeChat would. */
  const sendMedia = (botId: string, userId: string, fileName: string, contentType: string, base64: string): Promise<ChatMessage> => {
    const picture = contentType.startsWith("image/")
    return inject(
      botId,
      userId,
      picture ? { kind: "image", media: { base64 } } : { kind: "file", media: { base64 }, fileName },
      `[${picture ? "picture" : "file"} ${fileName}]`
    )
  }

  const read = async (botId: string, userId: string): Promise<Conversation> => {
    const query = `?botId=${encodeURIComponent(botId)}`
    const [{ sent }, { typing }, { now }] = (await Promise.all([
      admin("GET", `/sent${query}`),
      admin("GET", `/typing${query}`),
      admin("GET", "/clock")
    ])) as [{ sent: ReadonlyArray<SentRecord> }, { typing: ReadonlyArray<TypingEvent> }, { now: number }]
    // a send retried with the same client_id is one message; its last answer is its state
    const byClient = new Map<string, SentRecord>()
    sent.filter((record) => record.toUserId === userId).forEach((record, index) => byClient.set(record.clientId ?? `#${index}`, record))
    const fromBot: Array<ChatMessage> = [...byClient.entries()].map(([clientId, record]) => {
      const media = mediaOf(botId, record, clientId)
      const progress = progressOf(record)
      return {
        id: `out-${clientId}`,
        from: "bot",
        at: record.at,
        text: record.text ?? "",
        ...receiptOf(record),
        ...(record.messageId === undefined ? {} : { serverId: record.messageId }),
        ...(media.length === 0 ? {} : { media }),
        ...(progress === undefined ? {} : { progress })
      }
    })
    const fromUser = sentByUser
      .filter((message) => message.botId === botId && message.userId === userId)
      .map(({ botId: _b, userId: _u, ...message }) => message)
    const messages = [...fromUser, ...fromBot].sort((a, b) => a.at - b.at)
    const last = typing.filter((event) => event.userId === userId).at(-1)
    return {
      botId,
      userId,
      messages,
      typing: last !== undefined && last.status === "typing" && now - last.at < TYPING_STALE_MS
    }
  }

  /** The `index`th media item of the bot's delivered message `clientId`, decrypted; undefined when there is none. */
  const media = async (botId: string, clientId: string, index: number): Promise<SentMediaBytes | undefined> => {
    const { sentMedia } = (await admin("GET", `/cdn/sent-media?botId=${encodeURIComponent(botId)}`)) as {
      sentMedia: ReadonlyArray<{ clientId?: string; kind: SentMediaBytes["kind"]; fileName?: string; plaintext?: string }>
    }
    const item = sentMedia.filter((candidate) => candidate.clientId === clientId)[index]
    if (item?.plaintext === undefined) return undefined
    return { kind: item.kind, fileName: item.fileName, bytes: Buffer.from(item.plaintext, "base64") }
  }

  /** The server ids of the persona's latest messages to each bot, newest last (what a redelivery storm repeats). */
  const recentServerIds = (count: number): ReadonlyArray<{ readonly botId: string; readonly serverId: string }> =>
    sentByUser.flatMap((message) => (message.serverId === undefined ? [] : [{ botId: message.botId, serverId: message.serverId }])).slice(-count)

  return { sendText, sendMedia, read, media, recentServerIds }
}
