/**
 * Bundles the plugin entry (index.ts) into one ESM file, dist/index.js, for installed packages
 * (package.json `openclaw.runtimeExtensions`). Every dependency (effect, @effect/platform, qrcode, …) is
 * inlined so an install needs no other package; only the host itself (`openclaw`, `openclaw/*`) and
 * Node built-ins stay imports, because the host provides them at load time.
 *
 * One asset cannot be inlined: the SILK voice codec's WebAssembly (silk-wasm). It is copied beside the
 * output file as `silk.wasm` (with its licence), where the inlined library looks for it at run time, so the
 * package carries it in dist/ and an install finds it wherever it lives.
 *
 * Usage: `npm run build` (or `node scripts/build.mjs [--outfile path]`).
 */
import { build } from "esbuild"
import { copyFileSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
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
  // silk-wasm's `main` is CommonJS and finds its .wasm through __filename, which an ESM bundle lacks; its ESM
  // build finds it through import.meta.url, which inside the bundle is the output file
  alias: { "silk-wasm": "silk-wasm/lib/index.mjs" },
  // tells src/account/SilkCodec.ts that the .wasm sits beside the bundle
  define: { __SILK_WASM_BESIDE_BUNDLE__: "true" },
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

const silkDir = dirname(dirname(createRequire(import.meta.url).resolve("silk-wasm")))
const wasm = join(dirname(outfile), "silk.wasm")
copyFileSync(join(silkDir, "lib", "silk.wasm"), wasm)
copyFileSync(join(silkDir, "LICENSE"), join(dirname(outfile), "silk.wasm.LICENSE"))

const [output] = Object.values(result.metafile.outputs)
const packages = new Set(
  Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)
    return match === null || bytesInOutput === 0 ? [] : [match[1]]
  })
)
console.log(`built ${outfile}: ${output.bytes} bytes; inlined packages: ${[...packages].sort().join(", ")}`)
console.log(`copied ${wasm}: ${statSync(wasm).size} bytes`)
