/**
 * Crash test for the atomic write primitive: a child process rewrites a 4 MiB file in a loop through
 * `writeFileAtomic` and is SIGKILLed at a random moment, many times. The target must always be exactly one
 * complete round's content. Runs on real time (it.live) because it waits on a real child process; every
 * wait is on a condition (writes reported, process exit) with a deadline, and the only timer is the random
 * kill moment itself. The writer is bundled once with esbuild (the bundler tsx ships with) so each of the
 * many child starts is fast; without esbuild it falls back to `node --import tsx`.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { State } from "../../../src/state/State.js"
import { accountFiles, isTempFileName, ownFileName, StateDir } from "../../../src/state/StatePaths.js"
import { StateFiles } from "../../../src/state/StateFiles.js"
import { KILL_WRITER_PAD_LENGTH, killWriterContent } from "../../support/killWriterContent.js"

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url))
const WRITER_SCRIPT = fileURLToPath(new URL("../../support/killWriter.ts", import.meta.url))
const ROUNDS = 24
const ROUND_DEADLINE_MS = 20_000
const ACCOUNT = "killtest"

interface RoundResult {
  readonly lastReported: number
}

/** Node arguments that start the writer: a one-off esbuild bundle in `outDir`, else the TS source via tsx. */
const prepareWriter = async (outDir: string): Promise<ReadonlyArray<string>> => {
  try {
    const esbuild = await import("esbuild")
    const outfile = join(outDir, "killWriter.mjs")
    await esbuild.build({
      entryPoints: [WRITER_SCRIPT],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile,
      logLevel: "warning"
    })
    return [outfile]
  } catch {
    return ["--import", "tsx", WRITER_SCRIPT]
  }
}

/** Start a writer, SIGKILL it after `killAfterWrites` completed writes plus `jitterMs`, resolve on exit. */
const killWriterRound = (
  writerArgs: ReadonlyArray<string>,
  target: string,
  firstRound: number,
  killAfterWrites: number,
  jitterMs: number
) =>
  new Promise<RoundResult>((resolve, reject) => {
    const child = spawn(process.execPath, [...writerArgs, target, String(firstRound)], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let lastReported = -1
    let completed = 0
    let pending = ""
    let stderr = ""
    let killScheduled = false
    const deadline = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`writer round ${firstRound} did not reach ${killAfterWrites} writes in time: ${stderr}`))
    }, ROUND_DEADLINE_MS)
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8")
      const lines = pending.split("\n")
      pending = lines.pop() ?? ""
      for (const line of lines) {
        const match = /^wrote (\d+)$/.exec(line)
        if (match?.[1] === undefined) continue
        lastReported = Number(match[1])
        completed += 1
      }
      if (!killScheduled && completed >= killAfterWrites) {
        killScheduled = true
        setTimeout(() => child.kill("SIGKILL"), jitterMs)
      }
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    child.on("exit", (_code, signal) => {
      clearTimeout(deadline)
      if (signal !== "SIGKILL") reject(new Error(`writer exited on its own (${String(signal)}): ${stderr}`))
      else resolve({ lastReported })
    })
  })

const BigRecord = Schema.Struct({ round: Schema.Number, pad: Schema.String })

describe("writeFileAtomic under SIGKILL", () => {
  it.live(
    "leaves the target wholly old or wholly new after every kill, and readers ignore leftover temp files",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const stateDir = yield* fs.makeTempDirectoryScoped({ prefix: "ocw-kill-" })
        const accountsDir = join(stateDir, "openclaw-weixin", "accounts")
        yield* fs.makeDirectory(accountsDir, { recursive: true, mode: 0o700 })
        const target = join(accountsDir, `${ACCOUNT}.ocw-big.json`)
        const bundleDir = yield* fs.makeTempDirectoryScoped({ prefix: "ocw-kill-bundle-" })
        const writerArgs = yield* Effect.promise(() => prepareWriter(bundleDir))
        let roundsWithLeftoverTemp = 0

        for (let round = 1; round <= ROUNDS; round++) {
          const firstRound = round * 1000
          const killAfterWrites = 1 + Math.floor(Math.random() * 3)
          const jitterMs = Math.floor(Math.random() * 70)
          const { lastReported } = yield* Effect.promise(() =>
            killWriterRound(writerArgs, target, firstRound, killAfterWrites, jitterMs)
          )
          const bytes = yield* fs.readFileString(target)
          const written = JSON.parse(bytes) as { round: number }
          // the file is the last reported round, or the next one if it was renamed before the report
          expect([lastReported, lastReported + 1]).toContain(written.round)
          expect(bytes === killWriterContent(written.round)).toBe(true)
          const names = yield* fs.readDirectory(accountsDir)
          const strays = names.filter((name) => name !== `${ACCOUNT}.ocw-big.json`)
          expect(strays.every(isTempFileName)).toBe(true)
          if (strays.length > 0) roundsWithLeftoverTemp += 1
        }
        // at least one kill landed inside a write, so the test really interrupted writes
        expect(roundsWithLeftoverTemp).toBeGreaterThan(0)

        // the stores read the file as a whole record, and removing the account takes the strays too
        yield* Effect.gen(function*() {
          const files = yield* StateFiles
          const own = accountFiles(yield* StateDir, ACCOUNT).own(ownFileName("big"), ".json")
          expect(own).toBe(target)
          const record = Option.getOrThrow(yield* files.readJson(own, BigRecord))
          expect(record.pad).toHaveLength(KILL_WRITER_PAD_LENGTH)
          yield* (yield* AccountStore).remove(ACCOUNT)
          expect(yield* fs.readDirectory(accountsDir)).toEqual([])
        }).pipe(Effect.provide(State.layerAt(stateDir)))
      }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)),
    120_000
  )
})
