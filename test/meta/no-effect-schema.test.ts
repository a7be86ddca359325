import { describe, expect, it } from "vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

// Schema ships inside `effect`; the standalone @effect/schema package is a different implementation
// whose schemas the platform modules reject.
const root = join(import.meta.dirname, "..", "..")
const skip = new Set(["node_modules", "dist", ".git", ".cache", "coverage"])
const sourceFile = /\.(ts|mts|cts|js|mjs|cjs)$/

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    if (skip.has(name)) return []
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return sourceFile.test(name) ? [path] : []
  })

const importsEffectSchema = (text: string): boolean =>
  /(from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)["']@effect\/schema(\/[^"']*)?["']/.test(text)

describe("imports", () => {
  it("recognises an @effect/schema import when it sees one", () => {
    expect(importsEffectSchema(`import { Schema } from "@effect/schema"`)).toBe(true)
    expect(importsEffectSchema(`const s = await import('@effect/schema/Schema')`)).toBe(true)
    expect(importsEffectSchema(`import { Schema } from "effect"`)).toBe(false)
  })

  it("no project file imports @effect/schema", () => {
    const offenders = sourceFiles(root)
      .filter((file) => !file.endsWith("no-effect-schema.test.ts"))
      .filter((file) => importsEffectSchema(readFileSync(file, "utf8")))
      .map((file) => relative(root, file))
    expect(offenders).toEqual([])
  })
})
