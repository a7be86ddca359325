/**
 * This plugin's own identity as the iLink server sees it: package `version` (→ `channel_version` and
 * `iLink-App-ClientVersion`) and `ilink_appid` (→ `iLink-App-Id`), read once from package.json.
 * A `Context.Reference`, so it needs no layer, and tests pin it with `Effect.provideService`.
 */
import { Context } from "effect"
import packageJson from "../../package.json" with { type: "json" }

export interface PackageInfoShape {
  readonly name: string
  /** `undefined` when the manifest has no version: `channel_version` becomes "unknown", client version 0 */
  readonly version: string | undefined
  /** "" when the manifest has none (the header is then sent empty, as the official plugin does) */
  readonly ilinkAppId: string
}

const fromManifest = (manifest: Record<string, unknown>): PackageInfoShape => ({
  name: typeof manifest["name"] === "string" ? manifest["name"] : "openclaw-weixin",
  version: typeof manifest["version"] === "string" ? manifest["version"] : undefined,
  ilinkAppId: typeof manifest["ilink_appid"] === "string" ? manifest["ilink_appid"] : ""
})

export const packageInfoFromManifest: PackageInfoShape = fromManifest(packageJson as Record<string, unknown>)

export class PackageInfo extends Context.Reference<PackageInfo>()("openclaw-weixin/PackageInfo", {
  defaultValue: (): PackageInfoShape => packageInfoFromManifest
}) {}
