/**
 * The HTTP connections of the CDN client: one for the configured CDN host, one that reaches public
 * addresses only (see CdnAddress.ts for the rule), and the mapping of a failed request to a CDN error.
 *
 * CDN requests carry no iLink headers (PROTOCOL §1.3), so the clients send no trace-propagation headers
 * either. The connections are Node's own `node:http` / `node:https` agents (no HTTP stack is bundled); the
 * public-only agents resolve names through {@link guardedLookup}, so the address checked is the address
 * connected. Redirects are not followed (`node:http` never follows one): a 3xx is an HTTP error, so a
 * redirect can never lead past the address check.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type { HttpClientError } from "@effect/platform/HttpClientError"
import { Context, Effect, Layer } from "effect"
import { makeAgents, nodeHttpClient } from "./NodeHttp.js"
import { classifyTransportCause } from "./Transport.js"
import { BlockedAddressError, type CdnRoute, guardedLookup } from "./CdnAddress.js"
import { type CdnOperation, CdnTransportError, CdnUrlRefused, scrubUrls } from "./CdnError.js"

export interface CdnTransportShape {
  /** the client for a URL on `route` */
  readonly client: (route: CdnRoute) => HttpClient.HttpClient
}

// the server must see exactly the request of PROTOCOL §1.3: no trace-propagation headers
const withoutTraceHeaders = HttpClient.withTracerPropagation(false)

const httpClient = (options: { readonly lookup?: ReturnType<typeof guardedLookup> }) =>
  Effect.map(makeAgents(options), (agents) => withoutTraceHeaders(nodeHttpClient(agents)))

export class CdnTransport extends Context.Tag("openclaw-weixin/CdnTransport")<CdnTransport, CdnTransportShape>() {
  /** Real connections: two pairs of node:http(s) agents, closed with the layer. */
  static readonly layer: Layer.Layer<CdnTransport> = Layer.scoped(
    CdnTransport,
    Effect.gen(function*() {
      const configured = yield* httpClient({})
      const publicOnly = yield* httpClient({ lookup: guardedLookup() })
      return { client: (route: CdnRoute) => (route === "configured" ? configured : publicOnly) }
    })
  )

  /** One client for every route: unit tests answer from a function (the address rule is tested on its own). */
  static readonly layerTest = (client: HttpClient.HttpClient): Layer.Layer<CdnTransport> =>
    Layer.succeed(CdnTransport, { client: () => withoutTraceHeaders(client) })
}

const findBlocked = (cause: unknown, depth = 0): BlockedAddressError | undefined => {
  if (cause instanceof BlockedAddressError) return cause
  if (depth > 5 || cause === null || typeof cause !== "object") return undefined
  const record = cause as { cause?: unknown; errors?: unknown }
  const inner = findBlocked(record.cause, depth + 1)
  if (inner !== undefined) return inner
  return Array.isArray(record.errors) ? record.errors.map((e) => findBlocked(e, depth + 1)).find((e) => e !== undefined) : undefined
}

/** A request that failed before any answer: a refused address, or a network failure classified like iLink's. */
export const requestFailure = (
  operation: CdnOperation,
  host: string,
  error: HttpClientError
): CdnTransportError | CdnUrlRefused => {
  const cause = error.cause ?? error
  const blocked = findBlocked(cause)
  if (blocked !== undefined) {
    return new CdnUrlRefused({ operation, host, reason: "the name resolves to a private, loopback or reserved address" })
  }
  // the one classifier of transport failures; only its kind, code and detail are used here
  const classified = classifyTransportCause(cause)
  return new CdnTransportError({
    operation,
    host,
    kind: classified.kind,
    ...(classified.code === undefined ? {} : { code: classified.code }),
    detail: scrubUrls(classified.detail)
  })
}
