/**
 * Runs a real OpenClaw gateway (the `openclaw` devDependency on the pinned Node 24) offline, with one
 * channel plugin installed from a directory, for the length of a Scope.
 *
 * Steps: isolated temp root → base config (docs/HOST-NOTES.md "Running the harness") → `openclaw plugins install <dir>` →
 * `openclaw config patch --file` with the caller's patch → optional state seeding → `openclaw gateway run`
 * (inside a loopback-only netns when root and `ip netns` allow it) → wait for `[gateway] ready`.
 * Closing the scope stops the gateway (SIGTERM, bounded), the bridge, the netns, and removes the root.
 *
 * ```ts
 * const gateway = yield* startGateway({ pluginDir, model: { baseUrl: model.baseUrl, modelId: model.modelId },
 *   exposePorts: [model.port], configPatch: { channels: { "my-channel": {...} } } })
 * const status = yield* gateway.cli(["channels", "status", "--probe"])
 * ```
 */
import { Clock, Effect, Random, Ref } from "effect"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Path from "node:path"
import { runCommand, type CommandResult } from "./ChildProcess.js"
import { baseGatewayConfig, type ModelEndpoint, writeJsonFile } from "./GatewayConfig.js"
import { CliTimeoutError, GatewayStartError, HarnessSetupError } from "./HarnessError.js"
import { type IsolatedRoot, makeIsolatedRoot } from "./IsolatedRoot.js"
import { type ManagedProcess, type StopResult, spawnManaged } from "./ManagedProcess.js"
import { inNamespace, makeNetns, netnsSupported } from "./Netns.js"
import { ensureNode24, openclawEntry } from "./Node24.js"
import { bridgePortsIntoNetns } from "./PortBridge.js"

export interface GatewayOptions {
  /** The plugin directory to install (`openclaw plugins install <dir>`); it must hold its runtime node_modules. */
  readonly pluginDir: string
  /** More plugin directories to install beside it (test fixtures such as a hook probe); plain JS, no build. */
  readonly extraPluginDirs?: ReadonlyArray<string>
  /** Merged into the host config with `openclaw config patch --file` after the plugin is installed;
   * a function gets the temp root first, for patches that name paths inside it. */
  readonly configPatch?: Record<string, unknown> | ((root: IsolatedRoot) => Record<string, unknown>)
  /** The OpenAI-compatible model the agent talks to; defaults to a closed local port (turns then fail fast). */
  readonly model?: ModelEndpoint
  /** Ports of servers in this process (127.0.0.1) the gateway must reach, e.g. the fake model and the emulator. */
  readonly exposePorts?: ReadonlyArray<number>
  /** Runs after install and patch, before the gateway starts: seed state files here. */
  readonly prepareState?: (root: IsolatedRoot) => Effect.Effect<void, unknown>
  /** "auto" (default) isolates the network when possible; "off" never does; "required" fails without it. */
  readonly netns?: "auto" | "off" | "required"
  readonly env?: Readonly<Record<string, string>>
  readonly readyTimeoutMs?: number
  readonly stopTimeoutMs?: number
}

export interface CliOptions {
  readonly timeoutMs?: number
  readonly stdin?: string
}

export interface RunningGateway {
  readonly root: IsolatedRoot
  readonly port: number
  readonly token: string
  /** Pid of the first gateway process (`ip netns exec` execs, so this is the gateway itself). */
  readonly pid: number
  /** Pid of the gateway process running now (differs from `pid` after `restart`). */
  readonly currentPid: Effect.Effect<number>
  /** The namespace the gateway and CLI commands run in, or undefined when network isolation is off. */
  readonly netns: string | undefined
  readonly node24: string
  /** Time from spawning `openclaw gateway run` to its ready line. */
  readonly readyMs: number
  /** Runs `openclaw <args>` with the gateway's env and network; a non-zero exit is a result, not an error. */
  readonly cli: (args: ReadonlyArray<string>, options?: CliOptions) => Effect.Effect<CommandResult, CliTimeoutError>
  /** The current gateway process's stdout and stderr so far. */
  readonly output: Effect.Effect<string>
  /** The host's JSON-lines log file (`logging.file`), empty if not written yet. */
  readonly logFile: Effect.Effect<string>
  /** Waits (bounded) for a line in the gateway's output. */
  readonly waitForOutput: (pattern: RegExp, timeoutMs: number) => Effect.Effect<boolean>
  /** Stops the gateway now (idempotent); the scope does it anyway on close. */
  readonly stop: Effect.Effect<StopResult>
  /** Stops the gateway and starts a new one on the same root (state and config survive), waiting for ready. */
  readonly restart: Effect.Effect<{ readonly stopped: StopResult; readonly readyMs: number; readonly pid: number }, GatewayStartError>
}

const READY_LINE = /\[gateway\] ready\b/

const freePort = (avoid: ReadonlyArray<number>): Effect.Effect<number, HarnessSetupError> =>
  Effect.async<number, HarnessSetupError>((resume) => {
    const server = Net.createServer()
    server.once("error", (error) => resume(Effect.fail(new HarnessSetupError({ step: "port", message: String(error) }))))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resume(Effect.succeed(port)))
    })
  }).pipe(Effect.repeat({ until: (port) => port !== 0 && !avoid.includes(port), times: 20 }))

const tail = (text: string, lines = 40) => text.trim().split("\n").slice(-lines).join("\n")

const requireSuccess = (step: string, result: CommandResult) =>
  result.code === 0
    ? Effect.void
    : Effect.fail(
      new HarnessSetupError({
        step,
        message: `exit ${result.code ?? result.signal}${result.timedOut ? " (timed out)" : ""}:\n${tail(result.stdout + result.stderr)}`
      })
    )

export const startGateway = (options: GatewayOptions) =>
  Effect.gen(function*() {
    const node24 = yield* ensureNode24()
    const exposePorts = options.exposePorts ?? []
    const root = yield* makeIsolatedRoot(options.env)
    const token = `e2e-${(yield* Random.nextIntBetween(0, 2 ** 30)).toString(36)}-${(yield* Random.nextIntBetween(0, 2 ** 30)).toString(36)}`
    const port = yield* freePort(exposePorts)
    const pluginDir = Path.resolve(options.pluginDir)

    const wantNetns = options.netns ?? "auto"
    const supported = wantNetns === "off" ? false : yield* netnsSupported
    if (wantNetns === "required" && !supported) {
      return yield* new HarnessSetupError({ step: "netns", message: "network isolation was required but needs root and a working `ip netns`" })
    }
    if (wantNetns === "auto" && !supported) {
      yield* Effect.logWarning(
        "e2e gateway: no network namespace (needs root and `ip netns`); running without one, with the host's outbound features off by config"
      )
    }
    const netns = supported ? yield* makeNetns : undefined
    if (netns !== undefined) yield* bridgePortsIntoNetns({ netns, ports: exposePorts, socketDir: root.root, env: root.env })

    const cliRaw = (args: ReadonlyArray<string>, cliOptions: CliOptions = {}) => {
      const [file, fullArgs] = inNamespace(netns, node24, [openclawEntry, ...args])
      return runCommand(file, fullArgs, {
        env: root.env,
        cwd: root.root,
        timeoutMs: cliOptions.timeoutMs ?? 90_000,
        ...(cliOptions.stdin === undefined ? {} : { stdin: cliOptions.stdin })
      })
    }
    const cli = (args: ReadonlyArray<string>, cliOptions: CliOptions = {}) =>
      cliRaw(args, cliOptions).pipe(
        Effect.flatMap((result) =>
          result.timedOut
            ? Effect.fail(new CliTimeoutError({ args: [...args], timeoutMs: cliOptions.timeoutMs ?? 90_000, stdout: result.stdout, stderr: result.stderr }))
            : Effect.succeed(result)
        ),
        Effect.withSpan("Gateway.cli", { attributes: { args: args.join(" ") } })
      )

    yield* writeJsonFile(
      root.configFile,
      baseGatewayConfig({
        gatewayPort: port,
        gatewayToken: token,
        model: options.model ?? { baseUrl: "http://127.0.0.1:9/v1", modelId: "none" },
        logFile: Path.join(root.logDir, "openclaw.log")
      }),
      "base config"
    )
    yield* requireSuccess(
      "plugins install",
      yield* cliRaw(["plugins", "install", pluginDir, "--force", "--accept-capabilities"], { timeoutMs: 120_000 })
    )
    for (const extra of options.extraPluginDirs ?? []) {
      yield* requireSuccess(
        "plugins install (extra)",
        yield* cliRaw(["plugins", "install", Path.resolve(extra), "--force", "--accept-capabilities"], { timeoutMs: 120_000 })
      )
    }
    if (options.configPatch !== undefined) {
      const patchFile = Path.join(root.root, "config-patch.json")
      const patch = typeof options.configPatch === "function" ? options.configPatch(root) : options.configPatch
      yield* writeJsonFile(patchFile, patch, "config patch")
      yield* requireSuccess("config patch", yield* cliRaw(["config", "patch", "--file", patchFile], { timeoutMs: 60_000 }))
    }
    if (options.prepareState !== undefined) {
      yield* options.prepareState(root).pipe(
        Effect.mapError((error) => new HarnessSetupError({ step: "prepareState", message: String(error) }))
      )
    }

    const [file, args] = inNamespace(netns, node24, [openclawEntry, "gateway", "run"])
    const stopTimeoutMs = options.stopTimeoutMs ?? 20_000
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000
    // The current gateway process; `restart` replaces it on the same temp root (same state, same config).
    const current = yield* Ref.make<ManagedProcess | undefined>(undefined)
    yield* Effect.addFinalizer(() =>
      Ref.get(current).pipe(Effect.flatMap((gateway) => gateway === undefined ? Effect.void : gateway.stop(stopTimeoutMs)))
    )

    const launch = Effect.gen(function*() {
      const spawnedAt = yield* Clock.currentTimeMillis
      const gateway = yield* spawnManaged(file, args, { env: root.env, cwd: root.root })
      yield* Ref.set(current, gateway)
      const ready = yield* gateway.waitForOutput(READY_LINE, readyTimeoutMs)
      if (ready !== "matched") {
        const output = yield* gateway.output
        return yield* new GatewayStartError({
          reason: ready === "timeout" ? "timeout" : "exited",
          message: ready === "timeout"
            ? `no \`[gateway] ready\` line before the deadline; its output ends with:\n${tail(output, 20)}`
            : `the gateway exited (code ${ready.code}, signal ${ready.signal}) before it was ready; its output ends with:\n${tail(output, 20)}`,
          exitCode: ready === "timeout" ? null : ready.code,
          logTail: tail(output)
        })
      }
      return { gateway, readyMs: (yield* Clock.currentTimeMillis) - spawnedAt }
    })
    const first = yield* launch
    const currentGateway = Ref.get(current).pipe(Effect.map((gateway) => gateway ?? first.gateway))

    const running: RunningGateway = {
      root,
      port,
      token,
      pid: first.gateway.pid,
      currentPid: currentGateway.pipe(Effect.map((gateway) => gateway.pid)),
      netns,
      node24,
      readyMs: first.readyMs,
      cli,
      output: currentGateway.pipe(Effect.flatMap((gateway) => gateway.output)),
      logFile: Effect.promise(() => Fs.readFile(Path.join(root.logDir, "openclaw.log"), "utf8").catch(() => "")),
      waitForOutput: (pattern, timeoutMs) =>
        currentGateway.pipe(
          Effect.flatMap((gateway) => gateway.waitForOutput(pattern, timeoutMs)),
          Effect.map((r) => r === "matched")
        ),
      stop: currentGateway.pipe(Effect.flatMap((gateway) => gateway.stop(stopTimeoutMs))),
      restart: Effect.gen(function*() {
        const stopped = yield* (yield* currentGateway).stop(stopTimeoutMs)
        const next = yield* launch
        return { stopped, readyMs: next.readyMs, pid: next.gateway.pid }
      })
    }
    return running
  })
