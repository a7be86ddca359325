/**
 * openclaw-weixin: the WeChat (Weixin) channel for OpenClaw. The host loads this module and calls the
 * default export's `register(api)` (src/plugin/PluginEntry.ts); nothing here starts work on import: the
 * runtime is built by the first adapter call.
 */
import { makePluginDeps } from "./src/plugin/PluginDeps.js"
import { makePluginEntry } from "./src/plugin/PluginEntry.js"

const deps = makePluginDeps()
// Until a `full` registration (the gateway) says otherwise, the runtime is released after each adapter
// call: the host also loads this module as the channel's setup entry (package.json `openclaw.setupEntry`)
// for read-only work (security audit, doctor, status) and uses its `plugin` without registering it.
deps.runtime.setTransient(true)
const entry = makePluginEntry(deps)

export default entry

/** SILK voice note → WAV file (24 kHz mono 16-bit); its codec loads on the first call. */
export { silkToWav } from "./src/account/VoiceDecoder.js"
