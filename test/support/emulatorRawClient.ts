/**
 * Plain-fetch helpers for driving the emulator the way a byte-compatible client would (PROTOCOL §1.3,
 * §1.4). Deliberately independent of src/: these tests check the emulator, not the product client.
 */
import { randomInt } from "node:crypto"
import { Clock, Effect } from "effect"

export const baseInfo = { channel_version: "2.4.9", bot_agent: "OpenClaw" }

export const uinHeader = (): string => Buffer.from(String(randomInt(0, 2 ** 32)), "utf8").toString("base64")

/** The header set the official plugin sends on its POST calls. */
export const botHeaders = (token?: string): Record<string, string> => ({
  "Content-Type": "application/json",
  AuthorizationType: "ilink_bot_token",
  "X-WECHAT-UIN": uinHeader(),
  "iLink-App-Id": "bot",
  "iLink-App-ClientVersion": "132105",
  ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {})
})

export interface RawResponse {
  readonly status: number
  readonly text: string
  readonly headers: Headers
  readonly bytes: Uint8Array
}

export const request = (url: string, init: RequestInit = {}): Effect.Effect<RawResponse> =>
  Effect.promise(async (signal) => {
    const response = await fetch(url, { ...init, signal })
    const bytes = new Uint8Array(await response.arrayBuffer())
    return { status: response.status, text: Buffer.from(bytes).toString("utf8"), headers: response.headers, bytes }
  })

/** Like `request`, but a transport failure (reset, refused) comes back as its message. */
export const attempt = (url: string, init: RequestInit = {}): Effect.Effect<RawResponse | { readonly failed: string }> =>
  Effect.promise(async (signal) => {
    try {
      const combined = init.signal ? AbortSignal.any([signal, init.signal]) : signal
      const response = await fetch(url, { ...init, signal: combined })
      const bytes = new Uint8Array(await response.arrayBuffer())
      return { status: response.status, text: Buffer.from(bytes).toString("utf8"), headers: response.headers, bytes }
    } catch (error) {
      return { failed: String((error as { cause?: unknown }).cause ?? error) }
    }
  })

/** POSTs a bot endpoint (path under the base URL) with the official header set and base_info. */
export const callBot = (baseUrl: string, path: string, token: string | undefined, body: Record<string, unknown>) =>
  request(new URL(path, baseUrl).toString(), {
    method: "POST",
    headers: botHeaders(token),
    body: JSON.stringify({ ...body, base_info: baseInfo })
  })

/** Parses JSON turning bare integers of message_id / msg_id / svr_id into strings (PROTOCOL §1.5). */
export const parseLossless = (text: string): any =>
  JSON.parse(text.replace(/("(?:message_id|msg_id|svr_id)"\s*:\s*)(-?\d+)/g, "$1\"$2\""))

export const sendText = (
  baseUrl: string,
  token: string,
  to: string,
  text: string,
  contextToken: string | undefined,
  clientId = `openclaw-weixin:1700000000000-${Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, "0")}`
) =>
  callBot(baseUrl, "ilink/bot/sendmessage", token, {
    msg: {
      from_user_id: "",
      to_user_id: to,
      client_id: clientId,
      message_type: 2,
      message_state: 2,
      item_list: [{ type: 1, text_item: { text } }],
      ...(contextToken !== undefined ? { context_token: contextToken } : {})
    }
  })

/** Waits until `check` yields a value, polling every 10 ms, failing after `timeoutMs`. */
export const eventually = <A>(check: Effect.Effect<A | undefined>, timeoutMs = 3_000): Effect.Effect<A> =>
  Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    while (true) {
      const value = yield* check
      if (value !== undefined) return value
      if ((yield* Clock.currentTimeMillis) > deadline) return yield* Effect.dieMessage(`condition not met within ${timeoutMs} ms`)
      yield* Effect.sleep("10 millis")
    }
  })
