import { describe, expect, it } from "vitest"
import { makeConversations } from "../../sandbox/phone/Conversations.js"

const BOT = "b1@im.bot"
const ALICE = "alice@im.wechat"

/** An emulator admin API that answers from fixed records. */
const fakeAdmin = (sent: ReadonlyArray<object>, typing: ReadonlyArray<object>, now = 10_000) => {
  const injected: Array<unknown> = []
  const admin = async (method: "GET" | "POST", route: string, body?: unknown): Promise<unknown> => {
    if (method === "POST" && route === "/inject") {
      injected.push(body)
      return { messageId: "7311234567891000000" }
    }
    if (route === "/clock") return { now }
    if (route.startsWith("/sent")) return { sent }
    if (route.startsWith("/typing")) return { typing }
    throw new Error(`unexpected ${method} ${route}`)
  }
  return { admin, injected }
}

describe("the phone's conversation view", () => {
  it("shows each bot message once, with its receipt state: delivered, unconfirmed, or refused with the reason", async () => {
    const { admin } = fakeAdmin(
      [
        { at: 1, toUserId: ALICE, clientId: "c1", text: "hi", outcome: "delivered", messageId: "1" },
        { at: 2, toUserId: ALICE, clientId: "c2", text: "maybe", outcome: "accepted_without_message_id" },
        { at: 3, toUserId: ALICE, clientId: "c3", text: "no", outcome: "rate_limited", errmsg: "rate limited" },
        { at: 3.5, toUserId: ALICE, clientId: "c6", text: "still no", outcome: "rate_limited", errmsg: "rate limited" },
        // a retry of c3 that went through: one message, its last state
        { at: 4, toUserId: ALICE, clientId: "c3", text: "no", outcome: "delivered", messageId: "2" },
        { at: 5, toUserId: "bob@im.wechat", clientId: "c4", text: "not Alice's", outcome: "delivered" },
        { at: 6, toUserId: ALICE, clientId: "c5", text: "late", outcome: "window_closed", errmsg: "reply window closed" }
      ],
      []
    )
    const conversation = await makeConversations(admin).read(BOT, ALICE)
    expect(conversation.messages.map((m) => [m.text, m.state, m.detail])).toEqual([
      ["hi", "delivered", undefined],
      ["maybe", "unconfirmed", "the server accepted it without a message id"],
      ["still no", "refused", "rate limited"],
      // shown where its last attempt happened
      ["no", "delivered", undefined],
      ["late", "refused", "window closed: reply window closed"]
    ])
  })

  it("puts the persona's own texts in time order with the bot's, and names media the bot sent", async () => {
    const { admin, injected } = fakeAdmin(
      [{ at: 20_000, toUserId: ALICE, clientId: "c1", msg: { item_list: [{ type: 2 }, { type: 4, file_item: { file_name: "a.pdf" } }] }, outcome: "delivered" }],
      []
    )
    const conversations = makeConversations(admin)
    await conversations.sendText(BOT, ALICE, "hello")
    expect(injected).toEqual([{ botId: BOT, fromUserId: ALICE, kind: "text", text: "hello" }])
    const conversation = await conversations.read(BOT, ALICE)
    expect(conversation.messages.map((m) => [m.from, m.text])).toEqual([["user", "hello"], ["bot", "[picture] [file a.pdf]"]])
    expect((await conversations.read(BOT, "bob@im.wechat")).messages).toEqual([])
  })

  it("sends a picture as an image message and any other file as a file message with its name", async () => {
    const { admin, injected } = fakeAdmin([], [])
    const conversations = makeConversations(admin)
    await conversations.sendMedia(BOT, ALICE, "cat.png", "image/png", "iVBORw0=")
    await conversations.sendMedia(BOT, ALICE, "report.pdf", "application/pdf", "JVBERi0=")
    expect(injected).toEqual([
      { botId: BOT, fromUserId: ALICE, kind: "image", media: { base64: "iVBORw0=" } },
      { botId: BOT, fromUserId: ALICE, kind: "file", media: { base64: "JVBERi0=" }, fileName: "report.pdf" }
    ])
    expect((await conversations.read(BOT, ALICE)).messages.map((m) => m.text)).toEqual(["[picture cat.png]", "[file report.pdf]"])
  })

  it("shows the bot typing after a typing event, until a cancel or 30 s without one", async () => {
    const typing = (events: ReadonlyArray<object>, now: number) => makeConversations(fakeAdmin([], events, now).admin).read(BOT, ALICE)
    expect((await typing([{ at: 1_000, userId: ALICE, status: "typing" }], 5_000)).typing).toBe(true)
    expect((await typing([{ at: 1_000, userId: ALICE, status: "typing" }, { at: 2_000, userId: ALICE, status: "cancel" }], 5_000)).typing).toBe(false)
    expect((await typing([{ at: 1_000, userId: ALICE, status: "typing" }], 40_000)).typing).toBe(false)
    expect((await typing([{ at: 1_000, userId: "bob@im.wechat", status: "typing" }], 5_000)).typing).toBe(false)
  })
})
