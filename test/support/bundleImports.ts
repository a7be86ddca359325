/**
 * What a built bundle still imports at run time. Static and dynamic `import`s come from esbuild's own
 * parser (no false matches inside string literals); `require(...)` / `__require(...)` calls, which the
 * bundle makes for CommonJS dependencies through its `createRequire` banner, are found by a scan.
 */
import { build } from "esbuild"
import { readFileSync } from "node:fs"
import { builtinModules } from "node:module"

export const bundleSpecifiers = async (file: string): Promise<ReadonlyArray<string>> => {
  const analysis = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    // nothing is resolved: every import is recorded as it is written
    external: ["*"],
    logLevel: "silent"
  })
  const parsed = Object.values(analysis.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path))
  const required = [...readFileSync(file, "utf8").matchAll(/(?<![\w$.])(?:__require|require)\(\s*["']([^"']+)["']\s*\)/g)]
    .map((m) => m[1]!)
  return [...new Set([...parsed, ...required])].sort()
}

const builtins: ReadonlySet<string> = new Set(builtinModules)

/** Node built-ins (`node:x`, or a bare name Node lists as built in) and the host (`openclaw`, `openclaw/*`). */
export const isHostProvided = (specifier: string): boolean =>
  specifier.startsWith("node:") || builtins.has(specifier) || specifier === "openclaw" || specifier.startsWith("openclaw/")
