/**
 * media-in: one 100 MiB inbound file through the production Media step (src/account/InboundMedia.ts):
 * download from the emulator's CDN over HTTP on 127.0.0.1, AES-128-ECB decryption as it streams, the
 * file's md5 and size checks, and the host's own media store (`saveMediaStream`, writing into a temp
 * OPENCLAW_STATE_DIR). Measured in one run:
 *
 *   - the baseline: a bare `aes-128-ecb` decipher over the same ciphertext, in memory, in 64 KiB chunks
 *     (no HTTP, no hashing, no disk): the fastest the bytes could possibly be decrypted;
 *   - the pipeline, after a small warm-up file (module loading, connection set-up).
 *
 * For scale it also times a bare HTTP download of the same ciphertext (no decryption, no store): with the
 * emulator in this process, the transfer alone costs several times the decipher.
 *
 * Memory: RSS sampled every 2 ms during the pipeline, against the RSS right before it (after a forced
 * GC). The emulator lives in this process and already holds the file's ciphertext and plaintext before
 * the baseline is taken, so only what the download costs on top shows. RSS seldom shrinks after a GC, so
 * pages freed before the baseline can be reused unseen; the JS heap plus buffers (heapUsed + external) is
 * sampled beside it. Throughput: baseline time /
 * pipeline time (1.0 = as fast as the bare decipher).
 */
import { Duration, Effect, Either, Logger, LogLevel, Schema } from "effect"
import { createDecipheriv, randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { makeEmulator } from "../sandbox/emulator/Emulator.js"
import { InboundMedia } from "../src/account/InboundMedia.js"
import type { ClaimedMessage } from "../src/account/InboxRecords.js"
import { normalizePeerId } from "../src/domain/PeerId.js"
import { HostMediaStore } from "../src/host/HostMediaStore.js"
import { CdnTimeouts } from "../src/ilink/CdnTimeouts.js"
import { parseLossless } from "../src/wire/LosslessJson.js"
import { WeixinMessage } from "../src/wire/Message.js"

const FILE_BYTES = 100 * 1024 * 1024
const CHUNK = 64 * 1024
const TARGET_RSS_MB = 32
const TARGET_RATIO = 0.8

const exposeGc = (): (() => void) | undefined => {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing !== undefined) return existing
  V8.setFlagsFromString("--expose-gc")
  const gc: unknown = Vm.runInNewContext("gc")
  return typeof gc === "function" ? (gc as () => void) : undefined
}
const gc = exposeGc()
const mb = (bytes: number) => bytes / (1024 * 1024)

const stateDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bench-media-in-"))
process.env["OPENCLAW_STATE_DIR"] = stateDir

const program = Effect.gen(function*() {
  const emulator = yield* makeEmulator({ longPollMs: 100 })
  const bot = yield* emulator.addBot()
  const media = yield* InboundMedia
  const settings = { accountId: bot.botId, cdnBaseUrl: emulator.cdnBaseUrl, maxBytes: FILE_BYTES }

  const claimFile = (data: Uint8Array, fileName: string) =>
    Effect.gen(function*() {
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "file", media: { data }, fileName })
      const message = yield* Schema.decodeUnknown(WeixinMessage)(Either.getOrThrow(parseLossless(injected.json)))
      const claimed: ClaimedMessage = {
        key: `mid:${injected.messageId}`,
        peer: Either.getOrThrow(normalizePeerId(injected.fromUserId)),
        message,
        claimedAt: 0
      }
      return { claimed, keyHex: injected.media?.keyHex ?? "", param: injected.media?.media.encrypt_query_param ?? "" }
    }).pipe(Effect.orDie)

  const fetch = (claimed: ClaimedMessage) =>
    Effect.flatMap(media.fetch(claimed, settings), (turn) => {
      const stored = turn.received[0]
      if (stored === undefined) return Effect.dieMessage(`the file was not stored: ${JSON.stringify(turn.missing)}`)
      return Effect.succeed(stored)
    })

  // warm-up: loads the host's media store, opens the connection
  const warm = yield* fetch((yield* claimFile(randomBytes(1024 * 1024), "warm.bin")).claimed)
  Fs.rmSync(warm.path)

  const plaintext = randomBytes(FILE_BYTES)
  const file = yield* claimFile(plaintext, "big.bin")

  // baseline: the bare decipher over the same ciphertext, in memory
  // a bare HTTP download of the same bytes, for scale (the emulator serves it from this process)
  const httpStarted = performance.now()
  const ciphertext = yield* Effect.promise(() => fetchCiphertext(emulator.cdn.downloadUrl(file.param)))
  const httpMs = performance.now() - httpStarted
  const key = Buffer.from(file.keyHex, "hex")
  const rawStarted = performance.now()
  const decipher = createDecipheriv("aes-128-ecb", key, null)
  let rawBytes = 0
  for (let offset = 0; offset < ciphertext.length; offset += CHUNK) {
    rawBytes += decipher.update(ciphertext.subarray(offset, offset + CHUNK)).length
  }
  rawBytes += decipher.final().length
  const rawMs = performance.now() - rawStarted
  if (rawBytes !== FILE_BYTES) throw new Error(`the baseline decrypted ${rawBytes} bytes`)

  gc?.()
  const live = () => {
    const usage = process.memoryUsage()
    return { rss: usage.rss, js: usage.heapUsed + usage.external }
  }
  const before = live()
  const baselineRss = before.rss
  let peakRss = baselineRss
  let peakJs = before.js
  const sample = () => {
    const now = live()
    peakRss = Math.max(peakRss, now.rss)
    peakJs = Math.max(peakJs, now.js)
  }
  const sampler = setInterval(sample, 2)
  const started = performance.now()
  const big = yield* fetch(file.claimed)
  const pipelineMs = performance.now() - started
  clearInterval(sampler)
  sample()

  const same = Fs.readFileSync(big.path).equals(plaintext)
  Fs.rmSync(big.path)
  return { rawMs, httpMs, pipelineMs, peakOverBaselineMb: mb(peakRss - baselineRss), peakJsOverBaselineMb: mb(peakJs - before.js), baselineRssMb: mb(baselineRss), same, size: big.size }
})

/** The ciphertext as the CDN serves it (the fallback URL), for the baseline. */
const fetchCiphertext = async (url: string): Promise<Buffer> => Buffer.from(await (await fetch(url)).arrayBuffer())

const main = program.pipe(
  Effect.scoped,
  Effect.provide(InboundMedia.Default),
  Effect.provide(HostMediaStore.layer),
  Effect.provideService(CdnTimeouts, { response: Duration.seconds(30), idle: Duration.seconds(30) }),
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

try {
  const r = await Effect.runPromise(main)
  const ratio = r.rawMs / r.pipelineMs
  const throughput = (ms: number) => `${(mb(FILE_BYTES) / (ms / 1000)).toFixed(0)} MiB/s`
  console.log(`media-in: one ${mb(FILE_BYTES)} MiB file, CDN (127.0.0.1) → AES-128-ECB → md5/size checks → host media store`)
  console.log(`  stored ${r.size} bytes, identical to the original: ${r.same}`)
  console.log(`  bare aes-128-ecb decipher, in memory: ${r.rawMs.toFixed(0)} ms (${throughput(r.rawMs)})`)
  console.log(`  bare HTTP download of the ciphertext from the in-process CDN, for scale: ${r.httpMs.toFixed(0)} ms (${throughput(r.httpMs)})`)
  console.log(`  pipeline: ${r.pipelineMs.toFixed(0)} ms (${throughput(r.pipelineMs)}); http-only / pipeline: ${(r.httpMs / r.pipelineMs).toFixed(3)}`)
  console.log(`  RSS before: ${r.baselineRssMb.toFixed(1)} MiB; peak over it: ${r.peakOverBaselineMb.toFixed(1)} MiB`)
  console.log(`  JS heap + buffers (heapUsed + external), peak over the same moment: ${r.peakJsOverBaselineMb.toFixed(1)} MiB`)
  if (gc === undefined) console.log("warning: could not expose gc; the RSS baseline includes garbage")
  console.log(`peak RSS over baseline ${r.peakOverBaselineMb.toFixed(1)} MiB (target <= ${TARGET_RSS_MB}: ${r.peakOverBaselineMb <= TARGET_RSS_MB ? "met" : "NOT met"})`)
  console.log(`throughput ratio ${ratio.toFixed(3)} (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? "met" : "NOT met"})`)
  console.log(
    `RESULT media-in bytes=${FILE_BYTES} pipeline_ms=${r.pipelineMs.toFixed(0)} raw_decrypt_ms=${r.rawMs.toFixed(0)} http_only_ms=${r.httpMs.toFixed(0)} ` +
      `ratio=${ratio.toFixed(3)} peak_rss_over_baseline_mb=${r.peakOverBaselineMb.toFixed(1)} peak_heap_external_over_baseline_mb=${r.peakJsOverBaselineMb.toFixed(1)} identical=${r.same}`
  )
} finally {
  Fs.rmSync(stateDir, { recursive: true, force: true })
}
