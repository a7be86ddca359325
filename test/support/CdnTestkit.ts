/**
 * Test doubles for the CDN client: an HttpClient that records every CDN request (with its body bytes)
 * and answers from a script, with bodies the test controls chunk by chunk (for idle timeouts in virtual
 * time), and an ILinkApi whose getuploadurl answers from a function.
 */
import { HttpClient } from "@effect/platform"
import { RequestError } from "@effect/platform/HttpClientError"
import { Chunk, Clock, Duration, Effect, Fiber, Layer, Option, Stream, TestClock } from "effect"
import { expect } from "vitest"
import { CdnTransport } from "../../src/ilink/CdnTransport.js"
import { responseFromWeb } from "../../src/ilink/NodeHttp.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import type { GetUploadUrlRequest, GetUploadUrlResponse } from "../../src/wire/Api.js"

export interface CdnRequest {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  /** the body bytes (a streamed body is read to the end before the answer) */
  readonly body: Buffer | undefined
  /** when the request arrived, by the Clock (virtual time under TestClock) */
  readonly at: number
}

/** What the fake CDN answers: a status with headers and a body, or nothing ever. */
export type CdnAnswer =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: Uint8Array | ReadableStream<Uint8Array> }
  | "never"

/** A body that sends `chunks`, then either ends or stays open forever (a stalled transfer). */
export const bodyOf = (chunks: ReadonlyArray<Uint8Array>, then: "end" | "stall" = "end"): ReadableStream<Uint8Array> =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      if (then === "end") controller.close()
    }
  })

/** A body that sends `chunks`, then breaks off with a socket error. */
export const brokenBodyOf = (chunks: ReadonlyArray<Uint8Array>): ReadableStream<Uint8Array> => {
  let next = 0
  // one chunk per pull: an error raised while chunks are queued would discard them
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++]
      if (chunk !== undefined) controller.enqueue(chunk)
      else controller.error(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }))
    }
  })
}

export const fakeCdn = (answer: (request: CdnRequest, index: number) => CdnAnswer) => {
  const requests: Array<CdnRequest> = []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = request.body._tag === "Stream"
        ? yield* Stream.runCollect(request.body.stream).pipe(
          Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks))),
          Effect.mapError((cause) => new RequestError({ request, reason: "Transport", cause }))
        )
        : request.body._tag === "Uint8Array"
        ? Buffer.from(request.body.body)
        : undefined
      const at = yield* Clock.currentTimeMillis
      const recorded: CdnRequest = { method: request.method, url: url.toString(), headers: { ...request.headers }, body, at }
      requests.push(recorded)
      const answered = answer(recorded, requests.length - 1)
      if (answered === "never") return yield* Effect.never
      const response = new Response(answered.body ?? null, {
        status: answered.status,
        ...(answered.headers === undefined ? {} : { headers: answered.headers })
      })
      return responseFromWeb(request, response)
    })
  )
  return { requests, layer: CdnTransport.layerTest(client) }
}

/** An ILinkApi whose getuploadurl answers with `answer`; every other endpoint is a defect if called. */
type UploadUrlError = Effect.Effect.Error<ReturnType<ILinkApi["getUploadUrl"]>>

export const uploadUrlApi = (answer: (request: GetUploadUrlRequest) => Effect.Effect<GetUploadUrlResponse, UploadUrlError>) => {
  const calls: Array<GetUploadUrlRequest> = []
  const unused = () => Effect.dieMessage("the CDN client calls only getuploadurl")
  const api = ILinkApi.make({
    getUpdates: unused,
    sendMessage: unused,
    sendTyping: unused,
    getConfig: unused,
    getUploadUrl: (_conn, request) => {
      calls.push(request)
      return answer(request)
    },
    notifyStart: unused,
    notifyStop: unused,
    getBotQrCode: unused,
    getQrCodeStatus: unused
  })
  return { calls, layer: Layer.succeed(ILinkApi, api) }
}

/** Lets pending promises settle and the fibers they wake run (a body's chunks, a watchdog's check). */
export const settle = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))).pipe(Effect.repeatN(5))

/**
 * Moves virtual time to just before `deadline`, checks `fiber` is still waiting, then to `deadline`, and
 * answers the fiber's exit: a timeout that fires exactly then and not a moment earlier.
 */
export const exitExactlyAt = <A, E>(fiber: Fiber.Fiber<A, E>, deadline: Duration.DurationInput) =>
  Effect.gen(function*() {
    yield* settle
    yield* TestClock.adjust(Duration.subtract(Duration.decode(deadline), Duration.millis(1)))
    yield* settle
    expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
    yield* TestClock.adjust("1 millis")
    return yield* Fiber.await(fiber)
  })
