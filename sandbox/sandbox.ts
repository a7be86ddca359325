/**
 * The full sandbox: the iLink emulator, the fake model and a real OpenClaw gateway running this plugin as
 * installed from its packed tarball, all on 127.0.0.1 (the gateway inside a loopback-only netns when the
 * machine allows it). The e2e suite (test/e2e/*.e2e.test.ts) and `npm start` (sandbox/main.ts) both use
 * {@link startWeixinSandbox}; `npm start` adds {@link runSandboxChat}, a terminal chat as a WeChat user.
 *
 * Packing: `npm run build` (dist/index.js inlines every dependency), `npm pack`, unpack; the host
 * installs the unpacked directory with `openclaw plugins install`, exactly as a user's copy would be.
 */
import { Console, Effect, Fiber, Option, Queue, Ref, Schedule, Stream } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { normalizeAccountId } from "../src/domain/AccountId.js"
import { runCommand } from "./gateway/ChildProcess.js"
import { startGateway, type RunningGateway } from "./gateway/Gateway.js"
import { HarnessSetupError } from "./gateway/HarnessError.js"
import { projectRoot } from "./gateway/Node24.js"
import { waitUntil } from "./gateway/waitUntil.js"
import { type BotInfo, type Emulator, makeEmulator } from "./emulator/Emulator.js"
import { type FakeModel, type FakeModelAnswer, type FakeModelReplyInput, makeFakeModel } from "./fakeModel.js"
import { sandboxOptionsFor, userModelFromArgs, userModelLine } from "./userModel.js"

export const CHANNEL_ID = "openclaw-weixin"

/** Names an unpacked plugin directory (with its node_modules) to run instead of packing the repository. */
export const PLUGIN_DIR_ENV = "OCW_PLUGIN_DIR"

/** A logged-in sandbox account: the emulator's bot and the plugin's account id for it. */
export interface SandboxAccount {
  readonly bot: BotInfo
  readonly accountId: string
}

export interface SandboxOptions {
  /** Merged into `channels.openclaw-weixin` (baseUrl and cdnBaseUrl are always the emulator's). */
  readonly channelConfig?: Record<string, unknown>
  /** Merged into the host config at the top level (e.g. `{ session: { dmScope } }`). */
  readonly hostConfig?: Record<string, unknown>
  /** default {@link sandboxReply} */
  readonly modelReply?: (input: FakeModelReplyInput) => FakeModelAnswer
  readonly modelDelayMs?: number | ((input: FakeModelReplyInput) => number)
  /** what the model accepts (default text only) */
  readonly modelInput?: ReadonlyArray<"text" | "image">
  /** New QR codes confirm themselves (default true); the browser phone scans and confirms them by hand. */
  readonly autoConfirmQr?: boolean
  /** More environment for the gateway (its environment is otherwise a clean one, without API keys). */
  readonly gatewayEnv?: Readonly<Record<string, string>>
  /** Fixed emulator port (0: any free one). */
  readonly emulatorPort?: number
  readonly netns?: "auto" | "off" | "required"
  /** Install this unpacked plugin directory instead of packing the repository (e.g. a published tarball). */
  readonly pluginDir?: string
  /** How long the gateway may take to print its ready line (default that of startGateway). */
  readonly readyTimeoutMs?: number
  /** More plugins to install beside openclaw-weixin (test fixtures, e.g. test/e2e/fixtures/hook-probe). */
  readonly extraPluginDirs?: ReadonlyArray<string>
}

export interface WeixinSandbox {
  readonly emulator: Emulator
  readonly model: FakeModel
  readonly gateway: RunningGateway
  /** the unpacked package the gateway installed */
  readonly pluginDir: string
  /** `openclaw channels login --channel openclaw-weixin` against the emulator's auto-confirmed QR */
  readonly login: Effect.Effect<SandboxAccount, HarnessSetupError>
  /** ids of the accounts the plugin has stored (`<state>/openclaw-weixin/accounts.json`) */
  readonly storedAccountIds: Effect.Effect<ReadonlyArray<string>>
}

/** The lines `npm start` prints about where the sandbox's state, log and servers are. */
export const whereThingsAre = (
  { emulator, gateway, model }: WeixinSandbox,
  modelLine = `  fake model    ${model.baseUrl} (answers "echo: <your text>")`
): ReadonlyArray<string> => [
  `  state dir     ${gateway.root.stateDir}`,
  `  gateway log   ${Path.join(gateway.root.logDir, "openclaw.log")} (pid ${gateway.pid}${gateway.netns === undefined ? "" : `, netns ${gateway.netns}`})`,
  `  emulator      ${emulator.baseUrl} (admin ${emulator.adminUrl})`,
  modelLine
]

/**
 * What the user typed, from the fake model's spoken text: for channel turns the host puts a
 * "Conversation info" block (sender metadata) before the message, and strips any echo of that block
 * from the agent's answer, so an answer must quote only the message itself.
 */
export const typedTextOf = (spokenText: string): string =>
  spokenText.includes("Conversation info") ? spokenText.split("\n\n").at(-1)?.trim() ?? "" : spokenText

/** The sandbox model's answer: the user's own words, marked. */
export const sandboxReply = (input: FakeModelReplyInput): string => `echo: ${typedTextOf(input.spokenText)}`

const tail = (text: string, lines = 30) => text.trim().split("\n").slice(-lines).join("\n")

const step = (name: string, file: string, args: ReadonlyArray<string>, cwd: string, timeoutMs: number) =>
  Effect.flatMap(
    runCommand(file, args, { env: { ...process.env } as Record<string, string>, cwd, timeoutMs }),
    (result) =>
      result.code === 0
        ? Effect.succeed(result)
        : Effect.fail(
          new HarnessSetupError({
            step: name,
            message: `\`${[file, ...args].join(" ")}\` exited ${result.code ?? result.signal}${result.timedOut ? " (timed out)" : ""}:\n` +
              tail(result.stdout + result.stderr)
          })
        )
  )

/**
 * Builds and packs the plugin into `workDir` and returns the unpacked package directory. Requires the
 * `build` script (dist/index.js) of package.json.
 */
export const packPlugin = (workDir: string) =>
  Effect.gen(function*() {
    yield* step("build", "npm", ["run", "build", "--silent"], projectRoot, 180_000)
    const packed = yield* step("pack", "npm", ["pack", "--json", "--pack-destination", workDir], projectRoot, 120_000)
    const listing = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as ReadonlyArray<{ readonly filename: string }>
    const tarball = Path.join(workDir, listing[0]?.filename ?? "")
    yield* step("unpack", "tar", ["-xzf", tarball, "-C", workDir], workDir, 60_000)
    // installed as is, with no `npm install`: dist/index.js must carry everything it needs
    const packageDir = Path.join(workDir, "package")
    return packageDir
  })

const makeWorkDir = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "openclaw-weixin-sandbox-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** Emulator + fake model + gateway with the packed plugin; everything stops when the scope closes. */
export const startWeixinSandbox = (options: SandboxOptions = {}) =>
  Effect.gen(function*() {
    const pluginDir = options.pluginDir ?? (yield* packPlugin(yield* makeWorkDir))
    const emulator = yield* makeEmulator({ autoConfirmQr: options.autoConfirmQr ?? true, port: options.emulatorPort ?? 0 })
    const model = yield* makeFakeModel({
      modelId: "echo",
      reply: options.modelReply ?? sandboxReply,
      ...(options.modelDelayMs === undefined ? {} : { delayMs: options.modelDelayMs })
    })
    const gateway = yield* startGateway({
      pluginDir,
      model: { baseUrl: model.baseUrl, modelId: model.modelId, ...(options.modelInput === undefined ? {} : { input: options.modelInput }) },
      exposePorts: [model.port, emulator.port],
      ...(options.netns === undefined ? {} : { netns: options.netns }),
      ...(options.gatewayEnv === undefined ? {} : { env: options.gatewayEnv }),
      ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
      ...(options.extraPluginDirs === undefined ? {} : { extraPluginDirs: options.extraPluginDirs }),
      configPatch: {
        ...options.hostConfig,
        channels: { [CHANNEL_ID]: { ...options.channelConfig, baseUrl: emulator.baseUrl, cdnBaseUrl: emulator.cdnBaseUrl } }
      }
    })

    const storedAccountIds = Effect.promise(async () => {
      const file = Path.join(gateway.root.stateDir, CHANNEL_ID, "accounts.json")
      const text = await Fs.readFile(file, "utf8").catch(() => "[]")
      const parsed: unknown = JSON.parse(text)
      return Array.isArray(parsed) ? parsed.map(String) : []
    })

    const login = Effect.gen(function*() {
      const before = new Set((yield* emulator.bots).map((bot) => bot.botId))
      const result = yield* gateway.cli(["channels", "login", "--channel", CHANNEL_ID], { timeoutMs: 120_000 }).pipe(
        Effect.mapError((error) => new HarnessSetupError({ step: "channels login", message: error.message }))
      )
      if (result.code !== 0) {
        return yield* new HarnessSetupError({
          step: "channels login",
          message: `exit ${result.code ?? result.signal}:\n${tail(result.stdout + result.stderr)}`
        })
      }
      const bot = (yield* emulator.bots).find((candidate) => !before.has(candidate.botId))
      if (bot === undefined) {
        return yield* new HarnessSetupError({ step: "channels login", message: "the login finished but the emulator confirmed no new bot" })
      }
      return { bot, accountId: normalizeAccountId(bot.botId) }
    })

    const sandbox: WeixinSandbox = { emulator, model, gateway, pluginDir, login, storedAccountIds }
    return sandbox
  })

/** Waits (bounded, real time) until the account polls the emulator, i.e. the gateway started it. */
export const awaitPolling = (sandbox: WeixinSandbox, account: SandboxAccount, timeoutMs = 60_000) =>
  waitUntil(
    `account ${account.accountId} polling`,
    sandbox.emulator.requests("getupdates"),
    (requests) => requests.some((request) => request.headers["authorization"] === `Bearer ${account.bot.token}`),
    { timeoutMs, intervalMs: 250 }
  )

// ---- npm start ---------------------------------------------------------------------------------------

/**
 * `npm start`: the sandbox with one logged-in account, and a terminal chat. Each line typed is a
 * message from the account's WeChat user; the bot's messages print as the emulator receives them.
 * Ctrl-C (or end of input) stops the gateway with SIGTERM and closes the servers.
 */
export const runSandboxChat = Effect.gen(function*() {
  // before anything starts: a --model that cannot be used ends `npm start` with only its message
  const userModel = yield* userModelFromArgs(process.argv)
  // registered first, so it runs last: after the gateway has stopped and the servers have closed
  yield* Effect.addFinalizer(() => Console.log("sandbox stopped: gateway ended by SIGTERM, servers closed, temp dir removed"))
  yield* Console.log("starting the sandbox: build + pack the plugin, emulator, fake model, OpenClaw gateway (about a minute)…")
  const prebuilt = process.env[PLUGIN_DIR_ENV]
  const hostConfig = { session: { dmScope: "per-account-channel-peer" } }
  const sandbox = yield* startWeixinSandbox({
    ...(userModel === undefined ? { hostConfig } : sandboxOptionsFor(userModel, hostConfig)),
    ...(prebuilt === undefined || prebuilt === "" ? {} : { pluginDir: prebuilt })
  })
  const { emulator } = sandbox
  const account = yield* sandbox.login
  yield* awaitPolling(sandbox, account)
  const user = account.bot.ownerUserId
  yield* Console.log(
    [
      "",
      `sandbox ready: WeChat user ${user} is talking to bot ${account.bot.botId} (account ${account.accountId})`,
      ...(userModel === undefined ? whereThingsAre(sandbox) : whereThingsAre(sandbox, userModelLine(userModel))),
      "Type a message and press Enter; Ctrl-C stops everything.",
      ""
    ].join("\n")
  )

  // print every message the bot sends, in order, as it reaches the emulator
  const printed = yield* Ref.make(0)
  const printNew = Effect.gen(function*() {
    const sent = yield* emulator.sent(account.bot.botId)
    const from = yield* Ref.getAndSet(printed, sent.length)
    for (const record of sent.slice(from)) {
      const text = record.text ?? "(a message without text)"
      yield* Console.log(`bot › ${text}${record.outcome === "delivered" ? "" : `  [${record.outcome}]`}`)
    }
  })
  const printer = yield* Effect.fork(Effect.repeat(printNew, Schedule.spaced("250 millis")))

  const lines = yield* Queue.unbounded<Option.Option<string>>()
  const input = Readline.createInterface({ input: process.stdin, terminal: false })
  input.on("line", (line) => Queue.unsafeOffer(lines, Option.some(line)))
  input.on("close", () => Queue.unsafeOffer(lines, Option.none()))
  yield* Effect.addFinalizer(() => Effect.sync(() => input.close()))

  const typed = yield* Ref.make(0)
  yield* Stream.fromQueue(lines).pipe(
    Stream.takeWhile(Option.isSome),
    Stream.map((line) => line.value.trim()),
    Stream.filter((text) => text.length > 0),
    Stream.runForEach((text) =>
      emulator.injectInbound({ botId: account.bot.botId, fromUserId: user, kind: "text", text }).pipe(
        Effect.zipRight(Ref.update(typed, (n) => n + 1)),
        Effect.catchAll((error) => Console.error(`could not deliver your message: ${error.message}`))
      )
    )
  )
  // end of input (a pipe): wait, bounded, until every message typed has had an answer
  const expected = yield* Ref.get(typed)
  yield* waitUntil("answers to the typed messages", emulator.sent(account.bot.botId), (sent) => sent.length >= expected, {
    timeoutMs: 90_000,
    intervalMs: 250
  }).pipe(Effect.catchAll(() => Console.error("not every message was answered within 90 s")))
  yield* printNew
  yield* Fiber.interrupt(printer)
  yield* Console.log("end of input: stopping the gateway (SIGTERM) and the servers…")
})
