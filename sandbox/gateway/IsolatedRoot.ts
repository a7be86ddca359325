/**
 * A throw-away directory that stands in for a user's machine: HOME, the OpenClaw state dir, OPENCLAW_HOME,
 * the XDG dirs and a log dir all live inside it, so a gateway run never reads or writes the real ones.
 */
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { HarnessSetupError } from "./HarnessError.js"

export interface IsolatedRoot {
  readonly root: string
  readonly home: string
  /** `OPENCLAW_STATE_DIR`; the host's config file is `<stateDir>/openclaw.json`. */
  readonly stateDir: string
  readonly configFile: string
  readonly logDir: string
  /** The environment every process of this run gets (gateway and CLI alike). */
  readonly env: Readonly<Record<string, string>>
}

// Variables that would point the host at real state or real services, and vitest's own markers:
// the host checks VITEST/NODE_ENV=test and then takes test-only code paths (its gateway never got ready).
const INHERITED_KEYS_TO_DROP = [
  /^OPENCLAW_/,
  /^CLAWDBOT_/,
  /^XDG_/,
  /^NODE_OPTIONS$/,
  /_API_KEY$/,
  /^(HTTPS?|ALL)_PROXY$/i,
  /^VITEST/,
  /^NODE_ENV$/,
  /^TEST$/,
  /^TINYPOOL/
]

const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || INHERITED_KEYS_TO_DROP.some((pattern) => pattern.test(key))) continue
    env[key] = value
  }
  return env
}

/** Creates the root (removed again when the scope closes) and the environment that points into it. */
export const makeIsolatedRoot = (extraEnv: Readonly<Record<string, string>> = {}) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async (): Promise<IsolatedRoot> => {
        const root = await Fs.mkdtemp(Path.join(Os.tmpdir(), "openclaw-e2e-"))
        const dir = async (...parts: Array<string>) => {
          const path = Path.join(root, ...parts)
          await Fs.mkdir(path, { recursive: true, mode: 0o700 })
          return path
        }
        const home = await dir("home")
        const stateDir = await dir("state")
        const openclawHome = await dir("openclaw-home")
        const logDir = await dir("logs")
        const env: Record<string, string> = {
          ...baseEnv(),
          HOME: home,
          OPENCLAW_STATE_DIR: stateDir,
          OPENCLAW_HOME: openclawHome,
          XDG_CACHE_HOME: await dir("xdg", "cache"),
          XDG_CONFIG_HOME: await dir("xdg", "config"),
          XDG_DATA_HOME: await dir("xdg", "data"),
          XDG_STATE_HOME: await dir("xdg", "state"),
          OPENCLAW_NO_AUTO_UPDATE: "1",
          OPENCLAW_DISABLE_BONJOUR: "1",
          DO_NOT_TRACK: "1",
          NO_COLOR: "1",
          ...extraEnv
        }
        return { root, home, stateDir, configFile: Path.join(stateDir, "openclaw.json"), logDir, env }
      },
      catch: (error) => new HarnessSetupError({ step: "temp root", message: String(error) })
    }),
    (isolated) => Effect.promise(() => Fs.rm(isolated.root, { recursive: true, force: true }))
  )
