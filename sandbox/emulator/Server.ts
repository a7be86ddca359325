/**
 * The HTTP front: routes each request to an endpoint, records it, validates it, applies the fault
 * plan, and writes the reply. Built on node:http; each request runs as a fiber on Effect's live
 * runtime, tracked so closing the emulator interrupts hanging polls and closes every socket.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Fiber, FiberId, Runtime, type Scope } from "effect"
import { bearerToken, handleApi, type IncomingCall, recordSend } from "./Api.js"
import { handleCdn } from "./CdnHttp.js"
import type { Fault } from "./Faults.js"
import type { EndpointName } from "./Records.js"
import { json, text, type Reply } from "./Reply.js"
import type { EmulatorState } from "./State.js"
import { checkBody, checkHeaders } from "./Validation.js"
import { writeJson } from "./WireJson.js"

const routes: Record<string, EndpointName> = {
  "/ilink/bot/getupdates": "getupdates",
  "/ilink/bot/sendmessage": "sendmessage",
  "/ilink/bot/sendtyping": "sendtyping",
  "/ilink/bot/getconfig": "getconfig",
  "/ilink/bot/getuploadurl": "getuploadurl",
  "/ilink/bot/msg/notifystart": "notifystart",
  "/ilink/bot/msg/notifystop": "notifystop",
  "/ilink/bot/get_bot_qrcode": "get_bot_qrcode",
  "/ilink/bot/get_qrcode_status": "get_qrcode_status",
  "/c2c/upload": "cdn_upload",
  "/c2c/download": "cdn_download"
}

export interface AdminRequest {
  readonly method: string
  /** Path below /admin, e.g. "/inject". */
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly bodyText: string
}

export type AdminHandler = (request: AdminRequest) => Effect.Effect<Reply>

/** Faults the endpoint handlers apply themselves, so the normal bookkeeping still happens. */
const handlerFaults: ReadonlySet<Fault["kind"]> = new Set(["no_message_id", "rate_limited", "missing_encrypted_param", "cdn_body", "oversize"])

const readBody = (req: Http.IncomingMessage): Effect.Effect<Buffer> =>
  Effect.async<Buffer>((resume) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resume(Effect.succeed(Buffer.concat(chunks))))
    req.on("error", () => resume(Effect.succeed(Buffer.concat(chunks))))
  })

const flatHeaders = (req: Http.IncomingMessage): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return headers
}

/** Writes the reply; "hang" when a framed reply leaves the connection open on purpose. */
const write = (req: Http.IncomingMessage, res: Http.ServerResponse, reply: Reply, cut = false): "done" | "hang" => {
  if (reply._tag === "Reset") {
    req.socket.destroy()
    return "done"
  }
  // bytes are sent as they are, without a copy: a 100 MB media object must not cost the process 100 MB more
  const body = reply._tag === "Json"
    ? Buffer.from(writeJson(reply.body), "utf8")
    : typeof reply.body === "string"
    ? Buffer.from(reply.body, "utf8")
    : Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength)
  const payload = cut ? body.subarray(0, Math.max(1, Math.floor(body.length / 2))) : body
  const contentType = reply._tag === "Json" ? "application/json" : reply.contentType
  const framing = reply._tag === "Bytes" ? reply.framing : undefined
  const declared = framing?.declare ?? payload.length
  res.writeHead(reply.status ?? 200, {
    "content-type": contentType,
    ...(declared === "none" ? {} : { "content-length": declared }),
    ...reply.headers
  })
  if (framing?.cut === undefined) {
    res.end(payload)
    return "done"
  }
  const { after, then } = framing.cut
  res.write(payload.subarray(0, after), () => {
    if (then === "close") req.socket.destroy()
  })
  return then === "hang" ? "hang" : "done"
}

/** Replies for faults that replace the answer entirely. */
const faultReply = (fault: Fault): Reply | "hang" | undefined => {
  switch (fault.kind) {
    case "http":
      return text(fault.body ?? `emulated HTTP ${fault.status}`, fault.status, "text/plain; charset=utf-8",
        fault.errorMessageHeader !== undefined ? { "x-error-message": fault.errorMessageHeader } : undefined)
    case "ret":
      return json({ ret: fault.ret, errcode: fault.errcode, errmsg: fault.errmsg })
    case "hang":
      return "hang"
    case "reset":
      return { _tag: "Reset" }
    case "malformed_json":
      return text("{ret: 0, msgs: [oops", 200, "application/json")
    case "html_error":
      return text("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>", 200, "text/html")
    case "huge_body":
      return text(`{"ret":0,"padding":"${"x".repeat(Math.max(0, (fault.bytes ?? 8 * 1024 * 1024) - 24))}"}`, 200, "application/json")
    case "wrong_shape":
      return json({
        ret: "0",
        errcode: "none",
        errmsg: 42,
        msgs: "no messages",
        get_updates_buf: 12345,
        longpolling_timeout_ms: "soon",
        message_id: "not-a-number",
        typing_ticket: 7,
        upload_param: 8,
        upload_full_url: 9,
        qrcode: 10,
        qrcode_img_content: 11,
        status: 12
      })
    case "session_expired":
      return (fault.via ?? "ret") === "ret" ? json({ ret: -14, errmsg: "session timeout" }) : json({ errcode: -14, errmsg: "session timeout" })
    default:
      return undefined
  }
}

const handleEndpoint = (
  state: EmulatorState,
  endpoint: EndpointName,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  url: URL,
  rawBody: Buffer,
  headers: Record<string, string>
) =>
  Effect.gen(function*() {
    const query = Object.fromEntries(url.searchParams)
    const method = req.method ?? "GET"
    const bodyText = rawBody.toString("utf8")
    for (const problem of checkHeaders(endpoint, method, headers)) yield* state.violate(endpoint, problem.rule, problem.detail)
    const uin = headers["x-wechat-uin"]
    if (uin !== undefined) {
      // The nonce is fresh per request; two equal in a row means the client reuses it.
      if (uin === state.lastUin) yield* state.violate(endpoint, "x-wechat-uin", "X-WECHAT-UIN repeated from the previous request; it must be fresh per request")
      state.lastUin = uin
    }
    const { body, problems } = checkBody(endpoint, bodyText, query)
    for (const problem of problems) yield* state.violate(endpoint, problem.rule, problem.detail)

    const fault = state.faults.take(endpoint, state.directory.botByToken(bearerToken(headers))?.botId)
    if (fault?.kind === "delay") yield* Effect.sleep(`${fault.ms} millis`)
    const call: IncomingCall = {
      endpoint,
      method,
      query,
      headers,
      rawBody,
      bodyText,
      body,
      fault: fault !== undefined && handlerFaults.has(fault.kind) ? fault : undefined
    }
    const replaced = fault === undefined ? undefined : faultReply(fault)
    if (replaced !== undefined) {
      if (endpoint === "sendmessage") {
        const botId = state.directory.botByToken(bearerToken(headers))?.botId ?? "(unknown token)"
        recordSend(state, call, yield* state.clock.now, botId, "fault", undefined, `fault ${fault?.kind}`)
      }
      if (replaced === "hang") return yield* Effect.never
      write(req, res, replaced)
      return
    }
    const reply = endpoint === "cdn_upload" || endpoint === "cdn_download" ? yield* handleCdn(state, call) : yield* handleApi(state, call)
    if (write(req, res, reply, fault?.kind === "truncated_json") === "hang") return yield* Effect.never
  })

const handleRequest = (state: EmulatorState, admin: AdminHandler, req: Http.IncomingMessage, res: Http.ServerResponse) =>
  Effect.gen(function*() {
    const url = new URL(req.url ?? "/", state.origin)
    const rawBody = yield* readBody(req)
    const headers = flatHeaders(req)
    const endpoint = routes[url.pathname]
    const isAdmin = url.pathname === "/admin" || url.pathname.startsWith("/admin/")
    const isCdnUpload = endpoint === "cdn_upload"
    // The log holds protocol traffic only; admin calls are the test talking to itself.
    if (!isAdmin) {
      state.requests.push({
        at: yield* state.clock.now,
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: isCdnUpload ? rawBody.toString("base64") : rawBody.toString("utf8"),
        bodyEncoding: isCdnUpload ? "base64" : "utf8",
        endpoint: endpoint ?? "unknown"
      })
    }
    if (isAdmin) {
      const reply = yield* admin({
        method: req.method ?? "GET",
        path: url.pathname.slice("/admin".length) || "/",
        query: Object.fromEntries(url.searchParams),
        bodyText: rawBody.toString("utf8")
      })
      write(req, res, reply)
      return
    }
    if (url.pathname === "/qr" && req.method === "GET") {
      // qrcode_img_content points here; a real client only renders the URL, but a browser may open it
      write(req, res, text(`emulated WeChat login QR ${url.searchParams.get("qrcode") ?? ""}; drive it with ${state.adminUrl}/qr/*`, 200))
      return
    }
    if (endpoint === undefined) {
      yield* state.violate("unknown", "path", `no such endpoint: ${req.method} ${url.pathname}`)
      write(req, res, text("not found", 404))
      return
    }
    yield* handleEndpoint(state, endpoint, req, res, url, rawBody, headers)
  }).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.sync(() => {
        // An emulator bug must not look like a server answer the client could trust.
        if (!res.headersSent) write(req, res, text(`emulator defect: ${String(defect)}`, 500))
      })
    )
  )

/** Starts the HTTP server on 127.0.0.1; closing the scope releases every request and socket. */
export const serve = (state: EmulatorState, admin: AdminHandler): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const inFlight = new Set<Fiber.RuntimeFiber<void>>()
    const runFork = Runtime.runFork(Runtime.defaultRuntime)
    const server = Http.createServer((req, res) => {
      const fiber = runFork(handleRequest(state, admin, req, res))
      inFlight.add(fiber)
      fiber.addObserver(() => inFlight.delete(fiber))
      // A client that gives up (timeout, abort) releases its held poll.
      res.on("close", () => {
        if (!res.writableFinished) fiber.unsafeInterruptAsFork(FiberId.none)
      })
    })
    server.keepAliveTimeout = 5_000
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.once("error", (error) => resume(Effect.dieMessage(`emulator could not listen on 127.0.0.1:${state.options.port}: ${error.message}`)))
        server.listen(state.options.port, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.gen(function*() {
          yield* Fiber.interruptAll([...inFlight])
          server.closeAllConnections()
          yield* Effect.async<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
        })
    )
    const address = server.address() as AddressInfo
    state.origin = `http://127.0.0.1:${address.port}`
  })

