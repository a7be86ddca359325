/**
 * LoginFlow: the login service of the plugin (docs/ARCHITECTURE.md, "LoginFlow"). `login` runs the QR
 * login of docs/PROTOCOL.md §3 for the CLI (`auth.login`), asking through the provided `LoginPrompt`;
 * `start` / `wait` / `cancel` are web login (`gateway.loginWithQrStart/Wait`). A saved login is told to
 * the Supervisor of this process when there is one (the gateway), so the account resumes in place.
 *
 * The concepts live beside it: the QR state machine (QrLogin), saving a confirmed login (SaveLogin), the
 * pending web logins (WebLogin), the verify-code prompt (LoginPrompt), events and outcomes (LoginEvents).
 */
import { Context, Effect, type Option } from "effect"
import { Supervisor } from "../account/Supervisor.js"
import { ILinkApi } from "../ilink/ILinkApi.js"
import { AccountStore } from "../state/AccountStore.js"
import { CursorStore } from "../state/CursorStore.js"
import type { LoginOutcome } from "./LoginEvents.js"
import type { LoginPrompt } from "./LoginPrompt.js"
import { type QrLoginOptions, runQrLogin } from "./QrLogin.js"
import { QrRenderer } from "./QrRender.js"
import type { LoginSupervisor } from "./SaveLogin.js"
import { makeWebLogins } from "./WebLogin.js"

export interface LoginFlowSettingsShape {
  /** `channels.openclaw-weixin.baseUrl`: where QR codes are fetched and first polled */
  readonly qrBaseUrl?: string | undefined
  readonly timeoutMs?: number | undefined
  readonly pollIntervalMs?: number | undefined
}

/** Read on every login, so the plugin adapter can provide the configured values and a reload applies. */
export class LoginFlowSettings extends Context.Reference<LoginFlowSettings>()("openclaw-weixin/LoginFlowSettings", {
  defaultValue: (): LoginFlowSettingsShape => ({})
}) {}

/**
 * The LoginFlow over the iLink client, state stores and QR renderer in context, telling `listener` about
 * saved logins (the `LoginFlow` service passes the Supervisor when the process has one).
 */
export const makeLoginFlow = (listener: Option.Option<LoginSupervisor>) =>
  Effect.gen(function*() {
    // only these three: iLink timeouts and the like stay those of the caller of each login
    const services = Context.make(ILinkApi, yield* ILinkApi).pipe(
      Context.add(AccountStore, yield* AccountStore),
      Context.add(CursorStore, yield* CursorStore)
    )
    const renderer = yield* QrRenderer

    /** The CLI login: runs to its ending, asking through the provided LoginPrompt. */
    const login = (options: QrLoginOptions = {}): Effect.Effect<LoginOutcome, never, LoginPrompt> =>
      Effect.flatMap(LoginFlowSettings, (settings) =>
        runQrLogin(listener, {
          ...options,
          renderQr: options.renderQr ?? renderer.render,
          qrBaseUrl: options.qrBaseUrl ?? settings.qrBaseUrl,
          timeoutMs: options.timeoutMs ?? settings.timeoutMs,
          pollIntervalMs: options.pollIntervalMs ?? settings.pollIntervalMs
        }).pipe(Effect.provide(services)))

    const web = yield* makeWebLogins(login)
    return { login, ...web } as const
  })

/**
 * The login service of the plugin: `login` for the CLI, `start` / `wait` / `cancel` for web login. It tells
 * the Supervisor (in the gateway) about saved logins when one is provided. The QR renderer is not among
 * its default dependencies: it comes from the plugin side (src/host/HostQrRenderer.ts).
 */
export class LoginFlow extends Effect.Service<LoginFlow>()("openclaw-weixin/LoginFlow", {
  scoped: Effect.flatMap(Effect.serviceOption(Supervisor), makeLoginFlow),
  dependencies: [ILinkApi.Default, AccountStore.Default, CursorStore.Default]
}) {}
