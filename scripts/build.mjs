/**
 * Bundles the plugin entry (index.ts) into one ESM file, dist/index.js, for installed packages
 * (package.json `openclaw.runtimeExtensions`). Every dependency (effect, @effect/platform, qrcode, …) is
 * inlined so an install needs no other package; only the host itself (`openclaw`, `openclaw/*`) and
 * Node built-ins stay imports, because the host provides them at load time.
 *
 * Usage: `npm run build` (or `node scripts/build.mjs [--outfile path]`).
 */
import { build } from "esbuild"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const outfileFlag = process.argv.indexOf("--outfile")
const outfile = outfileFlag > 0 && process.argv[outfileFlag + 1] !== undefined
  ? resolve(process.argv[outfileFlag + 1])
  : resolve(root, "dist/index.js")

const result = await build({
  absWorkingDir: root,
  entryPoints: ["index.ts"],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node22",
  external: ["openclaw", "openclaw/*"],
  // CommonJS dependencies (qrcode) call require() for built-ins; give the ESM bundle one
  banner: { js: "import { createRequire as __ocwCreateRequire } from \"node:module\"; const require = __ocwCreateRequire(import.meta.url);" },
  legalComments: "eof",
  sourcemap: false,
  // whitespace and syntax only: identifiers stay readable in stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  metafile: true,
  logLevel: "warning"
})

const [output] = Object.values(result.metafile.outputs)
const packages = new Set(
  Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)
    return match === null || bytesInOutput === 0 ? [] : [match[1]]
  })
)
console.log(`built ${outfile}: ${output.bytes} bytes; inlined packages: ${[...packages].sort().join(", ")}`)
