/**
 * The login QR's pictures (QrRenderer, src/login/QrRender.ts) drawn by the host:
 * `renderQrTerminal` and `renderQrPngDataUrl` of `openclaw/plugin-sdk/media-runtime`. The module is
 * imported on the first QR, never at registration, like the host's other helpers (HostMediaStore.ts); it
 * is not on `api.runtime`, and the bundle keeps `openclaw/*` external.
 *
 * Where that module cannot be loaded, the `qrcode` package draws them instead: the library the host's own
 * renderer is built on. Every process the host starts (the CLI of `channels login`, the gateway of the web
 * login) runs on the host's Node (≥ 24.16) and loads it; Node 20 cannot, because the module's imports use
 * `Set.prototype.union` (Node ≥ 22) while loading, so the tests under Node 20 use the library. A picture
 * that neither can draw is left out; the login shows the URL.
 */
import { Effect, Layer, Option } from "effect"
import { QrRenderer, type RenderedQr } from "../login/QrRender.js"
import { describeThrown } from "./ChannelRuntime.js"

export interface QrDrawers {
  readonly source: "host" | "qrcode package"
  readonly terminal: (url: string) => Promise<string>
  readonly dataUrl: (url: string) => Promise<string>
}

// the sizes of the pictures: half-block characters in a terminal; 4 px per module, a 2-module margin in the UI
const PNG = { scale: 4, margin: 2 }

const fromHost = async (): Promise<QrDrawers> => {
  const media = await import("openclaw/plugin-sdk/media-runtime")
  return {
    source: "host",
    terminal: (url) => media.renderQrTerminal(url, { small: true }),
    dataUrl: (url) => media.renderQrPngDataUrl(url, { scale: PNG.scale, marginModules: PNG.margin })
  }
}

const fromLibrary = async (): Promise<QrDrawers> => {
  const { default: QRCode } = await import("qrcode")
  return {
    source: "qrcode package",
    terminal: (url) => QRCode.toString(url, { type: "terminal", small: true }),
    dataUrl: (url) => QRCode.toDataURL(url, { errorCorrectionLevel: "M", scale: PNG.scale, margin: PNG.margin })
  }
}

/** The host's drawers, else the library's; None when neither loads. */
export const loadQrDrawers: Effect.Effect<Option.Option<QrDrawers>> = Effect.tryPromise(fromHost).pipe(
  Effect.tapError((error) =>
    Effect.logDebug(`the host's QR renderer is unavailable (${describeThrown(error.error)}); drawing QR codes with the qrcode package`)
  ),
  Effect.orElse(() => Effect.tryPromise(fromLibrary)),
  Effect.tapError((error) => Effect.logWarning(`no QR renderer could be loaded (${describeThrown(error.error)}); the login shows the link only`)),
  Effect.option
)

const draw = (drawers: QrDrawers, target: "terminal" | "dataUrl", url: string): Effect.Effect<string | undefined> =>
  Effect.tryPromise(() => drawers[target](url)).pipe(
    Effect.tapError((error) =>
      Effect.logWarning(`the login QR could not be drawn for the ${target} by the ${drawers.source}: ${describeThrown(error.error)}`)
    ),
    Effect.option,
    Effect.map(Option.getOrUndefined)
  )

/** A QrRenderer over `load` (the host's drawers by default); what loads first is kept for every later QR. */
export const makeHostQrRenderer = (load: Effect.Effect<Option.Option<QrDrawers>> = loadQrDrawers) =>
  Effect.map(Effect.cached(load), (drawers) =>
    QrRenderer.of({
      render: (url) =>
        Effect.flatMap(drawers, (loaded): Effect.Effect<RenderedQr> =>
          Option.match(loaded, {
            onNone: () => Effect.succeed({ terminal: undefined, dataUrl: undefined }),
            onSome: (d) => Effect.all({ terminal: draw(d, "terminal", url), dataUrl: draw(d, "dataUrl", url) })
          }))
    }))

export const HostQrRenderer = {
  /** The host's renderer, loaded on the first QR. */
  layer: Layer.effect(QrRenderer, makeHostQrRenderer())
} as const
