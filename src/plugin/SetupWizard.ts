/**
 * `setupWizard`: WeChat in `openclaw onboard` and `openclaw channels add --channel openclaw-weixin`.
 *
 * The host's imperative wizard contract (`ChannelSetupWizardAdapter`; Telegram's declarative one asks for
 * a token, which WeChat has none of):
 * - `getStatus`: configured when a login is stored (accounts come from the state dir, not the config);
 * - `configure`: the QR login of LoginFlow in the terminal (the QR drawn in the terminal, the number the
 *   phone shows asked through the wizard's own prompter, Ctrl-C ends it). When the host defers device
 *   linking to its client (the Control UI runs the wizard), no QR is drawn here: the Control UI shows it
 *   through `web.login.*` (our gateway `loginWithQrStart/Wait`). A login that times out, fails or is
 *   cancelled with Ctrl-C leaves the setup `paused` with what to run later; a prompt the person cancels
 *   (the host's WizardCancelledError) is passed on untouched, so the host ends the wizard its own way;
 * - `afterConfigWritten`: the running gateway is told about the new login (LoginAnnouncement.ts);
 * - `dmPolicy`: the host's DM policy step, then the allow-list prompt when `allowlist` is chosen.
 */
import { Effect, Layer } from "effect"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { CHANNEL_CONFIG_PATH, channelConfigFromHostConfig, type DmPolicy } from "../config/ChannelConfig.js"
import { describeLoginOutcome, loginEventText } from "../login/LoginEvents.js"
import { LoginFlow } from "../login/LoginFlow.js"
import { LoginPrompt, LoginPromptError, untilEvent, verifyCodeQuestion } from "../login/LoginPrompt.js"
import { listAccountIdsSync } from "../state/AccountFilesSync.js"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"
import { allowEntryOf } from "./Allowlist.js"
import { channelConfigOrThrow } from "./ConfigAdapter.js"
import { announceToGateway } from "./LoginAnnouncement.js"
import { withLoginSettings } from "./LoginSettings.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { HostConfig, SetupConfigureContext, SetupDmPolicy, SetupResult, WeixinSetupWizard, WizardPrompter } from "./SdkTypes.js"

type Json = Record<string, unknown>
const LABEL = "WeChat"

/** `cfg` with `channels.openclaw-weixin` patched (a copy; the host's object is left alone). */
export const patchChannelSection = (cfg: HostConfig, patch: Json): HostConfig => {
  const channels = ((cfg as Json)["channels"] ?? {}) as Json
  const section = (channels[WEIXIN_CHANNEL_ID] ?? {}) as Json
  return { ...cfg, channels: { ...channels, [WEIXIN_CHANNEL_ID]: { ...section, ...patch } } } as HostConfig
}

/** A prompter call as an effect that fails with what the prompter threw (WizardCancelledError included). */
const ask = <A>(call: () => Promise<A>): Effect.Effect<A, unknown> => Effect.tryPromise({ try: call, catch: (e) => e })

/** The number the phone shows, asked through the wizard; a cancelled prompt is remembered and re-thrown. */
const prompterLoginPrompt = (prompter: WizardPrompter, cancelled: { error?: unknown }) =>
  Layer.succeed(LoginPrompt, {
    askVerifyCode: (request) =>
      ask(() => prompter.text({ message: verifyCodeQuestion(request).trim() })).pipe(
        Effect.mapError((error) => {
          cancelled.error = error
          return new LoginPromptError({ reason: "closed", message: "the setup wizard was cancelled" })
        })
      )
  })

/** `configure` as an effect. */
export const configureWeixin = Effect.fn("SetupWizard.configure")(function*(deps: PluginDeps, ctx: SetupConfigureContext) {
  const { prompter } = ctx
  const config = yield* channelConfigFromHostConfig(ctx.cfg)
  const cfg = patchChannelSection(ctx.cfg, config.enabled === false ? { enabled: true } : {})
  if (ctx.options?.deferDeviceLinkToClient === true) {
    yield* ask(() =>
      prompter.note(
        "Scan the QR code the Control UI shows next with WeChat on the phone of the bot's owner.",
        `${LABEL} login`
      )
    )
    return { cfg } satisfies SetupResult
  }
  yield* ask(() =>
    prompter.note(
      "A QR code follows. Scan it with WeChat on the phone of the bot's owner and confirm there. Ctrl-C stops.",
      `${LABEL} login`
    )
  )
  const cancelled: { error?: unknown } = {}
  const flow = yield* LoginFlow
  const outcome = yield* flow.login({
    cancel: untilEvent(process, "SIGINT"),
    onEvent: (event) => Effect.sync(() => ctx.runtime.log(loginEventText(event)))
  }).pipe(Effect.provide(prompterLoginPrompt(prompter, cancelled)), withLoginSettings(config))
  if (cancelled.error !== undefined) return yield* Effect.fail(cancelled.error)
  switch (outcome._tag) {
    case "Connected":
      yield* ask(() => prompter.note(describeLoginOutcome(outcome), `${LABEL} login`))
      return { cfg, accountId: outcome.accountId } satisfies SetupResult
    case "AlreadyConnected":
      yield* ask(() => prompter.note(describeLoginOutcome(outcome), `${LABEL} login`))
      return { cfg } satisfies SetupResult
    default:
      yield* ask(() =>
        prompter.note(`${describeLoginOutcome(outcome)}\nLog in later with \`${LOGIN_COMMAND}\`.`, `${LABEL} login`)
      )
      return { cfg: ctx.cfg, completion: "paused" } satisfies SetupResult
  }
})

/** The allow-list prompt: WeChat user ids, comma or space separated; each must be one. */
export const promptAllowFrom = async (params: { readonly cfg: HostConfig; readonly prompter: WizardPrompter }) => {
  const current = channelConfigOrThrow(params.cfg).allowFrom ?? []
  const split = (raw: string) => raw.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== "")
  const raw = await params.prompter.text({
    message: "WeChat user ids allowed to write to the bot (comma separated; each ends in @im.wechat)",
    placeholder: "o9cq8abc@im.wechat",
    initialValue: current.join(", "),
    validate: (value) => {
      const bad = split(value).filter((entry) => allowEntryOf(entry) === undefined)
      return bad.length === 0 ? undefined : `not a WeChat user id: ${bad.join(", ")}`
    }
  })
  const entries = [...new Set(split(raw).flatMap((entry) => allowEntryOf(entry) ?? []))]
  return patchChannelSection(params.cfg, { allowFrom: entries })
}

export const weixinDmPolicy: SetupDmPolicy = {
  label: LABEL,
  channel: WEIXIN_CHANNEL_ID,
  policyKey: `${CHANNEL_CONFIG_PATH}.dmPolicy`,
  allowFromKey: `${CHANNEL_CONFIG_PATH}.allowFrom`,
  getCurrent: (cfg) => channelConfigOrThrow(cfg).dmPolicy,
  setPolicy: (cfg, policy: DmPolicy) => patchChannelSection(cfg, { dmPolicy: policy }),
  promptAllowFrom: promptAllowFrom
}

export const makeSetupWizard = (deps: PluginDeps): WeixinSetupWizard => ({
  channel: WEIXIN_CHANNEL_ID,
  getStatus: async () => {
    const ids = listAccountIdsSync(deps.statePaths())
    const configured = ids.length > 0
    return {
      channel: WEIXIN_CHANNEL_ID,
      configured,
      statusLines: [
        configured ? `${LABEL}: logged in (${ids.join(", ")})` : `${LABEL}: not logged in (needs a QR scan with the phone)`
      ],
      selectionHint: configured ? "logged in" : "QR login with the phone"
    }
  },
  configure: (ctx) => deps.runtime.run(configureWeixin(deps, ctx)),
  afterConfigWritten: ({ cfg, accountId, runtime }) =>
    deps.runtime.run(announceToGateway(deps, { cfg, accountId: null, runtime }, accountId)),
  dmPolicy: weixinDmPolicy,
  disable: (cfg) => patchChannelSection(cfg, { enabled: false })
})
