/**
 * Test doubles for the iLink client: an HttpClient that records every request and answers from a
 * function, one that never answers (for timeouts in virtual time), and the pinned identity of the
 * official 2.4.9 package so golden tests can compare exact bytes.
 */
import { HttpClient } from "@effect/platform"
import { Effect, Layer, Random } from "effect"
import { PackageInfo, type PackageInfoShape } from "../../src/domain/PackageInfo.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { responseFromWeb } from "../../src/ilink/NodeHttp.js"

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

const bodyText = (body: { readonly _tag: string; readonly body?: unknown }): string | undefined =>
  body._tag === "Uint8Array" ? Buffer.from(body.body as Uint8Array).toString("utf8") : undefined

/** An HttpClient that records requests and answers with `respond`; `requests` fills as calls happen. */
export const recordingClient = (respond: (request: RecordedRequest) => CannedResponse) => {
  const requests: Array<RecordedRequest> = []
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const recorded: RecordedRequest = {
        method: request.method,
        url: url.toString(),
        headers: { ...request.headers },
        body: bodyText(request.body)
      }
      requests.push(recorded)
      const canned = respond(recorded)
      // made as our client makes its responses, so the body is read the way production reads it
      return responseFromWeb(request, new Response(canned.body, { status: canned.status ?? 200 }))
    })
  )
  const layer = ILinkApi.DefaultWithoutDependencies.pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
  return { requests, layer }
}

/** A client that answers every request with the same JSON text. */
export const answering = (body: string, status = 200) => recordingClient(() => ({ status, body }))

/** A client whose requests never complete: only a timeout ends them. */
export const neverAnswering = () => {
  let started = 0
  const client = HttpClient.make(() => Effect.sync(() => started++).pipe(Effect.zipRight(Effect.never)))
  const layer = ILinkApi.DefaultWithoutDependencies.pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
  return { layer, started: () => started }
}
