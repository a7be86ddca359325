/**
 * Settings of the iLink client that come from the channel config (`channels.openclaw-weixin`), and the
 * client-side timeouts of PROTOCOL §1.7. Both are `Context.Reference`s with defaults, read on every call, so
 * the plugin adapter can provide the configured values (and a reload applies to the next request) while
 * tests override the timeouts to keep real-HTTP tests short.
 */
import { Context, Duration } from "effect"

export interface ILinkSettingsShape {
  /** raw `botAgent` setting; sanitised into `base_info.bot_agent` (PROTOCOL §1.4) */
  readonly botAgent?: unknown
  /** `routeTag` setting: number → decimal string, string → trimmed, empty/absent → no SKRouteTag header */
  readonly routeTag?: string | number | undefined
  /** protocol level of `iLink-App-ClientVersion` and `base_info.channel_version`; default 2.4.9 */
  readonly protocolVersion?: string | undefined
}

export class ILinkSettings extends Context.Reference<ILinkSettings>()("openclaw-weixin/ILinkSettings", {
  defaultValue: (): ILinkSettingsShape => ({})
}) {}

export interface ILinkTimeoutsShape {
  /** getupdates, when the caller passes no `timeoutMs` */
  readonly getUpdates: Duration.Duration
  /** sendmessage, getuploadurl */
  readonly send: Duration.Duration
  /** getconfig, sendtyping, msg/notifystart, msg/notifystop */
  readonly control: Duration.Duration
  /** get_qrcode_status long-poll */
  readonly qrStatus: Duration.Duration
  /**
   * get_bot_qrcode. The official client waits forever; we bound it so a stalled login cannot hang the
   * CLI, and keep it generous (60 s) because a QR is fetched rarely and a slow answer is still useful.
   */
  readonly qrCode: Duration.Duration
}

export const defaultILinkTimeouts: ILinkTimeoutsShape = {
  getUpdates: Duration.seconds(35),
  send: Duration.seconds(15),
  control: Duration.seconds(10),
  qrStatus: Duration.seconds(35),
  qrCode: Duration.seconds(60)
}

export class ILinkTimeouts extends Context.Reference<ILinkTimeouts>()("openclaw-weixin/ILinkTimeouts", {
  defaultValue: (): ILinkTimeoutsShape => defaultILinkTimeouts
}) {}

/** The SKRouteTag header value, or undefined when the header must be absent. */
export const routeTagHeader = (routeTag: string | number | undefined): string | undefined => {
  if (routeTag === undefined) return undefined
  const value = typeof routeTag === "number" ? (Number.isFinite(routeTag) ? String(routeTag) : "") : routeTag.trim()
  return value === "" ? undefined : value
}
