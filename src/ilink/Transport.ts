/**
 * The transport: how a failed request becomes a typed error that says whether it reached the server, and
 * how a response body is read under a size cap. This is the one transport-error classifier of the plugin;
 * the CDN client classifies its failures with it too.
 *
 * `reachedServer` decides whether a send may be retried without risking a duplicate message, so the
 * classifier says `"no"` only when the failure proves the request never left: the name did not resolve,
 * the connection was refused or unreachable, the TLS handshake failed, or the socket wrote zero bytes.
 *
 * @example
 * ```ts
 * client.execute(request).pipe(Effect.mapError((error) => requestFailure(scope, error)))
 * ```
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type { HttpClientError } from "@effect/platform/HttpClientError"
import { Effect, Stream } from "effect"
import {
  ILinkDecodeError,
  type ILinkErrorScope,
  ILinkTransportError,
  type ReachedServer,
  scopeFields,
  type TransportErrorKind
} from "../wire/ILinkError.js"
import { webBodyOf } from "./NodeHttp.js"

/** Largest response body we read; iLink answers are a few KiB, so anything bigger is not an iLink answer. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

/** What a failed request's cause says, independent of which client (iLink or CDN) sent it. */
export interface TransportFailure {
  readonly kind: TransportErrorKind
  readonly reachedServer: ReachedServer
  /** the system/undici code that decided the kind, else the first code found */
  readonly code?: string
  readonly detail: string
}

const systemCodes = (cause: unknown): Array<{ readonly code: string; readonly error: unknown }> => {
  const found: Array<{ code: string; error: unknown }> = []
  const seen = new Set<unknown>()
  const visit = (value: unknown, depth: number): void => {
    if (depth > 5 || value === null || typeof value !== "object" || seen.has(value)) return
    seen.add(value)
    const record = value as { code?: unknown; cause?: unknown; errors?: unknown }
    if (typeof record.code === "string") found.push({ code: record.code, error: value })
    visit(record.cause, depth + 1)
    if (Array.isArray(record.errors)) for (const inner of record.errors) visit(inner, depth + 1)
  }
  visit(cause, 0)
  return found
}

const kindOfCode = (code: string, error: unknown): TransportErrorKind | undefined => {
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") return "dns"
  if (code === "ECONNREFUSED") return "refused"
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" || code === "UND_ERR_CLOSED") return "reset"
  if (code === "ENETUNREACH" || code === "EHOSTUNREACH" || code === "UND_ERR_CONNECT_TIMEOUT") return "unreachable"
  // a timed-out connect never carried the request; a timeout on an open socket may have
  if (code === "ETIMEDOUT") return (error as { syscall?: unknown }).syscall === "connect" ? "unreachable" : undefined
  if (/SSL|TLS|CERT|UNABLE_TO_VERIFY|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH/i.test(code)) return "tls"
  return undefined
}

/** undici's socket errors say how many bytes went out; zero proves the request was never written. */
const provablyUnsent = (error: unknown): boolean => {
  const socket = (error as { socket?: { bytesWritten?: unknown } }).socket
  return socket !== undefined && socket.bytesWritten === 0
}

const describeCause = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "unknown network failure"

/** Classifies a failed request from the undici/system error codes in its cause chain. */
export const classifyTransportCause = (cause: unknown): TransportFailure => {
  const codes = systemCodes(cause)
  const classified = codes.map((entry) => ({ ...entry, kind: kindOfCode(entry.code, entry.error) }))
    .find((entry) => entry.kind !== undefined)
  const kind: TransportErrorKind = classified?.kind ?? "unknown"
  const reachedServer: ReachedServer = kind === "reset" || kind === "unknown"
    ? (classified !== undefined && provablyUnsent(classified.error) ? "no" : "maybe")
    : "no"
  const code = classified?.code ?? codes[0]?.code
  return { kind, reachedServer, ...(code === undefined ? {} : { code }), detail: describeCause(cause) }
}

/** {@link classifyTransportCause} as the iLink error of the call in `scope`. */
export const classifyTransportFailure = (scope: ILinkErrorScope, cause: unknown): ILinkTransportError => {
  const failure = classifyTransportCause(cause)
  return new ILinkTransportError({
    ...scopeFields(scope),
    reachedServer: failure.reachedServer,
    kind: failure.kind,
    ...(failure.code === undefined ? {} : { code: failure.code }),
    detail: failure.detail
  })
}

/** A failure of `HttpClient.execute` as the iLink error of the call in `scope`. */
export const requestFailure = (scope: ILinkErrorScope, error: HttpClientError): ILinkTransportError => {
  if (error._tag === "RequestError" && error.reason !== "Transport") {
    // the request could not even be built (bad URL, unencodable body): nothing left this process
    return new ILinkTransportError({ ...scopeFields(scope), reachedServer: "no", kind: "unknown", detail: error.message })
  }
  return classifyTransportFailure(scope, error.cause ?? error)
}

class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
}

const tooLarge = (scope: ILinkErrorScope): ILinkDecodeError =>
  new ILinkDecodeError({
    ...scopeFields(scope),
    reachedServer: "yes",
    problem: `the body is larger than ${MAX_RESPONSE_BYTES} bytes`,
    bodySnippet: ""
  })

/** The body length the server declared, when it declared a valid one. */
const declaredLength = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const header = response.headers["content-length"]
  return header !== undefined && /^\d+$/.test(header.trim()) ? Number(header) : undefined
}

/** the status line arrived, so the server has the request; only the body was cut off */
const cutOff = (scope: ILinkErrorScope, cause: unknown): ILinkTransportError =>
  new ILinkTransportError({
    ...scopeFields(scope),
    reachedServer: "yes",
    kind: "reset",
    detail: `the response body was cut off: ${describeCause(cause)}`
  })

/**
 * Reads a web body with its own reader, chunk by chunk, up to the cap. An iLink answer is one or two
 * chunks, and this costs a promise per chunk; an Effect `Stream` over the same body costs about a
 * millisecond of CPU per call in its channel machinery (measured against the emulator).
 */
const readWebText = (
  scope: ILinkErrorScope,
  body: ReadableStream<Uint8Array>
): Effect.Effect<string, ILinkDecodeError | ILinkTransportError> =>
  Effect.async((resume) => {
    const reader = body.getReader()
    const chunks: Array<Uint8Array> = []
    let total = 0
    let settled = false
    const settle = (effect: Effect.Effect<string, ILinkDecodeError | ILinkTransportError>) => {
      settled = true
      resume(effect)
    }
    const next = (): void => {
      reader.read().then(
        (result) => {
          if (result.done) return settle(Effect.sync(() => Buffer.concat(chunks, total).toString("utf8")))
          if (total + result.value.length > MAX_RESPONSE_BYTES) {
            reader.cancel().catch(() => undefined)
            return settle(Effect.fail(tooLarge(scope)))
          }
          chunks.push(result.value)
          total += result.value.length
          next()
        },
        (error: unknown) => settle(Effect.fail(cutOff(scope, error)))
      )
    }
    next()
    // an interrupted read (the call's timeout) lets go of the body
    return Effect.sync(() => {
      if (!settled) reader.cancel().catch(() => undefined)
    })
  })

/**
 * Reads the body as UTF-8 text, refusing to buffer more than {@link MAX_RESPONSE_BYTES}. A body declared
 * larger than that (`content-length`) is refused at the headers, before a byte of it is read, so the
 * verdict never depends on how fast the first MAX_RESPONSE_BYTES arrive compared with the call's timeout;
 * an undeclared length is counted as it is read. A response made by `responseFromWeb` (NodeHttp.ts: our
 * client and the test doubles) is read with its web body's reader; any other through its `Stream`.
 */
export const readCappedText = (
  scope: ILinkErrorScope,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<string, ILinkDecodeError | ILinkTransportError> => {
  const declared = declaredLength(response)
  if (declared !== undefined && declared > MAX_RESPONSE_BYTES) return Effect.fail(tooLarge(scope))
  const web = webBodyOf(response)
  if (web === null) return Effect.succeed("")
  if (web !== undefined) return readWebText(scope, web)
  return response.stream.pipe(
    Stream.mapError((error): BodyTooLarge | HttpClientError => error),
    Stream.runFoldEffect(
      { chunks: [] as Array<Uint8Array>, total: 0 },
      (acc, chunk): Effect.Effect<{ chunks: Array<Uint8Array>; total: number }, BodyTooLarge> => {
        if (acc.total + chunk.length > MAX_RESPONSE_BYTES) return Effect.fail(new BodyTooLarge())
        acc.chunks.push(chunk)
        return Effect.succeed({ chunks: acc.chunks, total: acc.total + chunk.length })
      }
    ),
    Effect.map((acc) => Buffer.concat(acc.chunks).toString("utf8")),
    Effect.mapError((error): ILinkDecodeError | ILinkTransportError =>
      error instanceof BodyTooLarge ? tooLarge(scope) : cutOff(scope, error.cause ?? error)
    )
  )
}
