/**
 * The expected openclaw.plugin.json, built from the code (the channel JSON schema is generated from the
 * ChannelConfig Effect Schema). `npx tsx test/support/manifest.ts --write` rewrites the file; the
 * packaging test fails while the file and this differ.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { CHANNEL_META, PLUGIN_DESCRIPTION, PLUGIN_NAME } from "../../src/plugin/Meta.js"
import { PLUGIN_CONFIG_JSON_SCHEMA } from "../../src/plugin/PluginEntry.js"
import { channelConfigJsonSchema } from "../../src/config/ChannelConfig.js"
import { CHANNEL_UI_HINTS } from "../../src/config/UiHints.js"

export const rootDir = fileURLToPath(new URL("../../", import.meta.url))
export const manifestPath = `${rootDir}openclaw.plugin.json`

export const expectedManifest = () => {
  const pkg = JSON.parse(readFileSync(`${rootDir}package.json`, "utf8")) as { version: string }
  return {
    id: CHANNEL_META.id,
    name: PLUGIN_NAME,
    description: PLUGIN_DESCRIPTION,
    version: pkg.version,
    channels: [CHANNEL_META.id],
    channelConfigs: {
      [CHANNEL_META.id]: {
        schema: channelConfigJsonSchema,
        label: CHANNEL_META.label,
        description: "WeChat bot accounts (iLink): server URLs, per-account names, DM policy, limits.",
        uiHints: CHANNEL_UI_HINTS
      }
    },
    configSchema: PLUGIN_CONFIG_JSON_SCHEMA
  }
}

if (process.argv.includes("--write")) {
  writeFileSync(manifestPath, `${JSON.stringify(expectedManifest(), null, 2)}\n`)
  console.log(`wrote ${manifestPath}`)
}
