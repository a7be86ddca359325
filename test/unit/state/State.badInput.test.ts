import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { statSync } from "node:fs"
import { join, relative } from "node:path"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { ContextTokenStore } from "../../../src/state/ContextTokenStore.js"
import { CursorStore } from "../../../src/state/CursorStore.js"
import { InboxJournal } from "../../../src/state/InboxJournal.js"
import { State, type StateServices } from "../../../src/state/State.js"
import { inStateDirWithWarnings } from "../../support/StateSupport.js"

const ACCOUNT = "b0f5860fdecb-im-bot"
const isRoot = typeof process.getuid === "function" && process.getuid() === 0

const inStateDir = <A, E>(
  body: (stateDir: string, warnings: ReadonlyArray<string>) => Effect.Effect<A, E, StateServices | FileSystem.FileSystem>
) => inStateDirWithWarnings("ocw-bad-", body)

const put = (file: string, text: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(join(file, ".."), { recursive: true })
    yield* fs.writeFileString(file, text)
  })

/** Every file under `dir`, relative to it. */
const listFiles = (dir: string): Effect.Effect<Array<string>, unknown, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const names = yield* fs.readDirectory(dir, { recursive: true })
    const files: Array<string> = []
    for (const name of names) {
      if ((yield* fs.stat(join(dir, name))).type === "File") files.push(name)
    }
    return files.sort()
  })

describe("the state stores with bad stored files", () => {
  it.scoped("reads an accounts.json that is not an array as no accounts, warning once with the file name", () =>
    inStateDir((stateDir, warnings) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const index = join(stateDir, "openclaw-weixin", "accounts.json")
        yield* put(index, "{\"accounts\":[\"a\"]}")
        expect(yield* store.list()).toEqual([])
        expect(yield* store.list()).toEqual([])
        expect(warnings.filter((line) => line.includes(index))).toHaveLength(1)
        yield* put(index, "[\"a\",")
        expect(yield* store.list()).toEqual([])
      })))

  it.scoped("recovers from a corrupt accounts.json on the next registration", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        yield* put(join(stateDir, "openclaw-weixin", "accounts.json"), "not json")
        yield* store.register(ACCOUNT)
        expect(yield* store.list()).toEqual([ACCOUNT])
      })))

  it.scoped("treats an account file of unknown shape as missing, naming the file in a warning", () =>
    inStateDir((stateDir, warnings) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const file = join(stateDir, "openclaw-weixin", "accounts", `${ACCOUNT}.json`)
        yield* put(file, "{\"token\":12345,\"baseUrl\":[]}")
        expect(yield* store.load(ACCOUNT)).toEqual(Option.none())
        expect(warnings.some((line) => line.includes(file))).toBe(true)
        // a login overwrites the broken file with a good one
        yield* store.save(ACCOUNT, { token: Redacted.make("fresh") })
        const saved = Option.getOrThrow(yield* store.load(ACCOUNT))
        expect(saved.token && Redacted.value(saved.token)).toBe("fresh")
      })))

  it.scoped("starts from an empty cursor when the sync file is truncated", () =>
    inStateDir((stateDir, warnings) =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        const file = join(stateDir, "openclaw-weixin", "accounts", `${ACCOUNT}.sync.json`)
        yield* put(file, "{\"get_updates_buf\":\"CgQIAR")
        expect(yield* store.load(ACCOUNT)).toBe("")
        expect(warnings.some((line) => line.includes(file))).toBe(true)
      })))

  it.scoped("falls through a corrupt own sync file to the raw-id file", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        const accounts = join(stateDir, "openclaw-weixin", "accounts")
        yield* put(join(accounts, `${ACCOUNT}.sync.json`), "{\"get_updates_buf\":42}")
        yield* put(join(accounts, "b0f5860fdecb@im.bot.sync.json"), "{\"get_updates_buf\":\"raw\"}")
        expect(yield* store.load(ACCOUNT)).toBe("raw")
      })))

  it.scoped("reads a corrupt or non-object context-token file as no tokens, with a warning", () =>
    inStateDir((stateDir, warnings) =>
      Effect.gen(function*() {
        const store = yield* ContextTokenStore
        const file = join(stateDir, "openclaw-weixin", "accounts", `${ACCOUNT}.context-tokens.json`)
        yield* put(file, "{\"u1\":\"t1\",")
        expect(yield* store.loadTokens(ACCOUNT)).toEqual({})
        expect(warnings.some((line) => line.includes(file))).toBe(true)
        yield* put(file, "[\"t1\"]")
        expect(yield* store.loadTokens(ACCOUNT)).toEqual({})
      })))

  it.scoped("reads a corrupt own record (the context activity) as missing, with a warning", () =>
    inStateDir((stateDir, warnings) =>
      Effect.gen(function*() {
        const store = yield* ContextTokenStore
        const file = join(stateDir, "openclaw-weixin", "accounts", `${ACCOUNT}.ocw-context-activity.json`)
        yield* put(file, "{\"version\":")
        expect(yield* store.loadActivity(ACCOUNT)).toEqual(Option.none())
        expect(warnings.some((line) => line.includes(file))).toBe(true)
      })))
})

describe("the state stores with hostile account ids", () => {
  it.scoped("keeps every file of ids like ../../etc, a/b, .., CON and __proto__ inside the accounts dir", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const cursors = yield* CursorStore
        const journal = yield* InboxJournal
        const hostile = ["../../etc", "a/b", "..", "CON", "__proto__", "/abs/path", "x\u0000y"]
        for (const id of hostile) {
          yield* cursors.save(id, `cursor-of-${id}`)
          yield* store.save(id, { token: Redacted.make("t") })
          yield* journal.append(id, ["line"])
          yield* store.register(id)
        }
        const files = yield* listFiles(stateDir)
        for (const file of files) {
          expect(relative(stateDir, join(stateDir, file)).startsWith("..")).toBe(false)
        }
        expect(files).toEqual([
          "openclaw-weixin/accounts.json",
          "openclaw-weixin/accounts/_con.json",
          "openclaw-weixin/accounts/_con.ocw-inbox.jsonl",
          "openclaw-weixin/accounts/_con.sync.json",
          "openclaw-weixin/accounts/a-b.json",
          "openclaw-weixin/accounts/a-b.ocw-inbox.jsonl",
          "openclaw-weixin/accounts/a-b.sync.json",
          "openclaw-weixin/accounts/abs-path.json",
          "openclaw-weixin/accounts/abs-path.ocw-inbox.jsonl",
          "openclaw-weixin/accounts/abs-path.sync.json",
          "openclaw-weixin/accounts/default.json",
          "openclaw-weixin/accounts/default.ocw-inbox.jsonl",
          "openclaw-weixin/accounts/default.sync.json",
          "openclaw-weixin/accounts/etc.json",
          "openclaw-weixin/accounts/etc.ocw-inbox.jsonl",
          "openclaw-weixin/accounts/etc.sync.json",
          "openclaw-weixin/accounts/x-y.json",
          "openclaw-weixin/accounts/x-y.ocw-inbox.jsonl",
          "openclaw-weixin/accounts/x-y.sync.json"
        ])
        expect(yield* store.list()).toEqual(["etc", "a-b", "default", "_con", "abs-path", "x-y"])
        // ".." and "__proto__" both normalize to "default": the later write wins
        expect(yield* cursors.load("..")).toBe("cursor-of-__proto__")
        yield* store.remove("../../etc")
        expect(yield* cursors.load("etc")).toBe("")
      })))
})

describe("state write failures", () => {
  it.scoped("fails with a StateError naming the path when a file stands where the accounts dir should be", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        const accounts = join(stateDir, "openclaw-weixin", "accounts")
        yield* put(accounts, "I am a file")
        const error = yield* Effect.flip(store.save(ACCOUNT, "c"))
        expect(error._tag).toBe("StateError")
        expect(error.path).toBe(accounts)
        expect(error.message).toContain(accounts)
        expect(error.message).toContain("check the permissions of the OpenClaw state dir")
      })))

  it.scoped("fails with a StateError naming the target when a directory stands where the file should be, leaving no temp file", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        const fs = yield* FileSystem.FileSystem
        const accounts = join(stateDir, "openclaw-weixin", "accounts")
        const target = join(accounts, `${ACCOUNT}.sync.json`)
        yield* fs.makeDirectory(target, { recursive: true })
        const error = yield* Effect.flip(store.save(ACCOUNT, "c"))
        expect(error._tag).toBe("StateError")
        expect(error.operation).toBe("write")
        expect(error.path).toBe(target)
        expect(error.message).toContain(`cannot write ${target}`)
        expect(error.message).toContain("in the way")
        expect(yield* fs.readDirectory(accounts)).toEqual([`${ACCOUNT}.sync.json`])
        // the account file cannot even be read back for merging, and says so
        const accountFile = join(accounts, `${ACCOUNT}.json`)
        yield* fs.makeDirectory(accountFile)
        const saveError = yield* Effect.flip((yield* AccountStore).save(ACCOUNT, { token: Redacted.make("t") }))
        expect(saveError.path).toBe(accountFile)
        // the failure touched nothing else: other accounts still save
        yield* store.save("other", "c")
        expect(yield* store.load("other")).toBe("c")
      })))

  it.scoped("fails with a StateError when a directory stands where the journal should be", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const journal = yield* InboxJournal
        const fs = yield* FileSystem.FileSystem
        const target = join(stateDir, "openclaw-weixin", "accounts", `${ACCOUNT}.ocw-inbox.jsonl`)
        yield* fs.makeDirectory(target, { recursive: true })
        const error = yield* Effect.flip(journal.append(ACCOUNT, ["x"]))
        expect(error.path).toBe(target)
        expect(error.operation).toBe("append")
        const readError = yield* Effect.flip(journal.read(ACCOUNT))
        expect(readError.path).toBe(target)
        expect(readError.operation).toBe("read")
      })))

  it.scoped.skipIf(isRoot)("fails with a permission StateError in a read-only (0500) state dir", () =>
    inStateDir((stateDir) =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        const fs = yield* FileSystem.FileSystem
        const accounts = join(stateDir, "openclaw-weixin", "accounts")
        yield* fs.makeDirectory(accounts, { recursive: true })
        yield* fs.chmod(accounts, 0o500)
        const error = yield* Effect.flip(store.save(ACCOUNT, "c"))
        yield* fs.chmod(accounts, 0o700)
        expect(error.message).toContain("permission denied")
        expect(error.path).toBe(join(accounts, `${ACCOUNT}.sync.json`))
      })))

  // Root ignores mode bits, so the 0500 test above cannot run as root; sysfs refuses new entries to anyone.
  const sysfsRefusesWrites = (() => {
    try {
      statSync("/sys/kernel")
      return true
    } catch {
      return false
    }
  })()
  it.scoped.runIf(isRoot && sysfsRefusesWrites)("fails with a permission StateError naming the path in a state dir that refuses writes even to root", () =>
    Effect.gen(function*() {
      const store = yield* CursorStore
      const error = yield* Effect.flip(store.save(ACCOUNT, "c"))
      expect(error._tag).toBe("StateError")
      expect(error.path.startsWith("/sys/openclaw-weixin")).toBe(true)
      expect(error.message).toContain(error.path)
      expect(error.message).toContain("permission denied")
      expect(error.message).toContain("check the permissions of the OpenClaw state dir")
      // nothing was created and the failure is not sticky for reads
      expect(yield* store.load(ACCOUNT)).toBe("")
    }).pipe(Effect.provide(State.layerAt("/sys"))))
})
