/**
 * One persona's conversation with one bot, as the phone shows it: what the persona sent (kept here, as
 * the emulator keeps no list of injected messages) and what the bot sent (the emulator's sendmessage
 * records), in time order, each bot message with its receipt state, and whether the bot is typing.
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
  readonly msg?: { readonly item_list?: ReadonlyArray<{ readonly type?: number; readonly file_item?: { readonly file_name?: string } }> }
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
const describeMedia = (record: SentRecord): string => {
  const items = record.msg?.item_list ?? []
  const labels = items.flatMap((item) => {
    if (item.type === 2) return ["[picture]"]
    if (item.type === 4) return [`[file ${item.file_item?.file_name ?? ""}]`.replace(" ]", "]")]
    if (item.type === 5) return ["[video]"]
    return []
  })
  return labels.join(" ")
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

  const sendText = async (botId: string, userId: string, text: string): Promise<ChatMessage> => {
    const { now } = (await admin("GET", "/clock")) as { now: number }
    const injected = (await admin("POST", "/inject", { botId, fromUserId: userId, kind: "text", text })) as { messageId?: string }
    const message = { id: `in-${injected.messageId ?? sentByUser.length}`, from: "user" as const, at: now, text, botId, userId }
    sentByUser.push(message)
    return message
  }

  /** A picture (image/*) or a file from the persona, stored on the emulator's CDN as WeChat would. */
  const sendMedia = async (botId: string, userId: string, fileName: string, contentType: string, base64: string): Promise<ChatMessage> => {
    const { now } = (await admin("GET", "/clock")) as { now: number }
    const picture = contentType.startsWith("image/")
    const injected = (await admin(
      "POST",
      "/inject",
      picture
        ? { botId, fromUserId: userId, kind: "image", media: { base64 } }
        : { botId, fromUserId: userId, kind: "file", media: { base64 }, fileName }
    )) as { messageId?: string }
    const text = `[${picture ? "picture" : "file"} ${fileName}]`
    const message = { id: `in-${injected.messageId ?? sentByUser.length}`, from: "user" as const, at: now, text, botId, userId }
    sentByUser.push(message)
    return message
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
    const fromBot: Array<ChatMessage> = [...byClient.entries()].map(([clientId, record]) => ({
      id: `out-${clientId}`,
      from: "bot",
      at: record.at,
      text: [record.text ?? "", describeMedia(record)].filter((part) => part !== "").join("\n"),
      ...receiptOf(record)
    }))
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

  return { sendText, sendMedia, read }
}
