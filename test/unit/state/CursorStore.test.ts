import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { CursorStore } from "../../../src/state/CursorStore.js"
import { inStateDir, modeOf, OWNER, RAW_ONLY, readText } from "../../support/StateSupport.js"

describe("CursorStore", () => {
  it.scoped("loads the cursor from the own file, then the raw-id file, then the legacy default file", () =>
    inStateDir({ fixture: true }, () =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        expect(yield* store.load(OWNER)).toBe("CgQIARAB-fixture-cursor")
        expect(yield* store.load(RAW_ONLY)).toBe("raw-id-cursor")
        expect(yield* store.load("other")).toBe("legacy-default-cursor")
      })))

  it.scoped("starts from an empty cursor when no sync file exists", () =>
    inStateDir({ fixture: false }, () =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        expect(yield* store.load(OWNER)).toBe("")
      })))

  it.scoped("writes the cursor as compact JSON with mode 0600", () =>
    inStateDir({ fixture: false }, (stateDir) =>
      Effect.gen(function*() {
        const store = yield* CursorStore
        const file = join(stateDir, "openclaw-weixin", "accounts", `${OWNER}.sync.json`)
        yield* store.save(OWNER, "cursor-2")
        expect(yield* readText(file)).toBe("{\"get_updates_buf\":\"cursor-2\"}")
        expect(yield* modeOf(file)).toBe(0o600)
        expect(yield* store.load(OWNER)).toBe("cursor-2")
      })))
})
