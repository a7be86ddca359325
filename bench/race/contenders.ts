/**
 * The three channels of the race and how each gets into a gateway:
 *
 * - ours: this repository built and packed (sandbox/sandbox.ts `packPlugin`), installed from the unpacked
 *   package, as the e2e suite does;
 * - official: `@tencent-weixin/openclaw-weixin` (the pinned devDependency), copied from node_modules with
 *   its runtime dependencies beside it in its own node_modules (what `npm install` of it would give a
 *   user), installed from that directory;
 * - floor: bench/race/floor, the least an iLink channel can do.
 *
 * Ours and the official plugin share the channel id and the state files, so both start from the same
 * seeded login (the files a QR login writes: the account index, the account file with the bot token, the
 * emulator's base URL and the scanning user) and let in the same WeChat users, each the way it supports:
 * ours by `allowFrom` in the config, the official one by its allow-list file (it has no such config key),
 * written once the gateway runs (see allowOfficialUsers).
 */
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { HarnessSetupError, type IsolatedRoot, projectRoot } from "../../sandbox/gateway/index.js"
import { packPlugin } from "../../sandbox/sandbox.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"

export type ContenderName = "ours" | "official" | "floor" | "floor-legacy"

/** What a contender needs to know of the emulator's bot it serves. */
export interface RaceBot {
  readonly botId: string
  readonly token: string
  readonly ownerUserId: string
  readonly baseUrl: string
  readonly cdnBaseUrl: string
  /** every WeChat user the race lets talk to the bot */
  readonly users: ReadonlyArray<string>
}

export interface Contender {
  readonly name: ContenderName
  readonly description: string
  /** the channel id whose section the config patch fills */
  readonly channelId: string
  /** the directory `openclaw plugins install` gets */
  readonly pluginDir: (workDir: string) => Effect.Effect<string, HarnessSetupError>
  /** `channels.<channelId>` */
  readonly channelConfig: (bot: RaceBot) => Record<string, unknown>
  /** state files written before the gateway starts */
  readonly seedState: (root: IsolatedRoot, bot: RaceBot) => Effect.Effect<void, HarnessSetupError>
  /** state files written once the gateway is ready */
  readonly seedRunning: (root: IsolatedRoot, bot: RaceBot) => Effect.Effect<void, HarnessSetupError>
}

export const OFFICIAL_PACKAGE = "@tencent-weixin/openclaw-weixin"
const WEIXIN_CHANNEL = "openclaw-weixin"
const floorDir = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "floor")

const setupError = (step: string) => (error: unknown) => new HarnessSetupError({ step, message: String(error) })

const writePrivate = async (file: string, value: unknown) => {
  await Fs.mkdir(Path.dirname(file), { recursive: true, mode: 0o700 })
  await Fs.writeFile(file, JSON.stringify(value, null, 2), { mode: 0o600 })
}

/** The files a QR login of `bot` leaves in the state dir (the official layout, which ours reads too). */
const seedWeixinLogin = (root: IsolatedRoot, bot: RaceBot) =>
  Effect.tryPromise({
    try: async () => {
      const accountId = normalizeAccountId(bot.botId)
      const dir = Path.join(root.stateDir, WEIXIN_CHANNEL)
      await writePrivate(Path.join(dir, "accounts.json"), [accountId])
      await writePrivate(Path.join(dir, "accounts", `${accountId}.json`), {
        token: bot.token,
        savedAt: new Date().toISOString(),
        baseUrl: bot.baseUrl,
        userId: bot.ownerUserId
      })
    },
    catch: setupError("seed login")
  })

/**
 * The official plugin's allow list, `credentials/openclaw-weixin-<account>-allowFrom.json`, which it reads
 * at every message; without it only the scanning user gets in (it has no allowFrom config key, its 2.4.9
 * login does not write the file, and it does not read the host's pairing store). Written by hand once the
 * gateway runs: OpenClaw 2026.9.6 treats the file as a legacy pairing store and refuses to start a gateway
 * that finds one ("Migration step channel-pairing … refused", run `openclaw doctor --fix`).
 */
const allowOfficialUsers = (root: IsolatedRoot, bot: RaceBot) =>
  Effect.tryPromise({
    try: () =>
      writePrivate(
        Path.join(root.stateDir, "credentials", `${WEIXIN_CHANNEL}-${normalizeAccountId(bot.botId)}-allowFrom.json`),
        { version: 1, allowFrom: [...bot.users] }
      ),
    catch: setupError("official allow list")
  })

/** Copies a package from this project's node_modules, with its dependencies (recursively) in its own node_modules. */
const copyWithDependencies = async (name: string, into: string): Promise<void> => {
  const source = Path.join(projectRoot, "node_modules", name)
  await Fs.cp(source, into, { recursive: true, dereference: true })
  const manifest = JSON.parse(await Fs.readFile(Path.join(source, "package.json"), "utf8")) as {
    readonly dependencies?: Record<string, string>
  }
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    const target = Path.join(into, "node_modules", dependency)
    const present = await Fs.stat(target).then(() => true, () => false)
    if (!present) await copyWithDependencies(dependency, target)
  }
}

export const ours: Contender = {
  name: "ours",
  description: "openclaw-weixin (this repository, built and packed)",
  channelId: WEIXIN_CHANNEL,
  pluginDir: (workDir) =>
    packPlugin(workDir).pipe(
      Effect.mapError((error) => error._tag === "HarnessSetupError" ? error : new HarnessSetupError({ step: "pack", message: String(error) }))
    ),
  channelConfig: (bot) => ({ baseUrl: bot.baseUrl, cdnBaseUrl: bot.cdnBaseUrl, allowFrom: [...bot.users] }),
  seedState: seedWeixinLogin,
  seedRunning: () => Effect.void
}

export const official: Contender = {
  name: "official",
  description: `${OFFICIAL_PACKAGE} (devDependency, from node_modules)`,
  channelId: WEIXIN_CHANNEL,
  pluginDir: (workDir) =>
    Effect.tryPromise({
      try: async () => {
        const dir = Path.join(workDir, "official", "package")
        await copyWithDependencies(OFFICIAL_PACKAGE, dir)
        return dir
      },
      catch: setupError(`copy ${OFFICIAL_PACKAGE}`)
    }),
  // the login's base URL is what it polls; baseUrl here is only in its schema
  channelConfig: (bot) => ({ baseUrl: bot.baseUrl, cdnBaseUrl: bot.cdnBaseUrl }),
  seedState: seedWeixinLogin,
  seedRunning: allowOfficialUsers
}

export const floor: Contender = {
  name: "floor",
  description: "bench/race/floor (long-poll, hand each text to the host, send the replies)",
  channelId: "race-floor",
  pluginDir: (workDir) =>
    Effect.tryPromise({
      try: async () => {
        const dir = Path.join(workDir, "floor")
        await Fs.cp(floorDir, dir, { recursive: true })
        return dir
      },
      catch: setupError("copy the floor plugin")
    }),
  channelConfig: (bot) => ({ baseUrl: bot.baseUrl, token: bot.token }),
  seedState: () => Effect.void,
  seedRunning: () => Effect.void
}

/** The floor on the host's older reply chain, the one the official plugin calls: to compare the host's two paths. */
export const floorLegacy: Contender = {
  ...floor,
  name: "floor-legacy",
  description: "bench/race/floor on the host's older reply chain (finalizeInboundContext, recordInboundSession, dispatchReplyWithBufferedBlockDispatcher)",
  channelConfig: (bot) => ({ ...floor.channelConfig(bot), hostPath: "legacy" })
}

/** The race: these three, always. */
export const contenders: ReadonlyArray<Contender> = [ours, official, floor]
/** Run only when RACE_ONLY names them. */
export const extraContenders: ReadonlyArray<Contender> = [floorLegacy]
