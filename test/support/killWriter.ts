/**
 * Child process for the atomic-write crash test: rewrites one large file through `writeFileAtomic` in a
 * loop until it is killed. Each round's bytes are fully determined by the round number (see
 * `killWriterContent`), so the parent can tell a complete file from a mixed or truncated one.
 *
 * Usage: node --import tsx test/support/killWriter.ts <target file> <first round>
 * Prints `wrote <round>` on stdout after each completed write.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Effect, Layer } from "effect"
import { writeFileAtomic } from "../../src/state/AtomicFile.js"
import { killWriterContent } from "./killWriterContent.js"

const [target, firstRoundText] = process.argv.slice(2)
if (target === undefined || firstRoundText === undefined) {
  process.stderr.write("usage: killWriter.ts <target file> <first round>\n")
  process.exit(2)
}
const firstRound = Number(firstRoundText)
const encoder = new TextEncoder()

const writeRound = (round: number) =>
  writeFileAtomic(target, encoder.encode(killWriterContent(round))).pipe(
    Effect.zipRight(Effect.sync(() => process.stdout.write(`wrote ${round}\n`)))
  )

const loop = (round: number): Effect.Effect<never, unknown, never> =>
  writeRound(round).pipe(
    Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)),
    Effect.zipRight(Effect.suspend(() => loop(round + 1)))
  )

Effect.runPromise(loop(firstRound)).catch((error: unknown) => {
  process.stderr.write(`killWriter failed: ${String(error)}\n`)
  process.exit(1)
})
