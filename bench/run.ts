/**
 * Benchmark runner: `npm run bench -- <name>` runs bench/<name>.ts, which prints its own report and ends
 * with one `RESULT <name> key=value …` line. The name is checked against the files here, so the argument
 * can never load anything outside this directory.
 */
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts")
  .map((file) => file.slice(0, -".ts".length))
  .sort()

const name = process.argv[2]
if (name === undefined || !available.includes(name)) {
  console.error(
    `${name === undefined ? "no benchmark named" : `unknown benchmark "${name}"`}; ` +
      `run one of: ${available.map((n) => `npm run bench -- ${n}`).join(", ")}`
  )
  process.exit(2)
}
await import(pathToFileURL(join(here, `${name}.ts`)).href)
