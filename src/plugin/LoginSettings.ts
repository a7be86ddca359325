/**
 * The settings a QR login (web login in the gateway, `auth.login` in the CLI) runs with, from the channel
 * config: where the QR is fetched, and the HTTP settings of its requests (config/ResolvedAccount.ts).
 */
import { Effect } from "effect"
import type { ChannelConfig } from "../config/ChannelConfig.js"
import { loginSettingsOf } from "../config/ResolvedAccount.js"
import { ILinkSettings } from "../ilink/ILinkSettings.js"
import { LoginFlowSettings } from "../login/LoginFlow.js"

export const withLoginSettings = (config: ChannelConfig) => <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const settings = loginSettingsOf(config)
  return effect.pipe(
    Effect.provideService(LoginFlowSettings, { qrBaseUrl: settings.qrBaseUrl }),
    Effect.provideService(ILinkSettings, settings.http)
  )
}
