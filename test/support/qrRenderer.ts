/**
 * A QrRenderer for tests that are not about drawing: each picture names the URL it stands for, so a test
 * can see which QR was shown. The real renderer is tested in test/integration/host/HostQrRenderer.test.ts.
 */
import { Effect, Layer } from "effect"
import { QrRenderer } from "../../src/login/QrRender.js"

export const stubQrPictures = (url: string) => ({ terminal: `[qr ${url}]`, dataUrl: `data:test,${url}` })

export const stubQrRenderer: Layer.Layer<QrRenderer> = Layer.succeed(QrRenderer, {
  render: (url) => Effect.succeed(stubQrPictures(url))
})
