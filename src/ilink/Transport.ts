/**
 * The transport's verdicts: how a failed request becomes a typed error that says whether it reached the
 * server, and what a body over the size cap or cut off is. This is the one transport-error classifier of
 * the plugin; the iLink transport (ILinkTransport.ts) and the CDN client classify their failures with it.
 *
 * `reachedServer` decides whether a send may be retried without risking a duplicate message, so the
 * classifier says `"no"` only when the failure proves the request never left: the name did not resolve,
 * the connection was refused or unreachable, the TLS handshake failed, or the socket wrote zero bytes.
 *
 * @example
 * ```ts
 * nodeRequest.on("error", (cause) => fail(classifyTransportFailure(scope, cause)))
 * ```
 */
import {
  ILinkDecodeError,
  type ILinkErrorScope,
  ILinkTransportError,
  type ReachedServer,
  scopeFields,
  type TransportErrorKind
} from "../wire/ILinkError.js"

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

/** A body larger than {@link MAX_RESPONSE_BYTES}: refused, never buffered. */
export const tooLarge = (scope: ILinkErrorScope): ILinkDecodeError =>
  new ILinkDecodeError({
    ...scopeFields(scope),
    reachedServer: "yes",
    problem: `the body is larger than ${MAX_RESPONSE_BYTES} bytes`,
    bodySnippet: ""
  })

/** The body length a `content-length` header declares, when it declares a valid one. */
export const declaredLength = (header: string | undefined): number | undefined =>
  header !== undefined && /^\d+$/.test(header.trim()) ? Number(header) : undefined

/** The status line arrived, so the server has the request; only the body was cut off. */
export const cutOff = (scope: ILinkErrorScope, cause: unknown): ILinkTransportError =>
  new ILinkTransportError({
    ...scopeFields(scope),
    reachedServer: "yes",
    kind: "reset",
    detail: `the response body was cut off: ${describeCause(cause)}`
  })
