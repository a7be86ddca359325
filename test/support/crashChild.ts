/**
 * Child process of the crash test: runs one account the production way (the AccountRunner: stored login,
 * resolved settings, the real AccountActor, real ILinkApi over HTTP, real state stores) against the
 * emulator of the parent, until it is killed. The parent stored the login in the state dir.
 *
 * Its AgentTurns records each turn by appending `dispatched <key>` to a file with fsync. That record is the
 * turn's side effect, and it is idempotent by message key, which is what makes "exactly once" hold:
 * - the Inbox guarantees at-least-once dispatch of every message it has acknowledged to the server (the
 *   claim is durable before the cursor moves; the done mark is written only after the turn);
 * - a SIGKILL between the dispatch record and the done mark makes the next run dispatch the key again;
 *   the AgentTurns finds the key already recorded and does nothing, so the effect happens exactly once.
 * Only one child runs at a time (the parent waits for each exit), so check-then-append cannot race
 * across processes, and within one run the Inbox never dispatches a key twice.
 *
 * Usage: node --import tsx test/support/crashChild.ts <botId> <stateDir> <dispatchFile>
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { AccountRunner } from "../../src/account/AccountRunner.js"
import { makeAccountState } from "../../src/account/AccountStatus.js"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import { type AgentTurnsService, TurnOutcome } from "../../src/account/AgentTurns.js"
import { defaultChannelConfig } from "../../src/config/ChannelConfig.js"
import { ActorTuning } from "../../src/config/Tuning.js"
import { ILinkApi } from "../../src/ilink/ILinkApi.js"
import { State } from "../../src/state/State.js"
import { InboundMediaStore } from "../../src/account/InboundMediaStore.js"

const [botId, stateDir, dispatchFile] = process.argv.slice(2)
if (botId === undefined || stateDir === undefined || dispatchFile === undefined) {
  process.stderr.write("usage: crashChild.ts <botId> <stateDir> <dispatchFile>\n")
  process.exit(2)
}

/** Keys whose turn already produced its effect, from complete lines of the dispatch file. */
const recorded = new Set<string>()
if (fs.existsSync(dispatchFile)) {
  const lines = fs.readFileSync(dispatchFile, "utf8").split("\n")
  lines.pop() // "" after the last newline; a line cut by a kill cannot occur (one small write each)
  for (const line of lines) if (line.startsWith("dispatched ")) recorded.add(line.slice("dispatched ".length))
}

const appendLine = (line: string) => {
  const fd = fs.openSync(dispatchFile, "a", 0o600)
  try {
    fs.writeSync(fd, `${line}\n`)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

const recordDispatch = (key: string) =>
  Effect.sync(() => {
    // "again" lines let the test count kills that landed between a turn and its done mark
    if (recorded.has(key)) return appendLine(`again ${key}`)
    appendLine(`dispatched ${key}`)
    recorded.add(key)
  })

const host: AgentTurnsService = {
  run: (turn) => recordDispatch(turn.claimed.key).pipe(Effect.as(TurnOutcome.Completed({ replies: 0 })))
}

const accountId = normalizeAccountId(botId)
const layer = AccountRunner.layer.pipe(
  Layer.provide(Layer.succeed(ActorTuning, { initialPollTimeoutMs: 2_000, backoffBaseMs: 100, backoffCapMs: 500 })),
  Layer.provideMerge(Layer.mergeAll(ILinkApi.Default, State.layerAt(stateDir), InboundMediaStore.layerMemory))
)

const program = Effect.gen(function*() {
  const runner = yield* AccountRunner
  const state = yield* makeAccountState
  yield* runner.run(accountId, { turns: host, config: defaultChannelConfig }, { state })
  yield* Effect.never
}).pipe(Effect.provide(layer))

Effect.runPromise(program).catch((error: unknown) => {
  process.stderr.write(`actor child failed: ${String(error)}\n`)
  process.exit(1)
})
