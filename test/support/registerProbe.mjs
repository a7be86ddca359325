// Run by the packaging test under another Node binary: `node registerProbe.mjs <bundle> <mode> <to>`.
// Loads the bundle as the host would, registers it in <mode> with a fake api, makes the first adapter
// calls (config, status probe, a proactive send), unloads in "full" mode, and prints one JSON line. The
// process must then exit on its own: nothing may keep the event loop alive.
const [bundle, mode, to] = process.argv.slice(2)
const entry = (await import(bundle)).default
const registered = []
const disposers = []
const warnings = []
entry.register({
  id: "openclaw-weixin",
  registrationMode: mode,
  runtime: { version: "2026.9.6" },
  config: {},
  logger: { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
  registerChannel: (registration) => registered.push(registration),
  lifecycle: { onDispose: (fn) => void disposers.push(fn) }
})
const plugin = registered[0]?.plugin
const accounts = plugin.config.listAccountIds({})
const account = plugin.config.resolveAccount({}, accounts[0])
const probe = await plugin.status.probeAccount({ account, timeoutMs: 5000, cfg: {} })
const sent = await plugin.outbound.sendText({ cfg: {}, to, text: `hello from ${mode}` }).then(
  (result) => result.meta.status,
  (error) => `failed: ${error.message}`
)
for (const dispose of disposers) await dispose()
console.log(JSON.stringify({
  node: process.versions.node.split(".")[0],
  id: entry.id,
  registered: registered.length,
  disposers: disposers.length,
  accounts,
  probe: probe.token,
  sent,
  warnings
}))
