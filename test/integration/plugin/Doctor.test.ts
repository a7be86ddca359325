/**
 * The doctor adapter as the host calls it (`doctor.runConfigSequence`, ChannelDoctorAdapter of the real SDK
 * types) over a temp state dir and the emulator: an expired login is named, the journal is read.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { rejectedLine } from "../../../src/account/InboxRecords.js"
import { accountFiles, statePathsFor } from "../../../src/state/StatePaths.js"
import { makeWeixinChannelPlugin } from "../../../src/plugin/ChannelPlugin.js"
import { tempDir, testDeps } from "../../support/plugin.js"
import { hostCall, pluginWithBot } from "../../support/pluginEmulator.js"

const runDoctor = (plugin: ReturnType<typeof makeWeixinChannelPlugin>, cfg: Record<string, unknown>) =>
  hostCall(async () => await plugin.doctor!.runConfigSequence!({ cfg, env: process.env, shouldRepair: false }))

describe("doctor.runConfigSequence", () => {
  it.live("names an expired login (the server answers -14) and messages the journal rejected", () =>
    Effect.gen(function*() {
      const { accountId, bot, dir, emulator, plugin } = yield* pluginWithBot({ dirPrefix: "ocw-doctor-", withUserId: true })
      expect((yield* runDoctor(plugin, {})).warningNotes).toEqual([])

      const journal = accountFiles(statePathsFor(dir), accountId).inboxJournal
      Fs.mkdirSync(Path.dirname(journal), { recursive: true })
      Fs.appendFileSync(journal, `${rejectedLine({ key: "mid:1", index: 0, problem: "undecodable", at: Date.now() })}\n`)
      yield* emulator.expireSession(bot.botId)
      const result = yield* runDoctor(plugin, {})
      expect(result.changeNotes).toEqual([])
      expect(result.warningNotes.join("\n")).toContain(`openclaw-weixin ${accountId}: the WeChat login has expired`)
      expect(result.warningNotes.join("\n")).toContain("1 message(s) from WeChat could not be read")
      // the same read-only check as the status probe: never a getupdates
      expect(yield* emulator.requests("getupdates")).toEqual([])
    }).pipe(Effect.scoped), 30_000)

  it.live("says the state dir is missing instead of failing, and declares that open needs no \"*\"", () =>
    Effect.gen(function*() {
      const missing = Path.join(tempDir("ocw-doctor-home-"), "gone", ".openclaw")
      const plugin = makeWeixinChannelPlugin(testDeps(missing))
      const result = yield* runDoctor(plugin, {})
      expect(result.warningNotes).toHaveLength(1)
      expect(result.warningNotes[0]).toContain(`the state dir ${missing} does not exist`)
      expect(Fs.existsSync(missing)).toBe(false)
      expect((plugin.doctor as { openDmRequiresAllowFromWildcard?: boolean }).openDmRequiresAllowFromWildcard).toBe(false)
    }), 30_000)
})
