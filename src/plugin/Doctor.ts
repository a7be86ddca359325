/**
 * `doctor`: what `openclaw doctor` asks the channel (the host's `ChannelDoctorAdapter`). The host runs
 * `runConfigSequence` on every doctor run for a channel with a config section, with or without `--fix`, and
 * prints its `warningNotes`; we gather the facts here and word them in DoctorChecks.ts:
 * - every stored login is checked with the same read-only `getconfig` as `channels status --probe`
 *   (StatusAdapter.probeAccount), so an expired login is named even when no gateway runs;
 * - each account's inbox journal is read for messages rejected on arrival and turns left unfinished;
 * - several accounts under an explicit `session.dmScope: "main"` share one session (src/config/DmScope.ts);
 * - a state dir that does not exist (e.g. OPENCLAW_HOME pointing at a missing directory).
 * `openDmRequiresAllowFromWildcard: false`: our `open` admits everyone without a `"*"` entry. The host's
 * config validation reads it from package.json `openclaw.channel.doctorCapabilities` (which says the same),
 * so it no longer warns that all DMs will be dropped. Its doctor repair (2026.9.6) reads it only from
 * bundled catalogs and plugins already loaded, so `openclaw doctor` may still offer to add `"*"`; under
 * `open` that entry changes nothing (docs/HOST-NOTES.md "Doctor").
 */
import { Effect } from "effect"
import { replay } from "../account/InboxRecords.js"
import { InboxJournal } from "../state/InboxJournal.js"
import { stateDirExistsSync } from "../state/StateDirCheck.js"
import { makeConfigAdapter } from "./ConfigAdapter.js"
import { type AccountFacts, doctorWarnings } from "./DoctorChecks.js"
import type { PluginDeps } from "./PluginDeps.js"
import type { WeixinChannelPlugin } from "./SdkTypes.js"
import { probeAccount } from "./StatusAdapter.js"

export type WeixinDoctorAdapter = NonNullable<WeixinChannelPlugin["doctor"]>

/** How long the doctor waits for the server's answer about one login. */
export const DOCTOR_PROBE_TIMEOUT_MS = 5_000

export const makeDoctorAdapter = (deps: PluginDeps): WeixinDoctorAdapter => {
  const config = makeConfigAdapter(deps)

  const factsOf = (cfg: unknown, accountId: string) =>
    Effect.gen(function*() {
      const account = config.resolveAccount(cfg as never, accountId)
      const probe = yield* probeAccount(account, DOCTOR_PROBE_TIMEOUT_MS)
      const journal = yield* InboxJournal
      const lines = yield* Effect.orElseSucceed(journal.read(accountId), () => [] as ReadonlyArray<string>)
      const replayed = replay(lines)
      return {
        accountId,
        login: account.token === undefined ? "not-logged-in" : probe.token,
        detail: probe.detail,
        rejected: replayed.rejections.size,
        unfinished: replayed.pending.size,
        journalPath: journal.path(accountId)
      } satisfies AccountFacts
    })

  const warnings = (cfg: unknown) =>
    Effect.gen(function*() {
      const paths = deps.statePaths()
      const accounts = yield* Effect.forEach(config.listAccountIds(cfg as never), (id) => factsOf(cfg, id), {
        concurrency: "unbounded"
      })
      const home = process.env["OPENCLAW_HOME"]?.trim()
      return doctorWarnings({
        stateDir: paths.stateDir,
        stateDirExists: stateDirExistsSync(paths),
        openclawHome: home === undefined || home === "" ? undefined : home,
        cfg,
        accounts
      })
    })

  const adapter: WeixinDoctorAdapter & { readonly openDmRequiresAllowFromWildcard: boolean } = {
    openDmRequiresAllowFromWildcard: false,
    runConfigSequence: async ({ cfg }) => {
      try {
        return { changeNotes: [], warningNotes: await deps.runtime.run(warnings(cfg)) }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        return { changeNotes: [], warningNotes: [`- openclaw-weixin: the WeChat checks could not run: ${reason}`] }
      }
    }
  }
  return adapter
}

