/**
 * What ships never starts another process or thread: the plugin runs inside the host's gateway and CLI
 * processes, where a child process or a worker would outlive a stop, escape the host's supervision and
 * double its memory. The sandbox, the tests and the benchmarks may (they are not shipped).
 */
import { describe, expect, it } from "vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

const root = join(import.meta.dirname, "..", "..")
const shipped = [join(root, "src"), join(root, "index.ts")]

const filesUnder = (path: string): Array<string> =>
  statSync(path).isDirectory()
    ? readdirSync(path).flatMap((name) => filesUnder(join(path, name)))
    : /\.(ts|mts|cts|js|mjs|cjs)$/.test(path)
    ? [path]
    : []

/** The ways a module could start a process or a thread, or signal one. */
const spawnsOrSignals = (text: string): ReadonlyArray<string> => {
  const found: Array<string> = []
  if (/["'](node:)?child_process["']/.test(text)) found.push("child_process")
  if (/["'](node:)?worker_threads["']/.test(text)) found.push("worker_threads")
  if (/\bprocess\s*\.\s*kill\s*\(/.test(text)) found.push("process.kill")
  if (/\bnew\s+Worker\s*\(/.test(text)) found.push("new Worker")
  return found
}

describe("no child processes in what ships", () => {
  it("recognises each way in when it sees one", () => {
    expect(spawnsOrSignals(`import { spawn } from "node:child_process"`)).toEqual(["child_process"])
    expect(spawnsOrSignals(`const cp = require('child_process')`)).toEqual(["child_process"])
    expect(spawnsOrSignals(`const { Worker } = await import("worker_threads"); new Worker(url)`))
      .toEqual(["worker_threads", "new Worker"])
    expect(spawnsOrSignals(`process.kill(pid, "SIGTERM")`)).toEqual(["process.kill"])
    expect(spawnsOrSignals(`import { Effect } from "effect" // a child fiber is fine`)).toEqual([])
  })

  it("src/ and index.ts use none of child_process, worker_threads or process.kill", () => {
    const offenders = shipped
      .flatMap(filesUnder)
      .map((file) => ({ file: relative(root, file), found: spawnsOrSignals(readFileSync(file, "utf8")) }))
      .filter((entry) => entry.found.length > 0)
    expect(offenders).toEqual([])
  })
})
