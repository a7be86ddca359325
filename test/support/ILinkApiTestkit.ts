/**
 * Test doubles for the iLink client: a transport that records every request and answers from a
 * function, one that never answers (for timeouts in virtual time), and the pinned identity of the
 * official 2.4.9 package so golden tests can compare exact bytes.
 */
import { Effect, Either, Layer, Random } from "effect"
import { PackageInfo, type PackageInfoShape } from "../../src/domain/PackageInfo.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { type ILinkAnswer, ILinkTransport, type ILinkTransportShape } from "../../src/ilink/ILinkTransport.js"
import { MAX_RESPONSE_BYTES, tooLarge } from "../../src/ilink/Transport.js"
import type { ILinkErrorScope } from "../../src/wire/ILinkError.js"

export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  /** the body text, or undefined when the request had no body */
  readonly body: string | undefined
}

export interface CannedResponse {
  readonly status?: number
  readonly body: string | Uint8Array
}

/** A getuploadurl request the client accepts; only the transport matters where it is used. */
export const uploadRequest = {
  filekey: "k",
  media_type: 1,
  to_user_id: "u",
  rawsize: 1,
  rawfilemd5: "m",
  filesize: 16,
  no_need_thumb: true,
  aeskey: "a"
} as const

export const pinnedPackage: PackageInfoShape = { name: "@tencent-weixin/openclaw-weixin", ilinkAppId: "bot" }

/** Pins the version to 2.4.9 and X-WECHAT-UIN to base64("12345"). */
export const pinned = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provideService(PackageInfo, pinnedPackage), Effect.withRandom(Random.fixed([12345])))

/**
 * The answer the node transport gives for a body of these bytes: its text, or the refusal of a body over
 * the cap (the node transport's own reading is tested against a real server in ILinkTransport.test.ts).
 */
const answerOf = (scope: ILinkErrorScope, canned: CannedResponse): ILinkAnswer => {
  const bytes = typeof canned.body === "string" ? Buffer.from(canned.body, "utf8") : Buffer.from(canned.body)
  return {
    status: canned.status ?? 200,
    body: bytes.length > MAX_RESPONSE_BYTES ? Either.left(tooLarge(scope)) : Either.right(bytes.toString("utf8"))
  }
}

/** A transport that records requests and answers with `respond`; `requests` fills as calls happen. */
export const recordingClient = (respond: (request: RecordedRequest) => CannedResponse) => {
  const requests: Array<RecordedRequest> = []
  const transport: ILinkTransportShape = {
    send: (scope, request) =>
      Effect.sync(() => {
        const recorded: RecordedRequest = {
          method: request.method,
          url: request.url.toString(),
          headers: { ...request.headers },
          body: request.body
        }
        requests.push(recorded)
        return answerOf(scope, respond(recorded))
      })
  }
  const layer = ILinkApi.DefaultWithoutDependencies.pipe(Layer.provide(Layer.succeed(ILinkTransport, transport)))
  return { requests, layer }
}

/** A transport that answers every request with the same JSON text. */
export const answering = (body: string, status = 200) => recordingClient(() => ({ status, body }))

/** A transport whose requests never complete: only a timeout ends them. */
export const neverAnswering = () => {
  let started = 0
  const transport: ILinkTransportShape = { send: () => Effect.sync(() => started++).pipe(Effect.zipRight(Effect.never)) }
  const layer = ILinkApi.DefaultWithoutDependencies.pipe(Layer.provide(Layer.succeed(ILinkTransport, transport)))
  return { layer, started: () => started }
}
