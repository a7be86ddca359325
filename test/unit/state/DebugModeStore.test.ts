import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DebugModeStore } from "../../../src/state/DebugModeStore.js"
import { State } from "../../../src/state/State.js"
import { StateFiles } from "../../../src/state/StateFiles.js"

const ACCOUNT = "b0f5860fdecb-im-bot"
const HOUR_S = 60 * 60

/** The store on a real state dir, with the number of times it has read the file. */
const world = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "debugmode-"))
  const reads = { count: 0 }
  const counting = Layer.effect(
    StateFiles,
    Effect.map(StateFiles, (real) =>
      StateFiles.of({
        ...real,
        readJsonLeniently: (file, schema) => Effect.zipRight(Effect.sync(() => void reads.count++), real.readJsonLeniently(file, schema))
      }))
  )
  // fresh: State.layerAt builds this same layer over the plain files, and a build shares equal layers
  const layer = Layer.fresh(DebugModeStore.DefaultWithoutDependencies).pipe(Layer.provide(counting), Layer.provide(State.layerAt(dir)))
  return { reads, layer }
}

/** Writes the file in place (same inode) and dates it `ageS` seconds back. */
const writeInPlace = (file: string, text: string, ageS: number) => {
  const fd = fs.openSync(file, "r+")
  fs.ftruncateSync(fd, 0)
  fs.writeSync(fd, text, 0)
  fs.closeSync(fd)
  const at = Date.now() / 1000 - ageS
  fs.utimesSync(file, at, at)
}

describe("DebugModeStore", () => {
  it.effect("reads the file only when it changed; a missing file is off and is not read again", () => {
    const w = world()
    return Effect.gen(function*() {
      const store = yield* DebugModeStore
      expect(yield* store.isOn(ACCOUNT)).toBe(false)
      expect(yield* store.isOn(ACCOUNT)).toBe(false)
      expect(w.reads.count).toBe(1)
      expect(yield* store.toggle(ACCOUNT)).toBe(true)
      const afterToggle = w.reads.count
      // written just now: too fresh to trust its time, so it is read on each check until it is older
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      expect(w.reads.count).toBe(afterToggle + 1)
      const at = Date.now() / 1000 - HOUR_S
      fs.utimesSync(store.file, at, at)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      expect(w.reads.count).toBe(afterToggle + 2)
    }).pipe(Effect.provide(w.layer))
  })

  it.effect("an edit by hand takes effect at the next check, even in place with the same size", () => {
    const w = world()
    return Effect.gen(function*() {
      const store = yield* DebugModeStore
      yield* store.toggle(ACCOUNT)
      writeInPlace(store.file, `{"accounts":{"${ACCOUNT}":true }}`, 2 * HOUR_S)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      const reads = w.reads.count
      // same inode, same size: only the modification time tells
      writeInPlace(store.file, `{"accounts":{"${ACCOUNT}":false}}`, HOUR_S)
      expect(yield* store.isOn(ACCOUNT)).toBe(false)
      expect(w.reads.count).toBe(reads + 1)
      fs.rmSync(store.file)
      expect(yield* store.isOn(ACCOUNT)).toBe(false)
      fs.writeFileSync(store.file, `{"accounts":{"${ACCOUNT}":true}}`)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
    }).pipe(Effect.provide(w.layer))
  })

  it.effect("a file changed within the file system's clock tick, its time unmoved, is still seen while it is fresh", () => {
    const w = world()
    return Effect.gen(function*() {
      const store = yield* DebugModeStore
      fs.mkdirSync(path.dirname(store.file), { recursive: true })
      fs.writeFileSync(store.file, `{"accounts":{"${ACCOUNT}":true }}`)
      // a whole millisecond of now, so the same time can be set again exactly
      const tick = new Date(Date.now())
      fs.utimesSync(store.file, tick, tick)
      expect(yield* store.isOn(ACCOUNT)).toBe(true)
      // rewritten in place, same size, and its time put back: only its freshness makes the store look again
      writeInPlace(store.file, `{"accounts":{"${ACCOUNT}":false}}`, 0)
      fs.utimesSync(store.file, tick, tick)
      expect(yield* store.isOn(ACCOUNT)).toBe(false)
    }).pipe(Effect.provide(w.layer))
  })
})
