// The floor of bench/race.ts: the least a WeChat (iLink) channel can do in an OpenClaw gateway, so the
// race can show what the host itself costs. One account ("default"), configured by
// `channels.race-floor.{baseUrl, token}`. It long-polls `getupdates`, hands each text message to the host
// (routing.resolveAgentRoute → inbound.buildContext → inbound.dispatch, the host calls the plugin under
// test makes too) and sends every reply text with `sendmessage` and the message's context token.
// Messages of one user run one after another (a user's turns must not overlap), users at once; that is
// all: no journal, no dedupe, no typing, no access check, no retries, no media, no chunking.
// `channels.race-floor.hostPath: "legacy"` runs each turn through the host's older reply chain instead
// (reply.finalizeInboundContext → session.recordInboundSession → reply.dispatchReplyWithBufferedBlockDispatcher,
// as test/e2e/fixtures/stub-channel does), to compare the host's two ways of running a channel turn.
// Plain JS, no dependencies: installing it needs no build step and no node_modules.

const CHANNEL_ID = "race-floor"
const ACCOUNT_ID = "default"
// the protocol level the plugin under test announces (2.4.9), so the server sees the same client
const BASE_INFO = { channel_version: "2.4.9", bot_agent: "OpenClaw" }
const CLIENT_VERSION = String((2 << 16) | (4 << 8) | 9)
const POLL_TIMEOUT_MS = 40_000
const SEND_TIMEOUT_MS = 15_000
const TEXT_ITEM = 1

const sectionOf = (cfg) => cfg?.channels?.[CHANNEL_ID] ?? {}

const uin = () => Buffer.from(String(Math.floor(Math.random() * 2 ** 32)), "utf8").toString("base64")

// message ids are uint64 and may exceed 2^53: keep every long bare integer as text
const parseWire = (text) => JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'))

const post = async (baseUrl, token, endpoint, body, signal, timeoutMs) => {
  const url = new URL(`ilink/bot/${endpoint}`, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`)
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      AuthorizationType: "ilink_bot_token",
      "X-WECHAT-UIN": uin(),
      "iLink-App-Id": "bot",
      "iLink-App-ClientVersion": CLIENT_VERSION,
      Authorization: `Bearer ${token}`
    },
    body: JSON.stringify({ ...body, base_info: BASE_INFO }),
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
  })
  return parseWire(await response.text())
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      resolve()
    }, { once: true })
  })

const textOf = (message) => message.item_list?.find((item) => item.type === TEXT_ITEM)?.text_item?.text

// the form the server expects (PROTOCOL §5.3): openclaw-weixin:<epoch ms>-<8 hex>
const newClientId = () => `openclaw-weixin:${Date.now()}-${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0")}`

/** Sends one reply text to `from` with the message's context token. */
const sendReply = async (ctx, section, message, from, payload) => {
  const reply = (payload.text ?? "").trim()
  if (reply === "") return undefined
  await post(section.baseUrl, section.token, "sendmessage", {
    msg: {
      from_user_id: "",
      to_user_id: from,
      client_id: newClientId(),
      message_type: 2,
      message_state: 2,
      item_list: [{ type: TEXT_ITEM, text_item: { text: reply } }],
      context_token: message.context_token
    }
  }, ctx.abortSignal, SEND_TIMEOUT_MS)
  return undefined
}

/** The same turn through the host's older reply chain (hostPath "legacy"). */
const runLegacyTurn = async (ctx, section, message, from, text, route, messageId) => {
  const runtime = ctx.channelRuntime
  const msgContext = runtime.reply.finalizeInboundContext({
    Body: text,
    RawBody: text,
    CommandBody: text.trim(),
    From: from,
    To: from,
    OriginatingTo: from,
    SenderId: from,
    SessionKey: route.sessionKey,
    AccountId: ctx.accountId,
    ChatType: "direct",
    Provider: CHANNEL_ID,
    Surface: CHANNEL_ID,
    OriginatingChannel: CHANNEL_ID,
    MessageSid: messageId,
    MessageSidFull: messageId,
    CommandAuthorized: false,
    Timestamp: Date.now()
  })
  const storePath = runtime.session.resolveStorePath(ctx.cfg.session?.store, { agentId: route.agentId })
  await runtime.session.recordInboundSession({
    storePath,
    sessionKey: route.sessionKey,
    ctx: msgContext,
    onRecordError: (error) => ctx.log?.warn?.(`race-floor: session record failed: ${String(error)}`)
  })
  await runtime.reply.dispatchReplyWithBufferedBlockDispatcher({
    ctx: msgContext,
    cfg: ctx.cfg,
    dispatcherOptions: {
      deliver: (payload) => sendReply(ctx, section, message, from, payload),
      onError: (error) => ctx.log?.warn?.(`race-floor: a reply failed: ${String(error)}`)
    }
  })
}

/** One inbound text through the host's turn, each reply text sent back with the message's token. */
const runTurn = async (ctx, section, message, from, text) => {
  const runtime = ctx.channelRuntime
  const route = await runtime.routing.resolveAgentRoute({
    cfg: ctx.cfg,
    channel: CHANNEL_ID,
    accountId: ctx.accountId,
    peer: { kind: "direct", id: from }
  })
  const messageId = String(message.message_id ?? `${from}:${message.seq}`)
  if (section.hostPath === "legacy") return runLegacyTurn(ctx, section, message, from, text, route, messageId)
  const ctxPayload = await runtime.inbound.buildContext({
    channel: CHANNEL_ID,
    accountId: ctx.accountId,
    provider: CHANNEL_ID,
    messageId,
    messageIdFull: messageId,
    from,
    sender: { id: from },
    conversation: { kind: "direct", id: from },
    route: {
      agentId: route.agentId,
      accountId: ctx.accountId,
      routeSessionKey: route.sessionKey,
      mainSessionKey: route.mainSessionKey ?? route.sessionKey
    },
    reply: { to: from, originatingTo: from },
    message: { rawBody: text, body: text, commandBody: text.trim() },
    access: { commands: { authorized: false } }
  })
  const deliver = (payload) => sendReply(ctx, section, message, from, payload)
  await runtime.inbound.dispatch({
    cfg: ctx.cfg,
    channel: CHANNEL_ID,
    accountId: ctx.accountId,
    route: { agentId: route.agentId, sessionKey: route.sessionKey },
    ctxPayload,
    messageId,
    delivery: {
      deliver,
      onError: (error, info) => ctx.log?.warn?.(`race-floor: a ${info?.kind ?? ""} reply failed: ${String(error)}`)
    },
    record: {
      updateLastRoute: { sessionKey: route.mainSessionKey ?? route.sessionKey, channel: CHANNEL_ID, to: from, accountId: ctx.accountId },
      onRecordError: (error) => ctx.log?.warn?.(`race-floor: session record failed: ${String(error)}`)
    },
    replyOptions: { disableBlockStreaming: true }
  })
}

const floorChannel = {
  id: CHANNEL_ID,
  meta: {
    id: CHANNEL_ID,
    label: "race-floor",
    selectionLabel: "race-floor (benchmark fixture)",
    docsPath: "/channels/race-floor",
    blurb: "Benchmark fixture: the least an iLink channel can do."
  },
  capabilities: { chatTypes: ["direct"] },
  reload: { configPrefixes: [`channels.${CHANNEL_ID}`] },
  config: {
    listAccountIds: () => [ACCOUNT_ID],
    resolveAccount: (cfg) => {
      const section = sectionOf(cfg)
      return {
        accountId: ACCOUNT_ID,
        name: ACCOUNT_ID,
        enabled: section.enabled !== false,
        configured: typeof section.token === "string" && typeof section.baseUrl === "string"
      }
    },
    defaultAccountId: () => ACCOUNT_ID,
    isConfigured: (account) => account.configured,
    describeAccount: (account) => ({
      accountId: account.accountId,
      name: account.name,
      enabled: account.enabled,
      configured: account.configured
    })
  },
  messaging: { targetResolver: { looksLikeId: (raw) => raw.endsWith("@im.wechat"), hint: "<user>@im.wechat" } },
  outbound: { deliveryMode: "direct" },
  status: {
    defaultRuntime: { accountId: ACCOUNT_ID, running: false, lastError: null },
    buildAccountSnapshot: ({ account, runtime }) => ({ ...runtime, ...account })
  },
  gateway: {
    // polls until the host aborts the signal; one promise chain per user keeps a user's turns in order
    startAccount: async (ctx) => {
      const section = sectionOf(ctx.cfg)
      ctx.setStatus({ ...ctx.getStatus(), accountId: ctx.accountId, running: true, connected: true })
      const chains = new Map()
      let cursor = ""
      while (!ctx.abortSignal.aborted) {
        let answer
        try {
          answer = await post(section.baseUrl, section.token, "getupdates", { get_updates_buf: cursor }, ctx.abortSignal, POLL_TIMEOUT_MS)
        } catch (error) {
          if (ctx.abortSignal.aborted) break
          if (error?.name !== "TimeoutError") await sleep(1000, ctx.abortSignal)
          continue
        }
        if (typeof answer.get_updates_buf === "string" && answer.get_updates_buf !== "") cursor = answer.get_updates_buf
        for (const message of answer.msgs ?? []) {
          const from = message.from_user_id
          const text = textOf(message)
          if (typeof from !== "string" || from === "" || typeof text !== "string") continue
          const previous = chains.get(from) ?? Promise.resolve()
          const next = previous
            .then(() => runTurn(ctx, section, message, from, text))
            .catch((error) => ctx.log?.warn?.(`race-floor: a turn for ${from} failed: ${String(error)}`))
          chains.set(from, next)
        }
      }
    }
  }
}

export default {
  id: CHANNEL_ID,
  name: "race floor channel",
  description: "Benchmark fixture: the least an iLink channel can do.",
  register(api) {
    api.registerChannel({ plugin: floorChannel })
  }
}
