import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StateFiles } from "../../../src/state/StateFiles.js"

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "statefiles-")), "accounts", name)
const read = (file: string) => fs.readFileSync(file, "utf8")

describe("StateFiles appends", () => {
  it.effect("a journal cut mid-line by an earlier process keeps the fragment on its own line", () => {
    const file = tempFile("a.jsonl")
    return Effect.gen(function*() {
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, "one\ntorn")
      const files = yield* StateFiles
      yield* files.appendLines(file, ["two"])
      yield* files.appendLines(file, ["three", "four"])
      expect(read(file)).toBe("one\ntorn\ntwo\nthree\nfour\n")
    }).pipe(Effect.provide(StateFiles.layer))
  })

  it.effect("after its own whole write it no longer looks at the file's end: a fragment written behind its back is not separated", () => {
    const file = tempFile("b.jsonl")
    return Effect.gen(function*() {
      const files = yield* StateFiles
      yield* files.appendLines(file, ["one"])
      // not something the plugin supports (one process owns a state dir); it shows the check is skipped
      fs.appendFileSync(file, "outsider")
      yield* files.appendLines(file, ["two"])
      expect(read(file)).toBe("one\noutsidertwo\n")
    }).pipe(Effect.provide(StateFiles.layer))
  })

  it.effect("text that ends mid-line, a removed file and a failed append each bring the check back", () => {
    const file = tempFile("c.jsonl")
    return Effect.gen(function*() {
      const files = yield* StateFiles
      yield* files.writeText(file, "whole\n")
      yield* files.appendLines(file, ["a"])
      yield* files.writeText(file, "no newline")
      yield* files.appendLines(file, ["b"])
      expect(read(file)).toBe("no newline\nb\n")
      yield* files.remove(file)
      yield* files.appendLines(file, ["c"])
      expect(read(file)).toBe("c\n")
      // a failed append (a directory in the file's place), then the file back as a crash could leave it
      fs.rmSync(file)
      fs.mkdirSync(file)
      const failed = yield* Effect.flip(files.appendLines(file, ["d"]))
      expect(failed.operation).toBe("append")
      fs.rmdirSync(file)
      fs.writeFileSync(file, "c\ntorn")
      yield* files.appendLines(file, ["e"])
      expect(read(file)).toBe("c\ntorn\ne\n")
    }).pipe(Effect.provide(StateFiles.layer))
  })
})
