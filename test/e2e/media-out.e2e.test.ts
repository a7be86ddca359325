/**
 * Outbound media in a real gateway (sandbox/sandbox.ts: OpenClaw 2026.9.6 on Node 24, the plugin as
 * packed, the emulator, the fake model): the host's own loader decides what may be sent.
 *
 * The host prepares a reply's media before our `deliver` sees it (docs/HOST-NOTES.md "Reply media"): a
 * local file is copied into its media store, and one that cannot be prepared is replaced by the host's
 * own notice line. On this machine the host cannot make that copy (its no-replace move is unavailable on
 * this filesystem), so the reply's picture is one the host already manages (`<state>/media/tool-…`),
 * which it hands through as is; `message send --media` reads the workspace file itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Effect, Exit, Scope } from "effect"
import { waitUntil } from "../../sandbox/gateway/index.js"
import { awaitPolling, CHANNEL_ID, PLUGIN_DIR_ENV, type SandboxAccount, startWeixinSandbox, typedTextOf, type WeixinSandbox } from "../../sandbox/sandbox.js"
import { MEDIA_FAILURE_NOTICE } from "../../src/host/ReplyMedia.js"

const prebuiltPluginDir = process.env[PLUGIN_DIR_ENV]
const PNG = Buffer.concat([Buffer.from("89504e470d0a1a0a0000000d49484452", "hex"), randomBytes(5000)])
const PDF = Buffer.from(`%PDF-1.4\n${randomBytes(3000).toString("base64")}\n%%EOF\n`)

const scope = Effect.runSync(Scope.make())
let sandbox: WeixinSandbox
let account: SandboxAccount
/** where the agent's workspace files live, known once the gateway's root exists */
const paths = { picture: "", missing: "", pdf: "" }

beforeAll(async () => {
  const setup = Effect.gen(function*() {
    sandbox = yield* startWeixinSandbox({
      ...(prebuiltPluginDir === undefined ? {} : { pluginDir: prebuiltPluginDir }),
      modelReply: ({ spokenText }) => {
        const typed = typedTextOf(spokenText)
        if (typed === "send the chart") return `Here is the chart\n\nMEDIA:${paths.picture}`
        if (typed === "send the lost file") return `This one is gone\n\nMEDIA:${paths.missing}`
        return `echo: ${typed}`
      }
    })
    const workspace = Path.join(sandbox.gateway.root.stateDir, "workspace")
    const managed = Path.join(sandbox.gateway.root.stateDir, "media", "tool-e2e")
    yield* Effect.promise(() => Fs.mkdir(workspace, { recursive: true }))
    yield* Effect.promise(() => Fs.mkdir(managed, { recursive: true }))
    paths.picture = Path.join(managed, "chart.png")
    paths.missing = Path.join(workspace, "nothing-here.png")
    paths.pdf = Path.join(workspace, "report.pdf")
    yield* Effect.promise(() => Fs.writeFile(paths.picture, PNG))
    yield* Effect.promise(() => Fs.writeFile(paths.pdf, PDF))
    account = yield* sandbox.login
    yield* awaitPolling(sandbox, account)
  })
  await Effect.runPromise(Scope.extend(setup, scope))
}, 400_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}, 60_000)

const sent = () => sandbox.emulator.sent(account.bot.botId)

const say = (text: string) =>
  sandbox.emulator.injectInbound({ botId: account.bot.botId, kind: "text", text, fromUserId: account.bot.ownerUserId })

describe("outbound media in a real gateway", () => {
  it.live("a MEDIA: line naming a picture the host manages arrives as an IMAGE with the file's bytes, after its caption", () =>
    Effect.gen(function*() {
      yield* say("send the chart")
      const media = yield* waitUntil("the picture", sandbox.emulator.cdn.sentMedia(account.bot.botId), (m) => m.length >= 1, {
        timeoutMs: 120_000,
        intervalMs: 250
      })
      expect(media[0]?.kind).toBe("image")
      expect(Buffer.from(media[0]?.plaintext ?? []).equals(PNG)).toBe(true)
      const texts = (yield* sent()).map((s) => s.text)
      expect(texts).toEqual(["Here is the chart", undefined])
      expect(yield* sandbox.emulator.violations()).toEqual([])
    }), 180_000)

  it.live("`openclaw message send --media` with a PDF delivers a FILE with its name", () =>
    Effect.gen(function*() {
      const result = yield* sandbox.gateway.cli(
        ["message", "send", "--channel", CHANNEL_ID, "--target", account.bot.ownerUserId, "--media", paths.pdf, "-m", "the report"],
        { timeoutMs: 120_000 }
      )
      expect(result.code, result.stdout + result.stderr).toBe(0)
      const media = yield* sandbox.emulator.cdn.sentMedia(account.bot.botId)
      const file = media.find((m) => m.kind === "file")
      expect(file?.fileName).toBe("report.pdf")
      expect(Buffer.from(file?.plaintext ?? []).equals(PDF)).toBe(true)
      expect((yield* sent()).map((s) => s.text)).toContain("the report")
      expect(yield* sandbox.emulator.violations()).toEqual([])
    }), 180_000)

  it.live("a reply naming a missing workspace file gets the host's notice after its caption; the next turn is answered", () =>
    Effect.gen(function*() {
      yield* say("send the lost file")
      const notice = yield* waitUntil("the host's notice", sent(), (all) => all.some((s) => s.text?.startsWith("This one is gone") === true), {
        timeoutMs: 120_000,
        intervalMs: 250
      })
      expect(notice.at(-1)?.text).toContain("nothing-here.png")
      yield* say("still there?")
      yield* waitUntil("the next answer", sent(), (all) => all.some((s) => s.text === "echo: still there?"), {
        timeoutMs: 120_000,
        intervalMs: 250
      })
      expect(yield* sandbox.emulator.violations()).toEqual([])
    }), 180_000)
})
