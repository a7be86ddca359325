import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { StateStore } from "../../../src/state/StateStore.js"
import { inStateDirWithWarnings } from "../../support/StateStoreSupport.js"

const ACCOUNT = "b0f5860fdecb-im-bot"

const inStateDir = <A, E>(
  body: (stateDir: string, warnings: ReadonlyArray<string>) => Effect.Effect<A, E, StateStore | FileSystem.FileSystem>
) => inStateDirWithWarnings("ocw-journal-", body)

const journalFile = (stateDir: string, name: string) =>
  join(stateDir, "openclaw-weixin", "accounts", `${ACCOUNT}.ocw-${name}.jsonl`)

describe("StateStore journal", () => {
  it.scoped("reads back appended lines in order across several appends", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const fs = yield* FileSystem.FileSystem
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual([])
        yield* store.appendJournal(ACCOUNT, "inbox", ["{\"n\":1}", "{\"n\":2}"])
        yield* store.appendJournal(ACCOUNT, "inbox", [])
        yield* store.appendJournal(ACCOUNT, "inbox", ["{\"n\":3}"])
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual(["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
        expect(yield* fs.readFileString(journalFile(stateDir, "inbox"))).toBe("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n")
        expect((yield* fs.stat(journalFile(stateDir, "inbox"))).mode & 0o777).toBe(0o600)
      })))

  it.scoped("names the file the journal is written to, for any spelling of the account id", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* store.appendJournal(ACCOUNT, "inbox", ["{\"n\":1}"])
        expect(store.journalPath(ACCOUNT, "inbox")).toBe(journalFile(stateDir, "inbox"))
        expect(store.journalPath("b0f5860fdecb@im.bot", "inbox")).toBe(journalFile(stateDir, "inbox"))
      })))

  it.scoped("drops a truncated last line left by a crash, with a warning", () =>
    inStateDir((stateDir, warnings) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const fs = yield* FileSystem.FileSystem
        yield* store.appendJournal(ACCOUNT, "inbox", ["{\"n\":1}"])
        yield* fs.writeFileString(journalFile(stateDir, "inbox"), "{\"n\":2", { flag: "a" })
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual(["{\"n\":1}"])
        expect(warnings.some((line) => line.includes(journalFile(stateDir, "inbox")))).toBe(true)
      })))

  it.scoped("keeps lines appended after a crash whole, with the torn fragment on its own line", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const fs = yield* FileSystem.FileSystem
        yield* store.appendJournal(ACCOUNT, "inbox", ["{\"n\":1}"])
        yield* fs.writeFileString(journalFile(stateDir, "inbox"), "{\"n\":2", { flag: "a" })
        yield* store.appendJournal(ACCOUNT, "inbox", ["{\"n\":3}"])
        // the fragment is returned as its own (corrupt) line; deciding what it means is the caller's job
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual(["{\"n\":1}", "{\"n\":2", "{\"n\":3}"])
      })))

  it.scoped("replaceJournal rewrites the whole journal atomically and leaves no temp file", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        const fs = yield* FileSystem.FileSystem
        yield* store.appendJournal(ACCOUNT, "inbox", ["a", "b", "c"])
        yield* store.replaceJournal(ACCOUNT, "inbox", ["c"])
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual(["c"])
        yield* store.appendJournal(ACCOUNT, "inbox", ["d"])
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual(["c", "d"])
        yield* store.replaceJournal(ACCOUNT, "inbox", [])
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual([])
        const names = yield* fs.readDirectory(join(stateDir, "openclaw-weixin", "accounts"))
        expect(names).toEqual([`${ACCOUNT}.ocw-inbox.jsonl`])
      })))

  it.scoped("refuses a line containing a newline without touching the journal", () =>
    inStateDir(() =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* store.appendJournal(ACCOUNT, "inbox", ["ok"])
        const error = yield* Effect.flip(store.appendJournal(ACCOUNT, "inbox", ["fine", "two\nlines"]))
        expect(error._tag).toBe("StateError")
        expect(error.message).toContain("newline")
        const replaceError = yield* Effect.flip(store.replaceJournal(ACCOUNT, "inbox", ["x\ny"]))
        expect(replaceError._tag).toBe("StateError")
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual(["ok"])
      })))

  it.scoped("keeps journals of different accounts and names apart", () =>
    inStateDir(() =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* store.appendJournal(ACCOUNT, "inbox", ["mine"])
        yield* store.appendJournal("other-im-bot", "inbox", ["theirs"])
        yield* store.appendJournal(ACCOUNT, "outbox", ["sent"])
        expect(yield* store.readJournal(ACCOUNT, "inbox")).toEqual(["mine"])
        expect(yield* store.readJournal("other-im-bot", "inbox")).toEqual(["theirs"])
        expect(yield* store.readJournal(ACCOUNT, "outbox")).toEqual(["sent"])
      })))
})
