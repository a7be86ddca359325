/**
 * Renders the login QR (the `qrcode_img_content` URL of PROTOCOL §1.8.7) for people: as block characters
 * for a terminal, and as a PNG data URL for the web login. Wraps the `qrcode` package; no I/O.
 *
 * Rendering can fail (text too long for a QR symbol); callers then show the URL itself, so the failure is
 * a typed value, never a thrown exception.
 */
import { Effect, Option, Schema } from "effect"
import QRCode from "qrcode"

export class QrRenderError extends Schema.TaggedError<QrRenderError>("openclaw-weixin/QrRenderError")("QrRenderError", {
  target: Schema.Literal("terminal", "dataUrl"),
  message: Schema.String
}) {}

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** The QR as lines of half-block characters (two modules per character row), ready to print. */
export const renderTerminal = (text: string): Effect.Effect<string, QrRenderError> =>
  Effect.tryPromise({
    try: () => QRCode.toString(text, { type: "terminal", small: true }),
    catch: (cause) => new QrRenderError({ target: "terminal", message: describe(cause) })
  })

/** The QR as `data:image/png;base64,…`, for an <img> in the Control UI. */
export const toDataUrl = (text: string): Effect.Effect<string, QrRenderError> =>
  Effect.tryPromise({
    try: () => QRCode.toDataURL(text, { errorCorrectionLevel: "M", margin: 2 }),
    catch: (cause) => new QrRenderError({ target: "dataUrl", message: describe(cause) })
  })

export interface RenderedQr {
  readonly terminal: string | undefined
  readonly dataUrl: string | undefined
}

/** Both pictures of a QR; a picture that fails to render is left out (the URL is always shown). */
export const renderQrWithLibrary = (url: string): Effect.Effect<RenderedQr> =>
  Effect.gen(function*() {
    const terminal = yield* Effect.option(renderTerminal(url))
    const dataUrl = yield* Effect.option(toDataUrl(url))
    return { terminal: Option.getOrUndefined(terminal), dataUrl: Option.getOrUndefined(dataUrl) }
  })
