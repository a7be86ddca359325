/**
 * The browser phone's server: a small node:http server on 127.0.0.1 that serves the page (static/, plain
 * HTML and an ES module, no build step) and a JSON API the page calls. It talks to the emulator only over
 * the emulator's admin HTTP API (sandbox/emulator/Emulator.ts lists the routes), as any outside tool would,
 * and runs `openclaw channels login` (LoginProcess.ts) when the page asks for a login.
 *
 *   GET  /api/state                  personas, logged-in accounts (with how they poll), the switches, the current login
 *   POST /api/login                  start `openclaw channels login` (one at a time)
 *   POST /api/login/input {text}     type a line into the login (the number the phone shows)
 *   POST /api/phone/scan {userId, verifyCode?: boolean}   the persona's phone scans the login QR
 *   POST /api/phone/confirm {userId} the phone confirms the login
 *   POST /api/personas               one more WeChat user
 *   GET  /api/chat?botId=&userId=    the conversation: messages with receipt states, typing
 *   POST /api/chat {botId, userId, text, quote?: {serverId, text}}   the persona sends a text (quoting a message by id)
 *   POST /api/chat/media {botId, userId, fileName, contentType, base64}   a picture (image/*) or a file
 *   GET  /api/media?botId=&clientId=&index=   the bytes of a picture or file the bot sent (what the CDN decrypted)
 *   GET  /api/qr.svg?text=           a QR code of `text`, as SVG
 *   POST /api/faults/switch {name, on}     the fault switches (FAULT_SWITCHES, and the redelivery storm)
 *   POST /api/faults/expire-session {botId}  the server expires the bot's login (−14) until a new QR login
 *   GET  /api/gateway                the gateway's pid, restart and status (GatewayControl.ts)
 *   POST /api/gateway/status         run `openclaw channels status --probe`
 *   POST /api/gateway/restart        restart the gateway
 *   *    /api/admin/<route>          passed through to the emulator's admin API
 */
import { Effect, type Scope } from "effect"
import * as Fs from "node:fs/promises"
import * as Http from "node:http"
import { text as readText } from "node:stream/consumers"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import QRCode from "qrcode"
import { type Conversation, makeConversations } from "./Conversations.js"
import type { GatewayControl } from "./GatewayControl.js"
import type { LoginRun } from "./LoginProcess.js"

export interface PhoneServerOptions {
  /** 0: any free port */
  readonly port: number
  /** the emulator's admin URL, e.g. http://127.0.0.1:PORT/admin */
  readonly adminUrl: string
  readonly startLogin: () => LoginRun
  /** ids of the accounts the plugin has stored */
  readonly storedAccountIds: () => Promise<ReadonlyArray<string>>
  /** the plugin's account id for an emulator bot id */
  readonly accountIdOf: (botId: string) => string
  readonly gateway: GatewayControl
}

export interface PhoneServer {
  readonly url: string
  readonly port: number
}

export interface Persona {
  readonly userId: string
  readonly name: string
}

const staticDir = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "static")
const staticFiles: Readonly<Record<string, readonly [string, string]>> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/phone.js": ["phone.js", "text/javascript; charset=utf-8"],
  "/phone.css": ["phone.css", "text/css; charset=utf-8"]
}

const SLOW_CDN_MS = 4_000

/** Switches the page offers, as emulator fault plans that hold until switched off. */
const FAULT_SWITCHES = {
  "network-down": [{ endpoint: "getupdates", fault: { kind: "http", status: 503 } }],
  "rate-limit": [{ endpoint: "sendmessage", fault: { kind: "rate_limited" } }],
  // every CDN answer (a picture's upload and download) waits before it starts
  "slow-cdn": [
    { endpoint: "cdn_upload", fault: { kind: "delay", ms: SLOW_CDN_MS } },
    { endpoint: "cdn_download", fault: { kind: "delay", ms: SLOW_CDN_MS } }
  ]
} as const

/**
 * The redelivery storm: while it is on, the emulator delivers the persona's latest messages again (same
 * message_id, new seq) every STORM_EVERY_MS, as a server that lost track of its cursor would. The
 * plugin's inbox must answer each message once.
 */
const STORM = "redelivery-storm"
const STORM_EVERY_MS = 1_500
const STORM_MESSAGES = 3

const personaNames = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"]

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}


/** What the browser needs to show a picture inline: its type from its first bytes, else from its name. */
const contentTypeOf = (bytes: Buffer, name: string): string => {
  if (bytes.subarray(0, 8).equals(Buffer.from("89504e470d0a1a0a", "hex"))) return "image/png"
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg"
  if (bytes.subarray(0, 4).toString("latin1") === "GIF8") return "image/gif"
  if (bytes.subarray(0, 4).toString("latin1") === "RIFF" && bytes.subarray(8, 12).toString("latin1") === "WEBP") return "image/webp"
  if (bytes.subarray(4, 8).toString("latin1") === "ftyp") return "video/mp4"
  if (/\.(txt|md|csv|log)$/i.test(name)) return "text/plain; charset=utf-8"
  if (/\.pdf$/i.test(name)) return "application/pdf"
  return "application/octet-stream"
}

/**
 * How an account polls, as the server sees it: when its latest getupdates began and how many began in the
 * last minute. A long-poll is held for half a minute; faster polls are retries (their spacing is the
 * backoff), and none at all for long is a parked account (−14).
 */
export const pollingOf = (
  requests: ReadonlyArray<{ readonly at: number; readonly headers: Readonly<Record<string, string>> }>,
  token: string,
  now: number
): { readonly lastBeganMsAgo: number | null; readonly lastMinute: number } => {
  const times = requests.filter((request) => request.headers["authorization"] === `Bearer ${token}`).map((request) => request.at)
  const last = times.at(-1)
  return { lastBeganMsAgo: last === undefined ? null : now - last, lastMinute: times.filter((at) => at > now - 60_000).length }
}

const parseJson = (text: string): Record<string, unknown> => {
  if (text.trim() === "") return {}
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new HttpError(400, "the body must be a JSON object")
  return parsed as Record<string, unknown>
}

const stringField = (body: Record<string, unknown>, key: string): string => {
  const value = body[key]
  if (typeof value !== "string" || value === "") throw new HttpError(400, `${key} is required`)
  return value
}

export const startPhoneServer = (options: PhoneServerOptions): Effect.Effect<PhoneServer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const admin = async (method: "GET" | "POST", route: string, body?: unknown): Promise<unknown> => {
      const response = await fetch(`${options.adminUrl}${route}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
      })
      const text = await response.text()
      const parsed: unknown = text === "" ? {} : JSON.parse(text)
      if (!response.ok) {
        const message = (parsed as { message?: string }).message ?? text
        throw new HttpError(response.status, message)
      }
      return parsed
    }
    const conversations = makeConversations(admin)

    const personas: Array<Persona> = []
    const addPersona = async (): Promise<Persona> => {
      const name = personaNames[personas.length] ?? `User ${personas.length + 1}`
      const { userId } = (await admin("POST", "/users", { userId: `${name.toLowerCase().replace(/\s+/g, "")}@im.wechat` })) as { userId: string }
      const persona = { userId, name }
      personas.push(persona)
      return persona
    }
    yield* Effect.tryPromise({ try: addPersona, catch: (error) => new Error(`adding the first persona failed: ${String(error)}`) })

    const switchesOn = new Set<keyof typeof FAULT_SWITCHES>()
    // the redelivery storm: a timer in this server that asks the emulator to redeliver, while it is on
    let storm: NodeJS.Timeout | undefined
    // how many redeliveries the storm asked for, so the page (and a test) sees it blowing
    let stormRedelivered = 0
    const redeliverRecent = async () => {
      for (const { botId, serverId } of conversations.recentServerIds(STORM_MESSAGES)) {
        await admin("POST", "/redeliver", { botId, messageId: serverId })
        stormRedelivered += 1
      }
    }
    const setStorm = (on: boolean) => {
      if (on && storm === undefined) {
        storm = setInterval(() => void redeliverRecent().catch(() => undefined), STORM_EVERY_MS)
      } else if (!on && storm !== undefined) {
        clearInterval(storm)
        storm = undefined
      }
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => setStorm(false)))
    const switchNames = () => [...switchesOn, ...(storm === undefined ? [] : [STORM])]
    // bots whose login the page expired: a scan by their owner logs that bot in again instead of
    // being refused as "already connected"
    const expired = new Set<string>()

    // the login the page started last, and the newest QR code that existed before it (so an old one is not shown)
    let login: { readonly run: LoginRun; readonly qrBefore: string | undefined } | undefined
    const latestQr = async (): Promise<{ qrcode: string; imageUrl: string; status: string } | undefined> => {
      try {
        return (await admin("GET", "/qr")) as { qrcode: string; imageUrl: string; status: string }
      } catch {
        return undefined
      }
    }
    const currentQr = async () => {
      if (login === undefined) return undefined
      const qr = await latestQr()
      return qr === undefined || qr.qrcode === login.qrBefore ? undefined : qr
    }
    const requireQr = async () => {
      const qr = await currentQr()
      if (qr === undefined) throw new HttpError(409, "no login QR code to scan yet")
      return qr
    }

    const expiredBotOf = async (userId: string) => {
      const bots = (await admin("GET", "/bots")) as ReadonlyArray<{ botId: string; ownerUserId: string }>
      return bots.find((bot) => bot.ownerUserId === userId && expired.has(bot.botId))?.botId
    }

    const state = async () => {
      const [bots, { requests }, { now }] = (await Promise.all([
        admin("GET", "/bots"),
        admin("GET", "/requests?endpoint=getupdates"),
        admin("GET", "/clock")
      ])) as [
        ReadonlyArray<{ botId: string; token: string; ownerUserId: string }>,
        { requests: ReadonlyArray<{ at: number; headers: Readonly<Record<string, string>> }> },
        { now: number }
      ]
      const stored = new Set(await options.storedAccountIds())
      const accounts = bots
        .filter((bot) => stored.has(options.accountIdOf(bot.botId)))
        .map((bot) => ({
          botId: bot.botId,
          accountId: options.accountIdOf(bot.botId),
          ownerUserId: bot.ownerUserId,
          polling: pollingOf(requests, bot.token, now)
        }))
      const exitCode = login?.run.exitCode()
      return {
        personas,
        accounts,
        switches: switchNames(),
        redelivered: stormRedelivered,
        expired: [...expired],
        login: login === undefined
          ? null
          : {
            id: login.run.id,
            running: exitCode === undefined,
            exitCode: exitCode ?? null,
            output: login.run.output(),
            qr: (await currentQr()) ?? null
          }
      }
    }

    const route = async (
      method: string,
      url: URL,
      bodyText: string
    ): Promise<{ status?: number; type?: string; body: string | Buffer; headers?: Record<string, string> }> => {
      const json = (value: unknown) => ({ type: "application/json; charset=utf-8", body: JSON.stringify(value) })
      const body = () => parseJson(bodyText)
      const file = staticFiles[url.pathname]
      if (method === "GET" && file !== undefined) {
        return { type: file[1], body: await Fs.readFile(Path.join(staticDir, file[0])) }
      }
      const key = `${method} ${url.pathname}`
      switch (key) {
        case "GET /api/state":
          return json(await state())
        case "POST /api/login": {
          if (login === undefined || login.run.exitCode() !== undefined) {
            const before = await latestQr()
            login = { run: options.startLogin(), qrBefore: before?.qrcode }
          }
          return json(await state())
        }
        case "POST /api/login/input": {
          if (login === undefined || login.run.exitCode() !== undefined) throw new HttpError(409, "no login is running")
          login.run.write(stringField(body(), "text"))
          return json({ ok: true })
        }
        case "POST /api/phone/scan": {
          const input = body()
          const qr = await requireQr()
          const userId = stringField(input, "userId")
          // the emulator answers "already connected" to a scan by a bot's owner; an expired bot is not connected
          const relogin = await expiredBotOf(userId)
          await admin("POST", "/qr/scan", relogin === undefined ? { qrcode: qr.qrcode, userId } : { qrcode: qr.qrcode })
          if (input["verifyCode"] === true) {
            const code = String(10 + Math.floor(Math.random() * 90))
            await admin("POST", "/qr/verify-code", { qrcode: qr.qrcode, code })
            return json({ verifyCode: code })
          }
          return json({ verifyCode: null })
        }
        case "POST /api/phone/confirm": {
          const input = body()
          const qr = await requireQr()
          const userId = stringField(input, "userId")
          const relogin = await expiredBotOf(userId)
          const bot = (await admin("POST", "/qr/confirm", { qrcode: qr.qrcode, userId, ...(relogin === undefined ? {} : { botId: relogin }) })) as {
            botId: string
            ownerUserId: string
          }
          if (relogin !== undefined) expired.delete(relogin)
          // a terminal login keeps reading its stdin after a verify code was typed; it asks nothing more now
          login?.run.endInput()
          return json({ botId: bot.botId, ownerUserId: bot.ownerUserId })
        }
        case "POST /api/faults/switch": {
          const input = body()
          const name = stringField(input, "name")
          const on = input["on"] === true
          if (name === STORM) {
            setStorm(on)
            return json({ switches: switchNames() })
          }
          if (!(name in FAULT_SWITCHES)) throw new HttpError(400, `no fault switch ${name}`)
          const key = name as keyof typeof FAULT_SWITCHES
          const plans = FAULT_SWITCHES[key]
          for (const plan of plans) await admin("POST", "/faults/clear", { endpoint: plan.endpoint })
          if (on) {
            for (const plan of plans) await admin("POST", "/faults", plan)
            switchesOn.add(key)
          } else {
            switchesOn.delete(key)
          }
          return json({ switches: switchNames() })
        }
        case "POST /api/faults/expire-session": {
          const botId = stringField(body(), "botId")
          await admin("POST", "/expire-session", { botId })
          expired.add(botId)
          return json({ expired: [...expired] })
        }
        case "GET /api/gateway":
          return json(options.gateway.snapshot())
        case "POST /api/gateway/status":
          options.gateway.checkStatus()
          return json(options.gateway.snapshot())
        case "POST /api/gateway/restart":
          options.gateway.restart()
          return json(options.gateway.snapshot())
        case "POST /api/personas":
          return json(await addPersona())
        case "GET /api/chat": {
          const botId = url.searchParams.get("botId") ?? ""
          const userId = url.searchParams.get("userId") ?? ""
          const conversation: Conversation = await conversations.read(botId, userId)
          return json(conversation)
        }
        case "POST /api/chat": {
          const input = body()
          const quote = input["quote"]
          const quoted = typeof quote === "object" && quote !== null ? (quote as Record<string, unknown>) : undefined
          return json(
            await conversations.sendText(
              stringField(input, "botId"),
              stringField(input, "userId"),
              stringField(input, "text"),
              quoted === undefined ? undefined : { serverId: stringField(quoted, "serverId"), text: String(quoted["text"] ?? "") }
            )
          )
        }
        case "GET /api/media": {
          const index = Number(url.searchParams.get("index") ?? "0")
          const item = await conversations.media(url.searchParams.get("botId") ?? "", url.searchParams.get("clientId") ?? "", index)
          if (item === undefined) throw new HttpError(404, "the bot sent no such media (or the server did not deliver it)")
          const name = item.fileName ?? (item.kind === "image" ? "picture" : item.kind)
          return {
            type: contentTypeOf(item.bytes, name),
            body: item.bytes,
            headers: {
              // what the bot sent never changes
              "cache-control": "private, max-age=3600, immutable",
              ...(item.kind === "file" ? { "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(name)}` } : {})
            }
          }
        }
        case "POST /api/chat/media": {
          const input = body()
          return json(
            await conversations.sendMedia(
              stringField(input, "botId"),
              stringField(input, "userId"),
              stringField(input, "fileName"),
              typeof input["contentType"] === "string" ? input["contentType"] : "application/octet-stream",
              stringField(input, "base64")
            )
          )
        }
        case "GET /api/qr.svg": {
          const text = url.searchParams.get("text") ?? ""
          if (text === "") throw new HttpError(400, "text is required")
          return { type: "image/svg+xml", body: await QRCode.toString(text, { type: "svg", margin: 2, errorCorrectionLevel: "M" }) }
        }
      }
      if (url.pathname.startsWith("/api/admin/") && (method === "GET" || method === "POST")) {
        const rest = `${url.pathname.slice("/api/admin".length)}${url.search}`
        return json(await admin(method, rest, method === "POST" ? body() : undefined))
      }
      throw new HttpError(404, `no route ${key}`)
    }

    let port = 0
    const server = Http.createServer((request, response) => {
      const host = request.headers.host ?? ""
      // the page is for this machine only: refuse names other than loopback (DNS rebinding)
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
        response.writeHead(403, { "content-type": "text/plain" }).end("forbidden host")
        return
      }
      const url = new URL(request.url ?? "/", `http://127.0.0.1:${port}`)
      readText(request)
        .then((bodyText) => route(request.method ?? "GET", url, bodyText))
        .then(
          (reply) => {
            response
              .writeHead(reply.status ?? 200, { "content-type": reply.type ?? "text/plain", "cache-control": "no-store", ...reply.headers })
              .end(reply.body)
          },
          (error: unknown) => {
            const status = error instanceof HttpError ? error.status : error instanceof SyntaxError ? 400 : 500
            const message = error instanceof Error ? error.message : String(error)
            response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error: message }))
          }
        )
    })
    yield* Effect.acquireRelease(
      Effect.async<void, Error>((resume) => {
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(options.port, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    port = typeof address === "object" && address !== null ? address.port : 0
    return { url: `http://127.0.0.1:${port}/`, port }
  })
