/**
 * Bots, users and conversations: who may call, which context tokens the server issued to which
 * (bot, user), and the reply window and budget each conversation has left.
 */
import { randomBytes } from "node:crypto"

export interface Bot {
  readonly botId: string
  token: string
  ownerUserId: string
  /** Set by expireSession: getupdates answers −14 this way until the bot logs in again. */
  expiredVia: "ret" | "errcode" | undefined
  /** Mixed into cursors so a cursor from another bot is recognisably foreign. */
  readonly cursorSalt: string
}

export interface Conversation {
  readonly botId: string
  readonly userId: string
  /** Tokens issued since the bot's current login; older ones are stale. */
  readonly liveTokens: Set<string>
  readonly staleTokens: Set<string>
  lastInboundAt: number | undefined
  repliesSinceInbound: number
  readonly typingTicket: string
}

const hex = (bytes: number): string => randomBytes(bytes).toString("hex")

export class Directory {
  readonly bots = new Map<string, Bot>()
  readonly users = new Set<string>()
  private readonly byToken = new Map<string, Bot>()
  /** Tokens replaced by a later login: still recognised (→ −14), unlike tokens never issued. */
  private readonly retiredTokens = new Map<string, Bot>()
  private readonly conversations = new Map<string, Conversation>()
  /** Every context token ever issued → its (bot, user). */
  private readonly tokenOwners = new Map<string, { botId: string; userId: string }>()

  addUser(userId?: string): string {
    const id = userId ?? `o${hex(10)}@im.wechat`
    this.users.add(id)
    return id
  }

  addBot(options: { botId?: string; token?: string; ownerUserId?: string } = {}): Bot {
    const existing = options.botId === undefined ? undefined : this.bots.get(options.botId)
    if (existing !== undefined) return this.relogin(existing, options.ownerUserId, options.token)
    const botId = options.botId ?? `${hex(6)}@im.bot`
    const owner = this.addUser(options.ownerUserId)
    const bot: Bot = {
      botId,
      token: options.token ?? `${botId.replace("@im.bot", "")}@im.bot:${hex(20)}`,
      ownerUserId: owner,
      expiredVia: undefined,
      cursorSalt: hex(4)
    }
    this.bots.set(botId, bot)
    this.byToken.set(bot.token, bot)
    return bot
  }

  /** A fresh login for a known bot: new token, session un-expired, context tokens issued so far go stale. */
  relogin(bot: Bot, ownerUserId?: string, token?: string): Bot {
    this.byToken.delete(bot.token)
    this.retiredTokens.set(bot.token, bot)
    bot.token = token ?? `${bot.botId.replace("@im.bot", "")}@im.bot:${hex(20)}`
    bot.expiredVia = undefined
    if (ownerUserId !== undefined) bot.ownerUserId = this.addUser(ownerUserId)
    this.byToken.set(bot.token, bot)
    for (const conversation of this.conversations.values()) {
      if (conversation.botId !== bot.botId) continue
      for (const t of conversation.liveTokens) conversation.staleTokens.add(t)
      conversation.liveTokens.clear()
    }
    return bot
  }

  botByToken(token: string): Bot | undefined {
    return this.byToken.get(token)
  }

  /** The bot a replaced token used to belong to. */
  retiredTokenOwner(token: string): Bot | undefined {
    return this.retiredTokens.get(token)
  }

  requireBot(botId: string): Bot {
    const bot = this.bots.get(botId)
    if (bot === undefined) throw new Error(`unknown bot ${botId}; add it with addBot first`)
    return bot
  }

  conversation(botId: string, userId: string): Conversation {
    const key = `${botId}\u0000${userId}`
    let conversation = this.conversations.get(key)
    if (conversation === undefined) {
      conversation = {
        botId,
        userId,
        liveTokens: new Set(),
        staleTokens: new Set(),
        lastInboundAt: undefined,
        repliesSinceInbound: 0,
        typingTicket: randomBytes(24).toString("base64")
      }
      this.conversations.set(key, conversation)
    }
    return conversation
  }

  existingConversation(botId: string, userId: string): Conversation | undefined {
    return this.conversations.get(`${botId}\u0000${userId}`)
  }

  /** Records an inbound message from the user: new context token, window restarted, budget refilled. */
  issueContextToken(botId: string, userId: string, at: number, token?: string): string {
    const conversation = this.conversation(botId, userId)
    const issued = token ?? `ctx-${hex(12)}`
    conversation.liveTokens.add(issued)
    conversation.lastInboundAt = at
    conversation.repliesSinceInbound = 0
    this.tokenOwners.set(issued, { botId, userId })
    return issued
  }

  tokenOwner(token: string): { botId: string; userId: string } | undefined {
    return this.tokenOwners.get(token)
  }

  /** Makes every context token issued so far to (bot, user?) stale. */
  invalidateContextTokens(botId: string, userId?: string): void {
    for (const conversation of this.conversations.values()) {
      if (conversation.botId !== botId || (userId !== undefined && conversation.userId !== userId)) continue
      for (const t of conversation.liveTokens) conversation.staleTokens.add(t)
      conversation.liveTokens.clear()
    }
  }
}
