import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
// @ts-expect-error plain JS script without type declarations
import { platformOf } from "../../scripts/complete-lockfile.mjs"

// `npm ci` refuses a lock that lacks an optional platform package; the registry reachable here lacks
// some of them, so `npm install` drops them and scripts/complete-lockfile.mjs puts them back.
const lock = JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "package-lock.json"), "utf8")) as {
  packages: Record<string, { optionalDependencies?: Record<string, string> }>
}

describe("package-lock.json", () => {
  it("has an entry for every optional dependency of every locked package, so npm ci accepts it", () => {
    const missing = Object.entries(lock.packages).flatMap(([path, entry]) =>
      Object.keys(entry.optionalDependencies ?? {}).filter((name) =>
        lock.packages[`${path === "" ? "" : `${path}/`}node_modules/${name}`] === undefined &&
        lock.packages[`node_modules/${name}`] === undefined
      )
    )
    expect(missing, "run: node scripts/complete-lockfile.mjs").toEqual([])
  })

  it("reads a platform from a package name the way npm would match it", () => {
    expect(platformOf("@rollup/rollup-linux-arm-musleabihf")).toEqual({ os: ["linux"], cpu: ["arm"], libc: ["musl"] })
    expect(platformOf("@rollup/rollup-linux-x64-gnu")).toEqual({ os: ["linux"], cpu: ["x64"], libc: ["glibc"] })
    expect(platformOf("@msgpackr-extract/msgpackr-extract-win32-x64")).toEqual({ os: ["win32"], cpu: ["x64"] })
    expect(platformOf("left-pad")).toBeUndefined()
  })
})
