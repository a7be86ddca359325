/**
 * `openclaw doctor` and `openclaw security audit` in a real gateway (sandbox/sandbox.ts: OpenClaw 2026.9.6 on
 * Node 24, the plugin as packed, the emulator): the doctor names a login the server expired, through our
 * doctor adapter's read-only check, and the audit reports `dmPolicy: open` for the account that sets it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { awaitPolling, PLUGIN_DIR_ENV, type SandboxAccount, startWeixinSandbox, type WeixinSandbox } from "../../sandbox/sandbox.js"

/** The printed words without the box drawing and line wrapping of the host's notes. */
const unboxed = (text: string): string => text.replace(/[│┌┐└┘├┤─╮╯◇]/g, " ").replace(/\s+/g, " ")

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
      // the doctor prints notes in boxes, wrapped: compare the words, not the layout
      const words = unboxed(printed)
      expect(words, printed).toContain(`openclaw-weixin ${account.accountId}: the WeChat login has expired (the server answers -14)`)
      expect(words).toContain(`openclaw channels login --channel openclaw-weixin --account ${account.accountId}`)

    }), 400_000)

  it.live("`openclaw security audit` reports the open DM policy at its config path", () =>
    Effect.gen(function*() {
      const audit = yield* sandbox.gateway.cli(["security", "audit", "--json"], { timeoutMs: 120_000 })
      const printed = audit.stdout + audit.stderr
      // the host reaches our security adapter through the setup entry (package.json openclaw.setupEntry)
      const findings = (JSON.parse(audit.stdout.slice(audit.stdout.indexOf("{"), audit.stdout.lastIndexOf("}") + 1)) as { readonly findings: ReadonlyArray<{ readonly checkId: string; readonly severity: string; readonly detail: string }> }).findings
      const open = findings.find((f) => f.checkId === "channels.openclaw-weixin.dm.open")
      expect(open, printed).toBeDefined()
      expect(open!.severity).toBe("critical")
      expect(open!.detail).toContain("channels.openclaw-weixin.dmPolicy")
      // our open policy admits everyone without a "*" entry: the host must not call the config inconsistent
      expect(findings.map((f) => f.checkId)).not.toContain("channels.openclaw-weixin.dm.open_invalid")
      expect(printed).not.toContain("all DMs will be dropped")
    }), 200_000)
})
