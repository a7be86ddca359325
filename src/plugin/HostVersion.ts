/**
 * The host version check of `register(api)` (PROTOCOL §8.3, with our own rules): OpenClaw versions are
 * calendar versions `YYYY.M.D` with an optional `-suffix`. We require the release we test against.
 *
 * Unlike the official plugin, an unparseable version only warns: a development build of the host should
 * not be locked out by a version string we do not understand.
 */
import { Data, Schema } from "effect"

/** The oldest OpenClaw this plugin supports: the release its types and tests are built against. */
export const MIN_HOST_VERSION = "2026.9.6"

export interface CalendarVersion {
  readonly year: number
  readonly month: number
  readonly day: number
}

const VERSION_SHAPE = /^(\d{4})\.(\d{1,2})\.(\d{1,2})$/

/** `2026.9.6`, `2026.10.1-beta.2` → parts; anything else → undefined. */
export const parseHostVersion = (raw: string): CalendarVersion | undefined => {
  const core = raw.trim().split("-")[0] ?? ""
  const match = VERSION_SHAPE.exec(core)
  if (match === null) return undefined
  return { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) }
}

export const compareVersions = (a: CalendarVersion, b: CalendarVersion): number =>
  a.year !== b.year ? a.year - b.year : a.month !== b.month ? a.month - b.month : a.day - b.day

export type HostVersionVerdict = Data.TaggedEnum<{
  /** the host did not say (missing or "unknown"): go on, with a warning */
  Unknown: { readonly raw: string | undefined }
  /** not a calendar version we understand: go on, with a warning */
  Unparseable: { readonly raw: string }
  Supported: { readonly version: string }
  TooOld: { readonly version: string }
}>
export const HostVersionVerdict = Data.taggedEnum<HostVersionVerdict>()

export const judgeHostVersion = (raw: unknown, minimum: string = MIN_HOST_VERSION): HostVersionVerdict => {
  if (typeof raw !== "string" || raw.trim() === "" || raw.trim().toLowerCase() === "unknown") {
    return HostVersionVerdict.Unknown({ raw: typeof raw === "string" ? raw : undefined })
  }
  const parsed = parseHostVersion(raw)
  const floor = parseHostVersion(minimum)
  if (parsed === undefined || floor === undefined) return HostVersionVerdict.Unparseable({ raw })
  return compareVersions(parsed, floor) < 0
    ? HostVersionVerdict.TooOld({ version: raw.trim() })
    : HostVersionVerdict.Supported({ version: raw.trim() })
}

/** The host is older than this plugin supports; registration stops with this message. */
export class HostTooOldError extends Schema.TaggedError<HostTooOldError>()("HostTooOldError", {
  found: Schema.String,
  minimum: Schema.String
}) {
  override get message(): string {
    return `openclaw-weixin needs OpenClaw ${this.minimum} or newer, but this host is ${this.found}; ` +
      `upgrade the host with \`npm install -g openclaw@latest\` (or \`openclaw update\`), then restart the gateway`
  }
}

/** What `register` says about each verdict (undefined: nothing to say). */
export const describeHostVersion = (verdict: HostVersionVerdict): string | undefined =>
  HostVersionVerdict.$match(verdict, {
    Unknown: () =>
      `the host did not report its version; openclaw-weixin is tested with OpenClaw ${MIN_HOST_VERSION} and may misbehave on older hosts`,
    Unparseable: ({ raw }) =>
      `could not read the host version "${raw}"; continuing, but openclaw-weixin is tested with OpenClaw ${MIN_HOST_VERSION}`,
    Supported: () => undefined,
    TooOld: ({ version }) => new HostTooOldError({ found: version, minimum: MIN_HOST_VERSION }).message
  })
