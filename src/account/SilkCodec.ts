/**
 * The SILK codec behind the voice decoder: `silk-wasm` (MIT), Tencent's SILK SDK compiled to WebAssembly.
 * It is imported dynamically, so the plugin pays for it only when the first voice note arrives.
 *
 * Where its `.wasm` lives: the library reads `silk.wasm` beside its own module file on every call. From
 * the source tree that is `node_modules/silk-wasm/lib/`; in the bundle the library's code is inlined into
 * `dist/index.js`, so scripts/build.mjs copies `silk.wasm` beside it and marks the bundle with
 * `__SILK_WASM_BESIDE_BUNDLE__`.
 *
 * Why the wasm is read and compiled here first, and compared before every call: when the library cannot
 * instantiate it, it rejects an internal promise nobody awaits, and the host exits on an unhandled
 * rejection. A missing, damaged or replaced file must be a typed error instead, found before the library
 * looks. (The codec's own asset, read like the library reads it; no state lives here.)
 */
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describeCause, VoiceDecodeError, VoiceDecoderUnavailable } from "./VoiceDecoderError.js"

/** Defined (as `true`) by scripts/build.mjs in the bundle; undeclared when running from source. */
declare const __SILK_WASM_BESIDE_BUNDLE__: boolean | undefined

export const SILK_WASM_FILE = "silk.wasm"

/** One loaded codec: PCM out of a canonical SILK stream (see SilkStream.ts). */
export interface SilkCodec {
  /** little-endian 16-bit mono PCM at `sampleRate` */
  readonly decode: (stream: Uint8Array, sampleRate: number) => Effect.Effect<Uint8Array, VoiceDecodeError | VoiceDecoderUnavailable>
}

/** Loads a codec; the voice decoder runs it once, on the first voice note, and again only after a failure. */
export type SilkCodecLoader = Effect.Effect<SilkCodec, VoiceDecoderUnavailable>

/** The file the library will read: beside the bundle, or beside the library's own module. */
export const silkWasmPath = (): string =>
  typeof __SILK_WASM_BESIDE_BUNDLE__ !== "undefined" && __SILK_WASM_BESIDE_BUNDLE__
    ? fileURLToPath(new URL(SILK_WASM_FILE, import.meta.url))
    : join(dirname(createRequire(import.meta.url).resolve("silk-wasm")), SILK_WASM_FILE)

const unavailable = (what: string) => (cause: unknown) => new VoiceDecoderUnavailable({ detail: `${what}: ${describeCause(cause)}` })

/** The one WebAssembly call made here; the project's `lib` setting declares no WebAssembly values. */
const compileWasm = (bytes: Uint8Array): Promise<unknown> =>
  (globalThis as unknown as { readonly WebAssembly: { readonly compile: (bytes: Uint8Array) => Promise<unknown> } })
    .WebAssembly.compile(bytes)

const readWasm = (path: string) =>
  Effect.tryPromise({ try: () => readFile(path), catch: unavailable(`cannot read ${path}`) })

/** The live codec: `silk-wasm`, its wasm verified before first use and unchanged before each call. */
export const loadSilkWasm: SilkCodecLoader = Effect.gen(function*() {
  const library = yield* Effect.tryPromise({ try: () => import("silk-wasm"), catch: unavailable("the silk-wasm module did not load") })
  const path = yield* Effect.try({ try: silkWasmPath, catch: unavailable("the silk-wasm module has no location") })
  const verified = yield* readWasm(path)
  // compiling proves the bytes are a whole, valid module; the library then compiles its own copy
  yield* Effect.tryPromise({ try: () => compileWasm(verified), catch: unavailable(`${path} is not a usable WebAssembly module`) })

  const decode = (stream: Uint8Array, sampleRate: number) =>
    Effect.gen(function*() {
      const current = yield* readWasm(path)
      if (!current.equals(verified)) {
        return yield* new VoiceDecoderUnavailable({ detail: `${path} changed on disk since it was loaded; restart the gateway` })
      }
      const result = yield* Effect.tryPromise({
        try: () => library.decode(stream, sampleRate),
        catch: (cause) => new VoiceDecodeError({ problem: "decoder_failed", detail: `the SILK codec failed: ${describeCause(cause)}` })
      })
      return result.data
    })

  return { decode }
})
