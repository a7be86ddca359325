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

  it("puts the persona's own texts in time order with the bot's, with links to the media of a delivered message only", async () => {
    const { admin, injected } = fakeAdmin(
      [
        { at: 20_000, toUserId: ALICE, clientId: "c1", msg: { item_list: [{ type: 2 }, { type: 4, file_item: { file_name: "a.pdf" } }] }, outcome: "delivered" },
        { at: 30_000, toUserId: ALICE, clientId: "c2", msg: { item_list: [{ type: 2 }] }, outcome: "rate_limited" }
      ],
      []
    )
    const conversations = makeConversations(admin)
    await conversations.sendText(BOT, ALICE, "hello")
    expect(injected).toEqual([{ botId: BOT, fromUserId: ALICE, kind: "text", text: "hello" }])
    const conversation = await conversations.read(BOT, ALICE)
    expect(conversation.messages.map((m) => [m.from, m.text, m.media])).toEqual([
      ["user", "hello", undefined],
      ["bot", "", [
        { kind: "picture", url: `/api/media?botId=b1%40im.bot&clientId=c1&index=0` },
        { kind: "file", name: "a.pdf", url: `/api/media?botId=b1%40im.bot&clientId=c1&index=1` }
      ]],
      ["bot", "", [{ kind: "picture" }]]
    ])
    expect((await conversations.read(BOT, "bob@im.wechat")).messages).toEqual([])
  })

  it("quotes a message by its server id only, as current WeChat clients do, and shows what it quotes", async () => {
    const { admin, injected } = fakeAdmin([{ at: 1, toUserId: ALICE, clientId: "c1", text: "echo: hi", outcome: "delivered", messageId: "42" }], [])
    const conversations = makeConversations(admin)
    const [reply] = (await conversations.read(BOT, ALICE)).messages
    expect(reply?.serverId).toBe("42")
    await conversations.sendText(BOT, ALICE, "what did you mean?", { serverId: reply!.serverId!, text: reply!.text })
    // no quoted content travels: no title, no message_item
    expect(injected).toEqual([{ botId: BOT, fromUserId: ALICE, kind: "quote", text: "what did you mean?", svrId: "42" }])
    const mine = (await conversations.read(BOT, ALICE)).messages.find((m) => m.from === "user")
    expect([mine?.text, mine?.quote, mine?.serverId]).toEqual(["what did you mean?", "echo: hi", "7311234567891000000"])
  })

  it("serves the bytes of a media item the bot sent, found by client id and position", async () => {
    const picture = Buffer.from("89504e470d0a1a0a00", "hex")
    const admin = async (_method: "GET" | "POST", route: string): Promise<unknown> => {
      expect(route).toBe(`/cdn/sent-media?botId=${encodeURIComponent(BOT)}`)
      return {
        sentMedia: [
          { clientId: "c0", kind: "file", fileName: "old.txt", plaintext: Buffer.from("old").toString("base64") },
          { clientId: "c1", kind: "image", plaintext: picture.toString("base64") },
          { clientId: "c1", kind: "file", fileName: "a.pdf", plaintext: Buffer.from("%PDF").toString("base64") }
        ]
      }
    }
    const conversations = makeConversations(admin)
    expect(await conversations.media(BOT, "c1", 0)).toEqual({ kind: "image", fileName: undefined, bytes: picture })
    expect(await conversations.media(BOT, "c1", 1)).toEqual({ kind: "file", fileName: "a.pdf", bytes: Buffer.from("%PDF") })
    expect(await conversations.media(BOT, "c1", 2)).toBeUndefined()
    expect(await conversations.media(BOT, "c9", 0)).toBeUndefined()
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

  it("shows the tool progress items the bot sends, a start and a result with its status", async () => {
    const { admin } = fakeAdmin(
      [
        { at: 1, toUserId: ALICE, clientId: "p1", msg: { item_list: [{ type: 11, tool_call_start_item: { tool_name: "ls", tool_call_id: "t1" } }] }, outcome: "delivered" },
        { at: 2, toUserId: ALICE, clientId: "p2", msg: { item_list: [{ type: 12, tool_call_result_item: { tool_name: "ls", status: "completed" } }] }, outcome: "delivered" },
        { at: 3, toUserId: ALICE, clientId: "c1", text: "I used the ls tool", outcome: "delivered" }
      ],
      []
    )
    const messages = (await makeConversations(admin).read(BOT, ALICE)).messages
    expect(messages.map((m) => [m.text, m.progress])).toEqual([
      ["", { tool: "ls", phase: "start" }],
      ["", { tool: "ls", phase: "end", status: "completed" }],
      ["I used the ls tool", undefined]
    ])
  })

  it("shows the bot typing after a typing event, until a cancel or 30 s without one", async () => {
    const typing = (events: ReadonlyArray<object>, now: number) => makeConversations(fakeAdmin([], events, now).admin).read(BOT, ALICE)
    expect((await typing([{ at: 1_000, userId: ALICE, status: "typing" }], 5_000)).typing).toBe(true)
    expect((await typing([{ at: 1_000, userId: ALICE, status: "typing" }, { at: 2_000, userId: ALICE, status: "cancel" }], 5_000)).typing).toBe(false)
    expect((await typing([{ at: 1_000, userId: ALICE, status: "typing" }], 40_000)).typing).toBe(false)
    expect((await typing([{ at: 1_000, userId: "bob@im.wechat", status: "typing" }], 5_000)).typing).toBe(false)
  })
})
