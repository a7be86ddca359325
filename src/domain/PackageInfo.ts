/**
 * This plugin's own identity as the iLink server sees it: `ilink_appid` (→ `iLink-App-Id`), read once from
 * package.json. The version headers carry the protocol level instead (config/Defaults.ts
 * `DEFAULT_PROTOCOL_VERSION`), never this package's own version. A `Context.Reference`, so it needs no
 * layer, and tests pin it with `Effect.provideService`.
 */
import { Context } from "effect"
import packageJson from "../../package.json" with { type: "json" }

export interface PackageInfoShape {
  readonly name: string
  /** "" when the manifest has none (the header is then sent empty, as the official plugin does) */
  readonly ilinkAppId: string
}

const fromManifest = (manifest: Record<string, unknown>): PackageInfoShape => ({
  name: typeof manifest["name"] === "string" ? manifest["name"] : "openclaw-weixin",
  ilinkAppId: typeof manifest["ilink_appid"] === "string" ? manifest["ilink_appid"] : ""
})

export const packageInfoFromManifest: PackageInfoShape = fromManifest(packageJson as Record<string, unknown>)

export class PackageInfo extends Context.Reference<PackageInfo>()("openclaw-weixin/PackageInfo", {
  defaultValue: (): PackageInfoShape => packageInfoFromManifest
}) {}
