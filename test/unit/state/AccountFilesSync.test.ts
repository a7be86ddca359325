import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as Fs from "node:fs"
import { listAccountIdsSync, loadStoredAccountSync } from "../../../src/state/AccountFilesSync.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { statePathsFor } from "../../../src/state/StatePaths.js"
import { inStateDir, OWNER, RAW_ONLY } from "../../support/StateSupport.js"

const tokenOf = (account: Option.Option<{ readonly token?: Redacted.Redacted<string> | undefined }>) =>
  Option.getOrUndefined(Option.flatMap(account, (a) => Option.fromNullable(a.token).pipe(Option.map(Redacted.value))))

describe("AccountFilesSync", () => {
  it.scoped("reads the same accounts and credentials as AccountStore, fallbacks included", () =>
    inStateDir({ fixture: true }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* AccountStore
        const paths = statePathsFor(stateDir)
        expect(listAccountIdsSync(paths)).toEqual(yield* store.list())
        for (const id of [OWNER, "b0f5860fdecb@im.bot", RAW_ONLY, "never-logged-in"]) {
          const sync = loadStoredAccountSync(paths, id)
          const viaStore = yield* store.load(id)
          expect(tokenOf(sync)).toBe(tokenOf(viaStore))
          expect(Option.map(sync, (a) => [a.savedAt, a.baseUrl, a.userId])).toEqual(
            Option.map(viaStore, (a) => [a.savedAt, a.baseUrl, a.userId])
          )
        }
        expect(tokenOf(loadStoredAccountSync(paths, RAW_ONLY))).toBe("fixture-token-7c1e-raw")
        expect(tokenOf(loadStoredAccountSync(paths, "never-logged-in"))).toBe("fixture-legacy-token")
        // after a removal neither sees the account
        Fs.rmSync(`${stateDir}/credentials/openclaw-weixin/credentials.json`)
        yield* store.remove(RAW_ONLY)
        expect(listAccountIdsSync(paths)).toEqual([OWNER])
        expect(loadStoredAccountSync(paths, RAW_ONLY)).toEqual(Option.none())
      })))
})
