/**
 * Adapter types of the host SDK, derived from the public `ChannelPlugin` type (the adapter types
 * themselves are not all exported from public subpaths in 2026.9.6).
 */
import type { ChannelPlugin } from "openclaw/plugin-sdk/core"
import type { ResolvedWeixinAccount } from "../config/ResolvedAccount.js"

/** Probe stays `unknown`: `api.registerChannel` only accepts plugins whose probe type is `unknown`. */
export type WeixinChannelPlugin = ChannelPlugin<ResolvedWeixinAccount>
export type ChannelConfigSchema = NonNullable<WeixinChannelPlugin["configSchema"]>
export type WeixinConfigAdapter = WeixinChannelPlugin["config"]
export type WeixinGatewayAdapter = NonNullable<WeixinChannelPlugin["gateway"]>
export type WeixinStatusAdapter = NonNullable<WeixinChannelPlugin["status"]>
export type WeixinOutboundAdapter = NonNullable<WeixinChannelPlugin["outbound"]>
export type WeixinAuthAdapter = NonNullable<WeixinChannelPlugin["auth"]>
export type WeixinMessagingAdapter = NonNullable<WeixinChannelPlugin["messaging"]>
export type WeixinPairingAdapter = NonNullable<WeixinChannelPlugin["pairing"]>
export type WeixinSecurityAdapter = NonNullable<WeixinChannelPlugin["security"]>
export type WeixinAgentPromptAdapter = NonNullable<WeixinChannelPlugin["agentPrompt"]>
export type GatewayContext = Parameters<NonNullable<WeixinGatewayAdapter["startAccount"]>>[0]
export type OutboundContext = Parameters<NonNullable<WeixinOutboundAdapter["sendText"]>>[0]
export type OutboundResult = Awaited<ReturnType<NonNullable<WeixinOutboundAdapter["sendText"]>>>
export type AccountSnapshot = NonNullable<WeixinStatusAdapter["defaultRuntime"]>
export type StatusIssue = ReturnType<NonNullable<WeixinStatusAdapter["collectStatusIssues"]>>[number]
export type WeixinCapabilitiesDiagnostics = NonNullable<Awaited<ReturnType<NonNullable<WeixinStatusAdapter["buildCapabilitiesDiagnostics"]>>>>
export type WeixinDirectoryAdapter = NonNullable<WeixinChannelPlugin["directory"]>
export type DirectoryEntry = Awaited<ReturnType<NonNullable<WeixinDirectoryAdapter["listPeers"]>>>[number]
export type WeixinAllowlistAdapter = NonNullable<WeixinChannelPlugin["allowlist"]>
export type AllowlistEditParams = Parameters<NonNullable<WeixinAllowlistAdapter["applyConfigEdit"]>>[0]
export type AllowlistEditResult = Awaited<ReturnType<NonNullable<WeixinAllowlistAdapter["applyConfigEdit"]>>>
export type PairingNotifyParams = Parameters<NonNullable<WeixinPairingAdapter["notifyApproval"]>>[0]
/** The imperative setup wizard (`ChannelSetupWizardAdapter`): the declarative one has no place for a QR. */
export type WeixinSetupWizard = Extract<NonNullable<WeixinChannelPlugin["setupWizard"]>, { readonly getStatus: unknown }>
export type SetupConfigureContext = Parameters<WeixinSetupWizard["configure"]>[0]
export type SetupResult = Awaited<ReturnType<WeixinSetupWizard["configure"]>>
export type SetupDmPolicy = NonNullable<WeixinSetupWizard["dmPolicy"]>
export type WizardPrompter = SetupConfigureContext["prompter"]
export type HostConfig = SetupConfigureContext["cfg"]
