/**
 * The import rule of docs/ARCHITECTURE.md: `wire ← domain ← config ← {ilink, state} ← account ← login ←
 * host ← plugin`. A folder of src/ may import only from itself and from folders to its left (ilink and
 * state stand side by side and may not import each other), and no file may take part in an import cycle.
 * The shipped code also never imports from sandbox/ or test/.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const src = join(root, "src")

/** Rank of each folder; a folder may import folders of a lower rank, or its own. */
const RANK: Readonly<Record<string, number>> = {
  wire: 0,
  domain: 1,
  config: 2,
  ilink: 3,
  state: 3,
  account: 4,
  login: 5,
  host: 6,
  plugin: 7
}

const listTs = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return listTs(path)
    return name.endsWith(".ts") ? [path] : []
  })

/** Relative import specifiers of a file (static imports, re-exports, dynamic imports). */
const importsOf = (file: string): Array<string> => {
  const text = readFileSync(file, "utf8")
  const found: Array<string> = []
  const pattern = /(?:^|\n)\s*(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g
  for (const match of text.matchAll(pattern)) {
    const spec = match[1] ?? match[2]
    if (spec !== undefined && spec.startsWith(".")) found.push(spec)
  }
  return found
}

const resolveImport = (from: string, spec: string): string =>
  normalize(join(dirname(from), spec.replace(/\.js$/, ".ts")))

const folderOf = (file: string): string => relative(src, file).split("/")[0] ?? ""

const files = listTs(src)
const edges = new Map<string, Array<string>>(
  files.map((file) => [file, importsOf(file).map((spec) => resolveImport(file, spec))])
)

describe("the import rule", () => {
  it("knows every folder of src/", () => {
    const unknown = [...new Set(files.map(folderOf))].filter((folder) => !(folder in RANK))
    expect(unknown).toEqual([])
  })

  it("has no upward import: a folder imports only itself and folders to its left", () => {
    const upward: Array<string> = []
    for (const [file, targets] of edges) {
      const from = folderOf(file)
      for (const target of targets) {
        const rel = relative(src, target)
        if (rel.startsWith("..")) {
          // outside src/: only package.json (read for the plugin's own identity) is allowed
          if (relative(root, target) !== "package.json") upward.push(`${relative(root, file)} -> ${relative(root, target)}`)
          continue
        }
        const to = folderOf(target)
        const allowed = to === from || (RANK[to] ?? Infinity) < (RANK[from] ?? -Infinity)
        if (!allowed) upward.push(`${relative(root, file)} -> ${relative(root, target)}`)
      }
    }
    expect(upward).toEqual([])
  })

  it("has no import cycle in src/", () => {
    const cycles: Array<string> = []
    const state = new Map<string, "visiting" | "done">()
    const stack: Array<string> = []
    const visit = (file: string): void => {
      state.set(file, "visiting")
      stack.push(file)
      for (const target of edges.get(file) ?? []) {
        if (!edges.has(target)) continue
        const seen = state.get(target)
        if (seen === "visiting") {
          const cycle = stack.slice(stack.indexOf(target)).concat(target)
          cycles.push(cycle.map((f) => relative(src, f)).join(" -> "))
        } else if (seen === undefined) visit(target)
      }
      stack.pop()
      state.set(file, "done")
    }
    for (const file of files) if (!state.has(file)) visit(file)
    expect(cycles).toEqual([])
  })

  it("keeps sandbox/ and test/ out of shipped code", () => {
    const shipped = [...files, join(root, "index.ts")]
    const leaks = shipped.flatMap((file) =>
      importsOf(file).map((spec) => relative(root, resolveImport(file, spec)))
        .filter((target) => target.startsWith("sandbox/") || target.startsWith("test/"))
        .map((target) => `${relative(root, file)} -> ${target}`)
    )
    expect(leaks).toEqual([])
  })

  it("keeps sandbox/ independent of test/", () => {
    const leaks = listTs(join(root, "sandbox")).flatMap((file) =>
      importsOf(file).map((spec) => relative(root, resolveImport(file, spec)))
        .filter((target) => target.startsWith("test/"))
        .map((target) => `${relative(root, file)} -> ${target}`)
    )
    expect(leaks).toEqual([])
  })
})
