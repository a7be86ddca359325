/**
 * The admin HTTP API under /admin: the same verbs as the in-process controls, as JSON, so tools
 * outside the test process (curl, the e2e gateway harness) can drive the emulator.
 * The route table is documented in Emulator.ts.
 */
import { Effect, Schema } from "effect"
import type { ConfirmOptions } from "./QrHttp.js"
import type { Controls } from "./Controls.js"
import { FaultPlan } from "./Faults.js"
import { EmulatorControlError } from "./ControlError.js"
import type { InboundSpec } from "./InboundMessages.js"
import type { EndpointName } from "./Records.js"
import { json, type Reply } from "./Reply.js"
import type { AdminHandler, AdminRequest } from "./Server.js"

type Body = Record<string, unknown>

const optionalString = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

const parseBody = (request: AdminRequest): Body | undefined => {
  if (request.bodyText.trim() === "") return {}
  try {
    const parsed: unknown = JSON.parse(request.bodyText)
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Body) : undefined
  } catch {
    return undefined
  }
}

const ok = (value: unknown = { ok: true }): Reply => json(value)

const bytesAsBase64 = (value: Uint8Array | undefined) => (value === undefined ? undefined : Buffer.from(value).toString("base64"))

export const makeAdmin = (controls: Controls): AdminHandler => (request) => {
  const body = parseBody(request)
  if (body === undefined) {
    return Effect.succeed(json({ error: "BadRequest", message: "admin requests take a JSON object body" }, 400))
  }
  const s = (key: string) => optionalString(body[key]) ?? request.query[key]
  const route = `${request.method} ${request.path.replace(/\/$/, "")}`
  const run = (): Effect.Effect<Reply, unknown> => {
    switch (route) {
      case "GET ":
      case "GET /help":
        return Effect.succeed(ok({ see: "module comment of sandbox/emulator/Emulator.ts for the admin routes" }))
      case "GET /bots":
        return Effect.map(controls.bots, ok)
      case "POST /bots":
        return Effect.map(controls.addBot(body as { botId?: string; token?: string; ownerUserId?: string }), ok)
      case "POST /users":
        return Effect.map(controls.addUser(s("userId")), (userId) => ok({ userId }))
      case "POST /inject":
        return Effect.map(controls.injectInbound(body as unknown as InboundSpec), (injected) => ok(injected))
      case "POST /redeliver": {
        const delayMs = typeof body["delayMs"] === "number" ? body["delayMs"] : undefined
        return Effect.map(
          controls.redeliver(s("botId") ?? "", s("messageId") ?? "", delayMs !== undefined ? { delayMs } : {}),
          () => ok()
        )
      }
      case "POST /ignore-cursor-once":
        return Effect.map(controls.ignoreCursorOnce(s("botId") ?? ""), () => ok())
      case "GET /sent":
        return Effect.map(controls.sent(s("botId")), (sent) => ok({ sent }))
      case "GET /typing":
        return Effect.map(controls.typingEvents(s("botId")), (typing) => ok({ typing }))
      case "GET /notifications":
        return Effect.map(controls.notifications(s("botId")), (notifications) => ok({ notifications }))
      case "GET /requests":
        return Effect.map(controls.requests(s("endpoint") as EndpointName | undefined), (requests) => ok({ requests }))
      case "GET /violations":
        return Effect.map(controls.violations(), (violations) => ok({ violations }))
      case "POST /violations/clear":
        return Effect.map(controls.clearViolations, () => ok())
      case "GET /faults":
        return Effect.map(controls.faults, (faults) => ok({ faults }))
      case "POST /faults":
        return Schema.decodeUnknown(FaultPlan)(body, { onExcessProperty: "error" }).pipe(
          Effect.mapError((error) => new EmulatorControlError({ verb: "setFault", message: `not a fault plan: ${error.message}` })),
          Effect.flatMap(controls.setFault),
          Effect.as(ok())
        )
      case "POST /faults/clear":
        return Effect.map(controls.clearFaults(s("endpoint") as EndpointName | undefined), () => ok())
      case "POST /expire-session":
        return Effect.map(controls.expireSession(s("botId") ?? "", s("via") === "errcode" ? "errcode" : "ret"), () => ok())
      case "POST /invalidate-context-tokens":
        return Effect.map(controls.invalidateContextTokens(s("botId") ?? "", s("userId")), () => ok())
      case "GET /conversation":
        return Effect.map(controls.conversation(s("botId") ?? "", s("userId") ?? ""), ok)
      case "POST /clock/advance":
        return Effect.map(controls.advanceClock(typeof body["ms"] === "number" ? body["ms"] : Number.NaN), () => ok())
      case "GET /clock":
        return Effect.map(controls.now, (now) => ok({ now }))
      case "GET /qr":
        return Effect.map(controls.qr.info(s("qrcode")), ok)
      case "POST /qr/scan":
        return Effect.map(controls.qr.scan(s("qrcode"), s("userId") !== undefined ? { userId: s("userId") as string } : {}), () => ok())
      case "POST /qr/confirm":
        return Effect.map(controls.qr.confirm(s("qrcode"), body as ConfirmOptions), ok)
      case "POST /qr/auto-confirm-next":
        return Effect.map(controls.qr.autoConfirmNextAs(s("botId") ?? ""), () => ok())
      case "POST /qr/verify-code":
        return Effect.map(
          controls.qr.requireVerifyCode(s("qrcode"), s("code") ?? "", typeof body["maxWrong"] === "number" ? body["maxWrong"] : 3),
          () => ok()
        )
      case "POST /qr/expire":
        return Effect.map(controls.qr.expire(s("qrcode")), () => ok())
      case "POST /qr/redirect":
        return Effect.map(controls.qr.redirect(s("qrcode"), s("host") ?? ""), () => ok())
      case "POST /qr/already-bound":
        return Effect.map(controls.qr.alreadyBound(s("qrcode")), () => ok())
      case "GET /cdn/uploads":
        return Effect.map(controls.cdn.uploads(s("botId")), (uploads) =>
          ok({
            uploads: uploads.map((u) => ({ ...u, ciphertext: bytesAsBase64(u.ciphertext), plaintext: bytesAsBase64(u.plaintext) }))
          })
        )
      case "GET /cdn/sent-media":
        return Effect.map(controls.cdn.sentMedia(s("botId") ?? ""), (sentMedia) =>
          ok({ sentMedia: sentMedia.map((m) => ({ ...m, plaintext: bytesAsBase64(m.plaintext) })) })
        )
      case "GET /cdn/downloads":
        return Effect.map(controls.cdn.downloads(), (downloads) => ok({ downloads }))
      default:
        return Effect.succeed(json({ error: "NotFound", message: `no admin route ${route}; GET ${"/admin/help"}` }, 404))
    }
  }
  return Effect.suspend(run).pipe(
    Effect.catchAll((error) => {
      const tagged = error as { _tag?: string; message?: string }
      return Effect.succeed(json({ error: tagged._tag ?? "Error", message: tagged.message ?? String(error) }, 400))
    }),
    Effect.catchAllDefect((defect) => Effect.succeed(json({ error: "BadRequest", message: String(defect) }, 400)))
  )
}
