/**
 * `openclaw doctor` and `openclaw security audit` in a real gateway (sandbox/sandbox.ts: OpenClaw 2026.9.6 on
 * Node 24, the plugin as packed, the emulator): the doctor names a login the server expired, through our
 * doctor adapter's read-only check, and the audit reports `dmPolicy: open` for the account that sets it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { awaitPolling, PLUGIN_DIR_ENV, type SandboxAccount, startWeixinSandbox, type WeixinSandbox } from "../../sandbox/sandbox.js"

const prebuiltPluginDir = process.env[PLUGIN_DIR_ENV]

const scope = Effect.runSync(Scope.make())
let sandbox: WeixinSandbox
let account: SandboxAccount

beforeAll(async () => {
  const setup = Effect.gen(function*() {
    sandbox = yield* startWeixinSandbox({
      ...(prebuiltPluginDir === undefined ? {} : { pluginDir: prebuiltPluginDir }),
      channelConfig: { dmPolicy: "open" },
      modelReply: () => "ok"
    })
    account = yield* sandbox.login
    yield* awaitPolling(sandbox, account)
  })
  await Effect.runPromise(Scope.extend(setup, scope))
}, 400_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}, 60_000)

describe("openclaw doctor and security audit", () => {
  it.live("`openclaw doctor` names the account whose login the server expired", () =>
    Effect.gen(function*() {
      const healthy = yield* sandbox.gateway.cli(["doctor", "--non-interactive"], { timeoutMs: 180_000 })
      expect(healthy.stdout).not.toContain("the WeChat login has expired")
      yield* sandbox.emulator.expireSession(account.bot.botId)
      const doctor = yield* sandbox.gateway.cli(["doctor", "--non-interactive"], { timeoutMs: 180_000 })
      const printed = doctor.stdout + doctor.stderr
      expect(printed, printed).toContain(`openclaw-weixin ${account.accountId}: the WeChat login has expired`)
      expect(printed).toContain(`--account ${account.accountId}`)
    }), 400_000)

  it.live("`openclaw security audit` reports the open DM policy at its config path", () =>
    Effect.gen(function*() {
      const audit = yield* sandbox.gateway.cli(["security", "audit", "--json"], { timeoutMs: 120_000 })
      const printed = audit.stdout + audit.stderr
      expect(printed, printed).toContain("channels.openclaw-weixin.dm.open")
      expect(printed).toContain("channels.openclaw-weixin.dmPolicy")
      // our open policy admits everyone without a "*" entry: the host must not call the config inconsistent
      expect(printed).not.toContain("channels.openclaw-weixin.dm.open_invalid")
    }), 200_000)
})
