/**
 * Bundles the plugin entry (index.ts) into one ESM file, dist/index.js, for installed packages
 * (package.json `openclaw.runtimeExtensions`). Every dependency (effect, @effect/platform, silk-wasm, …) is
 * inlined so an install needs no other package; only the host itself (`openclaw`, `openclaw/*`) and
 * Node built-ins stay imports, because the host provides them at load time.
 *
 * One asset cannot be inlined: the SILK voice codec's WebAssembly (silk-wasm). It is copied beside the
 * output file as `silk.wasm` (with its licence), where the inlined library looks for it at run time, so the
 * package carries it in dist/ and an install finds it wherever it lives.
 *
 * Usage: `npm run build` (or `node scripts/build.mjs [--outfile path] [--metafile path]`).
 */
import { build } from "esbuild"
import { copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Rewrites our sources' barrel imports (`import { Effect, Schema } from "effect"`) into one namespace import
 * per module (`import * as Effect from "effect/Effect"`), as the packages' own docs recommend for bundles:
 * through a barrel esbuild keeps every export of each module used; through the module it keeps what is
 * called. Names that are not modules (`pipe`, …) stay on the barrel. Only how modules are reached changes.
 */
const deepImports = (packages) => ({
  name: "deep-imports",
  setup(build) {
    const requireFrom = createRequire(join(root, "package.json"))
    const isModule = (pkg, name) => {
      try {
        requireFrom.resolve(`${pkg}/${name}`)
        return /^[A-Z]/.test(name)
      } catch {
        return false
      }
    }
    const pattern = new RegExp(`import\\s+(type\\s+)?\\{([^}]*)\\}\\s+from\\s+"(${packages.join("|")})"`, "g")
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes("/node_modules/")) return undefined
      const source = readFileSync(args.path, "utf8")
      const contents = source.replace(pattern, (_, typeOnly, names, pkg) => {
        if (typeOnly !== undefined) return ""
        const rest = []
        const deep = []
        for (const entry of names.split(",").map((name) => name.trim()).filter((name) => name !== "")) {
          if (entry.startsWith("type ")) continue
          const [name, local = name] = entry.split(/\s+as\s+/)
          if (isModule(pkg, name)) deep.push(`import * as ${local} from "${pkg}/${name}"`)
          else rest.push(entry)
        }
        return [...deep, ...(rest.length > 0 ? [`import { ${rest.join(", ")} } from "${pkg}"`] : [])].join(";")
      })
      return { contents, loader: "ts" }
    })
  }
})

/**
 * Optional packages a dependency imports only for a feature we never turn on, answered by a module that
 * fails when loaded: the bundle then imports nothing a user's install lacks. `kerberos`: https-proxy-agent's
 * Negotiate proxy authentication (its `negotiate` option, which NodeHttp.ts never sets); the library
 * catches the failure and says the feature needs that package.
 */
const unsupported = (names) => ({
  name: "unsupported-optional-packages",
  setup(b) {
    const filter = new RegExp(`^(${names.join("|")})$`)
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "unsupported" }))
    b.onLoad({ filter: /.*/, namespace: "unsupported" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not included in openclaw-weixin`)})`,
      loader: "js"
    }))
  }
})

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
  define: {
    // tells src/account/SilkCodec.ts that the .wasm sits beside the bundle
    __SILK_WASM_BESIDE_BUNDLE__: "true",
    // the channel config's JSON schema as generated into the manifest (test/meta/packaging keeps them equal),
    // so src/config/ChannelConfig.ts needs no JSON-schema generator at run time
    __CHANNEL_CONFIG_JSON_SCHEMA__: JSON.stringify(
      JSON.parse(readFileSync(resolve(root, "openclaw.plugin.json"), "utf8")).channelConfigs["openclaw-weixin"].schema
    )
  },
  // CommonJS code inlined from a dependency may call require() for built-ins; give the ESM bundle one
  banner: { js: "import { createRequire as __ocwCreateRequire } from \"node:module\"; const require = __ocwCreateRequire(import.meta.url);" },
  legalComments: "eof",
  sourcemap: false,
  // full minification; keepNames keeps every function and class name, so stack traces still read
  minify: true,
  keepNames: true,
  plugins: [deepImports(["effect", "@effect/platform"]), unsupported(["kerberos"])],
  metafile: true,
  logLevel: "warning"
})

const silkDir = dirname(dirname(createRequire(import.meta.url).resolve("silk-wasm")))
const wasm = join(dirname(outfile), "silk.wasm")
copyFileSync(join(silkDir, "lib", "silk.wasm"), wasm)
copyFileSync(join(silkDir, "LICENSE"), join(dirname(outfile), "silk.wasm.LICENSE"))

// `--metafile path` writes esbuild's metafile, to see what takes the room (https://esbuild.github.io/analyze/)
const metafileFlag = process.argv.indexOf("--metafile")
if (metafileFlag > 0 && process.argv[metafileFlag + 1] !== undefined) {
  writeFileSync(resolve(process.argv[metafileFlag + 1]), JSON.stringify(result.metafile))
}

const [output] = Object.values(result.metafile.outputs)
const packages = new Set(
  Object.entries(output.inputs).flatMap(([input, { bytesInOutput }]) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)
    return match === null || bytesInOutput === 0 ? [] : [match[1]]
  })
)
console.log(`built ${outfile}: ${output.bytes} bytes; inlined packages: ${[...packages].sort().join(", ")}`)
console.log(`copied ${wasm}: ${statSync(wasm).size} bytes`)
