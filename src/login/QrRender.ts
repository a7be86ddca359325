/**
 * The pictures of the login QR (the `qrcode_img_content` URL of PROTOCOL §1.8.7): block characters for a
 * terminal and a PNG data URL for the web login. Drawing them is not this plugin's business: the
 * renderer is a service the plugin side provides (src/host/HostQrRenderer.ts, over the host's own QR
 * renderer), so login never imports the host.
 *
 * Rendering never fails the login: a picture that cannot be drawn is left out and the URL is shown
 * instead (LoginEvents `terminalQrText`).
 */
import { Context, type Effect } from "effect"

export interface RenderedQr {
  /** lines ready to print; undefined when it could not be drawn */
  readonly terminal: string | undefined
  /** `data:image/png;base64,…` for an <img>; undefined when it could not be drawn */
  readonly dataUrl: string | undefined
}

export interface QrRendererShape {
  /** Both pictures of the QR for `url`; never fails (a picture that does not render is undefined). */
  readonly render: (url: string) => Effect.Effect<RenderedQr>
}

/** How a login QR URL becomes pictures; LoginFlow takes it from context when it is built. */
export class QrRenderer extends Context.Tag("openclaw-weixin/QrRenderer")<QrRenderer, QrRendererShape>() {}
