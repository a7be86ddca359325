import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { InboxJournal } from "../../../src/state/InboxJournal.js"
import { State, type StateServices } from "../../../src/state/State.js"
import { inStateDirWithWarnings } from "../../support/StateSupport.js"

const ACCOUNT = "b0f5860fdecb-im-bot"

const inStateDir = <A, E>(
  body: (stateDir: string, warnings: ReadonlyArray<string>) => Effect.Effect<A, E, StateServices | FileSystem.FileSystem>
) => inStateDirWithWarnings("ocw-journal-", body)

const journalFile = (stateDir: string) => join(stateDir, "openclaw-weixin", "accounts", `${ACCOUNT}.ocw-inbox.jsonl`)

describe("InboxJournal", () => {
  it.scoped("reads back appended lines in order across several appends", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        const fs = yield* FileSystem.FileSystem
        expect(yield* journal.read(ACCOUNT)).toEqual([])
        yield* journal.append(ACCOUNT, ["{\"n\":1}", "{\"n\":2}"])
        yield* journal.append(ACCOUNT, [])
        yield* journal.append(ACCOUNT, ["{\"n\":3}"])
        expect(yield* journal.read(ACCOUNT)).toEqual(["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
        expect(yield* fs.readFileString(journalFile(stateDir))).toBe("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n")
        expect((yield* fs.stat(journalFile(stateDir))).mode & 0o777).toBe(0o600)
      })))

  it.scoped("names the file the journal is written to, for any spelling of the account id", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        yield* journal.append(ACCOUNT, ["{\"n\":1}"])
        expect(journal.path(ACCOUNT)).toBe(journalFile(stateDir))
        expect(journal.path("b0f5860fdecb@im.bot")).toBe(journalFile(stateDir))
      })))

  it.scoped("drops a truncated last line left by a crash, with a warning", () =>
    inStateDir((stateDir, warnings) =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        const fs = yield* FileSystem.FileSystem
        yield* journal.append(ACCOUNT, ["{\"n\":1}"])
        yield* fs.writeFileString(journalFile(stateDir), "{\"n\":2", { flag: "a" })
        expect(yield* journal.read(ACCOUNT)).toEqual(["{\"n\":1}"])
        expect(warnings.some((line) => line.includes(journalFile(stateDir)))).toBe(true)
      })))

  it.scoped("keeps lines appended after a crash whole, with the torn fragment on its own line", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        const fs = yield* FileSystem.FileSystem
        yield* journal.append(ACCOUNT, ["{\"n\":1}"])
        yield* fs.writeFileString(journalFile(stateDir), "{\"n\":2", { flag: "a" })
        // the next process, with state files of its own, appends after the crash
        yield* Effect.flatMap(InboxJournal, (restarted) => restarted.append(ACCOUNT, ["{\"n\":3}"])).pipe(
          Effect.provide(State.layerAt(stateDir))
        )
        // the fragment is returned as its own (corrupt) line; deciding what it means is the caller's job
        expect(yield* journal.read(ACCOUNT)).toEqual(["{\"n\":1}", "{\"n\":2", "{\"n\":3}"])
      })))

  it.scoped("replace rewrites the whole journal atomically and leaves no temp file", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        const fs = yield* FileSystem.FileSystem
        yield* journal.append(ACCOUNT, ["a", "b", "c"])
        yield* journal.replace(ACCOUNT, ["c"])
        expect(yield* journal.read(ACCOUNT)).toEqual(["c"])
        yield* journal.append(ACCOUNT, ["d"])
        expect(yield* journal.read(ACCOUNT)).toEqual(["c", "d"])
        yield* journal.replace(ACCOUNT, [])
        expect(yield* journal.read(ACCOUNT)).toEqual([])
        const names = yield* fs.readDirectory(join(stateDir, "openclaw-weixin", "accounts"))
        expect(names).toEqual([`${ACCOUNT}.ocw-inbox.jsonl`])
      })))

  it.scoped("refuses a line containing a newline without touching the journal", () =>
    inStateDir(() =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        yield* journal.append(ACCOUNT, ["ok"])
        const error = yield* Effect.flip(journal.append(ACCOUNT, ["fine", "two\nlines"]))
        expect(error._tag).toBe("StateError")
        expect(error.message).toContain("newline")
        const replaceError = yield* Effect.flip(journal.replace(ACCOUNT, ["x\ny"]))
        expect(replaceError._tag).toBe("StateError")
        expect(yield* journal.read(ACCOUNT)).toEqual(["ok"])
      })))

  it.scoped("keeps the journals of different accounts apart", () =>
    inStateDir(() =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        yield* journal.append(ACCOUNT, ["mine"])
        yield* journal.append("other-im-bot", ["theirs"])
        expect(yield* journal.read(ACCOUNT)).toEqual(["mine"])
        expect(yield* journal.read("other-im-bot")).toEqual(["theirs"])
      })))
})
