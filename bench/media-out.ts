/**
 * media-out: a 100 MB file uploaded the way an outbound file goes: opened and checked by the loader's
 * reader (src/host/MediaFile.ts), then the production CdnUpload (MD5 pass, getuploadurl to the sandbox
 * emulator over HTTP, then the ciphertext streamed with an exact content-length). The CDN is a sink in
 * a child process that hashes what it receives, so the receiver neither buffers nor takes this process's
 * CPU or memory; afterwards the upload is checked against the file (the announced MD5, and the ciphertext's MD5
 * under the announced key).
 *
 * Reported: peak RSS over the baseline taken just before the upload (target ≤ 32 MB: memory does not grow
 * with the file), and throughput as a ratio to a raw aes-128-ecb encrypt of the same bytes read from the
 * same file in the same run (target ≥ 0.8).
 *
 * The protocol puts a bound on that ratio: getuploadurl needs the plaintext's MD5 (PROTOCOL §1.8.5), so a
 * whole MD5 pass over the file comes before the first encrypted byte can be sent, and no upload can be
 * faster than an MD5 pass plus an encrypt pass. `ratio_bound` = raw encrypt / (raw MD5 + raw encrypt) is
 * the best ratio any client could reach with a free network; where MD5 costs more than a quarter of
 * the encrypt, the 0.8 target is out of reach by construction, and the bench says so rather than hide it.
 *
 * So it also times the same upload done bare (`bare_upload_ms`: an MD5 pass and an encrypt-and-POST pass
 * with node:fs streams and node:http, to the same sink), and prints `same_work_ratio` = bare / ours: what
 * the plugin costs over Node doing the two passes the protocol asks for. Three rounds, medians.
 */
import { spawn } from "node:child_process"
import { createCipheriv, createHash, randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import { Writable } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Duration, Effect, Either, Layer, Redacted, Stream } from "effect"
import { makeEmulator } from "../sandbox/emulator/Emulator.js"
import { UploadMediaType } from "../src/wire/Message.js"
import { CdnTimeouts } from "../src/ilink/CdnTimeouts.js"
import { CdnUpload } from "../src/ilink/CdnUpload.js"
import { ILinkApi } from "../src/ilink/ILinkApi.js"
import { ILinkConnection } from "../src/ilink/ILinkConnection.js"
import { fileSource, openMediaFile } from "../src/host/MediaFile.js"
import { median } from "./support/median.js"

const SIZE = 100 * 1024 * 1024
const RSS_TARGET_MB = 32
const RATIO_TARGET = 0.8
const ROUNDS = 3
const MB = 1024 * 1024

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

/**
 * The CDN: answers every upload 200 with x-encrypted-param, after hashing the body as it streams in. A
 * child process, so neither its CPU nor its memory counts against the client's.
 */
const SINK = `
const http = require("node:http")
const { createHash } = require("node:crypto")
const server = http.createServer((req, res) => {
  const hash = createHash("md5")
  let bytes = 0
  req.on("data", (chunk) => { bytes += chunk.length; hash.update(chunk) })
  req.on("end", () => {
    process.send({ kind: "upload", bytes, md5: hash.digest("hex"), contentLength: req.headers["content-length"] })
    res.writeHead(200, { "x-encrypted-param": "bench-param" })
    res.end()
  })
})
server.listen(0, "127.0.0.1", () => process.send({ kind: "listening", port: server.address().port }))
`

const writeRandomFile = (file: string) => {
  const fd = Fs.openSync(file, "w")
  for (let written = 0; written < SIZE; written += MB) Fs.writeSync(fd, randomBytes(Math.min(MB, SIZE - written)))
  Fs.closeSync(fd)
}

/** Reads `file` in 64 KiB chunks through `update`; what a raw pass over the same bytes costs. */
const passOver = (file: string, update: (chunk: Buffer) => void) => {
  const fd = Fs.openSync(file, "r")
  const chunk = Buffer.allocUnsafe(64 * 1024)
  for (let position = 0; position < SIZE;) {
    const n = Fs.readSync(fd, chunk, 0, chunk.length, position)
    update(chunk.subarray(0, n))
    position += n
  }
  Fs.closeSync(fd)
}

const rawEncryptMs = (file: string, key: Buffer) => {
  const started = performance.now()
  const cipher = createCipheriv("aes-128-ecb", key, null)
  passOver(file, (chunk) => void cipher.update(chunk))
  cipher.final()
  return performance.now() - started
}

/** A raw MD5 pass: the protocol needs the MD5 before getuploadurl, so no upload is cheaper than this plus the encrypt. */
const rawMd5Ms = (file: string) => {
  const started = performance.now()
  const hash = createHash("md5")
  passOver(file, (chunk) => void hash.update(chunk))
  hash.digest()
  return performance.now() - started
}

/**
 * The same upload with Node alone: an MD5 pass over the file (node:fs stream), then the file read again
 * through an aes-128-ecb cipher into a node:http POST with an exact content-length, to the same sink.
 * No getuploadurl, no checks: what Node itself needs for the two passes the protocol asks for.
 */
const bareUpload = async (file: string, port: number): Promise<number> => {
  const started = performance.now()
  const hash = createHash("md5")
  await pipeline(Fs.createReadStream(file), new Writable({ write: (chunk: Buffer, _encoding, done) => { hash.update(chunk); done() } }))
  hash.digest("hex")
  const request = Http.request(`http://127.0.0.1:${port}/c2c/upload?encrypted_query_param=bare`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", "content-length": String((Math.floor(SIZE / 16) + 1) * 16) }
  })
  const answered = new Promise<number>((resolve, reject) => {
    request.on("response", (response) => {
      response.resume()
      response.on("end", () => resolve(response.statusCode ?? 0))
    })
    request.on("error", reject)
  })
  await pipeline(Fs.createReadStream(file), createCipheriv("aes-128-ecb", randomBytes(16), null), request)
  const status = await answered
  if (status !== 200) throw new Error(`the bare upload got ${status}`)
  return performance.now() - started
}

/** How long each pass over the file took (MD5, then encrypt-and-send), for the report. */
const passes: Array<number> = []

const program = Effect.gen(function*() {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocw-bench-media-out-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
  const file = Path.join(dir, "big.bin")
  writeRandomFile(file)

  const sink = spawn(process.execPath, ["-e", SINK], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  yield* Effect.addFinalizer(() => Effect.sync(() => void sink.kill()))
  const uploads: Array<{ bytes: number; md5: string; contentLength: string }> = []
  const port = yield* Effect.async<number>((resume) => {
    sink.on("message", (message: { kind: string; port?: number; bytes?: number; md5?: string; contentLength?: string }) => {
      if (message.kind === "listening") resume(Effect.succeed(message.port!))
      else uploads.push({ bytes: message.bytes!, md5: message.md5!, contentLength: message.contentLength! })
    })
  })
  const cdnBaseUrl = `http://127.0.0.1:${port}/c2c`

  const emulator = yield* makeEmulator({ longPollMs: 300, uploadUrlMode: "param" })
  const bot = yield* emulator.addBot()
  const conn = Either.getOrThrow(ILinkConnection.make({ baseUrl: emulator.baseUrl, token: Redacted.make(bot.token), accountId: bot.botId }))
  const cdn = yield* CdnUpload

  const upload = (path: string, maxBytes: number) =>
    Effect.gen(function*() {
      const opened = yield* Effect.promise(() => openMediaFile(path, maxBytes))
      yield* Effect.addFinalizer(() => Effect.promise(() => opened.handle.close()))
      const source = fileSource(opened)
      const timed = {
        size: source.size,
        read: Stream.suspend(() => {
          const start = performance.now()
          return source.read.pipe(Stream.ensuring(Effect.sync(() => passes.push(performance.now() - start))))
        })
      }
      return yield* cdn.upload({ conn, toUserId: bot.ownerUserId, mediaType: UploadMediaType.FILE, source: timed, cdnBaseUrl })
    }).pipe(Effect.scoped)

  // warm-up: the same path with a small file, so neither measurement pays first-use costs
  const small = Path.join(dir, "small.bin")
  Fs.writeFileSync(small, randomBytes(4 * MB))
  yield* upload(small, SIZE)
  const rawMs = rawEncryptMs(file, randomBytes(16))
  yield* Effect.promise(() => bareUpload(file, port))

  const uploadTimes: Array<number> = []
  const bareTimes: Array<number> = []
  let overMb = 0
  let baseline = 0
  let peak = 0
  let uploaded: Effect.Effect.Success<ReturnType<typeof upload>> | undefined
  let md5PassMs: number | undefined
  let sendPassMs: number | undefined
  for (let round = 0; round < ROUNDS; round++) {
    bareTimes.push(yield* Effect.promise(() => bareUpload(file, port)))
    gc()
    yield* Effect.sleep(Duration.millis(200))
    gc()
    baseline = process.memoryUsage().rss
    peak = baseline
    const sampler = setInterval(() => void (peak = Math.max(peak, process.memoryUsage().rss)), 5)
    const started = performance.now()
    uploaded = yield* upload(file, SIZE + 1)
    uploadTimes.push(performance.now() - started)
    ;[md5PassMs, sendPassMs] = passes.slice(-2)
    clearInterval(sampler)
    peak = Math.max(peak, process.memoryUsage().rss)
    overMb = Math.max(overMb, (peak - baseline) / MB)
  }
  const uploadMs = median(uploadTimes)
  const bareMs = median(bareTimes)
  const rawMs2 = rawEncryptMs(file, randomBytes(16))
  const rawBest = Math.min(rawMs, rawMs2)
  const md5Best = Math.min(rawMd5Ms(file), rawMd5Ms(file))

  // the upload carried exactly the file: its announced MD5, and its ciphertext under the announced key
  const announced = JSON.parse((yield* emulator.requests("getuploadurl")).at(-1)!.body) as { aeskey: string; rawfilemd5: string; filesize: number }
  const plainMd5 = createHash("md5")
  passOver(file, (chunk) => void plainMd5.update(chunk))
  const cipher = createCipheriv("aes-128-ecb", Buffer.from(announced.aeskey, "hex"), null)
  const cipherMd5 = createHash("md5")
  passOver(file, (chunk) => void cipherMd5.update(cipher.update(chunk)))
  cipherMd5.update(cipher.final())
  const received = uploads.at(-1)!
  const intact = announced.rawfilemd5 === plainMd5.digest("hex") && received.md5 === cipherMd5.digest("hex") &&
    received.bytes === announced.filesize && received.contentLength === String(announced.filesize) &&
    uploaded?.ciphertextBytes === announced.filesize
  const violations = (yield* emulator.violations()).length

  const ratio = rawBest / uploadMs
  const sameWorkRatio = bareMs / uploadMs
  const mbps = (ms: number) => (SIZE / MB / (ms / 1000)).toFixed(0)
  console.log(`file                      ${SIZE / MB} MB (random bytes, on disk)`)
  console.log(`raw aes-128-ecb encrypt   ${rawBest.toFixed(0).padStart(6)} ms  ${mbps(rawBest)} MB/s (best of 2, same file, 64 KiB reads)`)
  console.log(`upload (MD5 + getuploadurl + encrypt + POST)  ${uploadMs.toFixed(0)} ms  ${mbps(uploadMs)} MB/s (median of ${ROUNDS}: ${uploadTimes.map((t) => t.toFixed(0)).join(", ")})`)
  console.log(`  of which, last round: MD5 pass ${md5PassMs?.toFixed(0)} ms, encrypt-and-POST pass ${sendPassMs?.toFixed(0)} ms`)
  console.log(`the same upload done bare (node:fs streams, MD5 pass, then read → cipher → node:http POST)  ${bareMs.toFixed(0)} ms (median of ${ROUNDS}: ${bareTimes.map((t) => t.toFixed(0)).join(", ")})`)
  console.log(`throughput ratio to the bare upload  ${sameWorkRatio.toFixed(2)} (target ≥ ${RATIO_TARGET})`)
  console.log(`throughput ratio          ${ratio.toFixed(2)} (target ≥ ${RATIO_TARGET})`)
  const floorRatio = (rawBest + md5Best) / uploadMs
  console.log(
    `raw MD5 pass              ${md5Best.toFixed(0).padStart(6)} ms; the protocol's minimum (MD5 + encrypt) over the upload: ${floorRatio.toFixed(2)}`
  )
  console.log(`rss baseline (last round) ${(baseline / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB; over baseline, worst round ${overMb.toFixed(1)} MB (target ≤ ${RSS_TARGET_MB})`)
  console.log(`upload intact: ${intact} (announced MD5, ciphertext MD5 under the announced key, exact content-length); emulator violations: ${violations}`)
  console.log(
    `RESULT media-out size_mb=${SIZE / MB} peak_rss_over_baseline_mb=${overMb.toFixed(1)} rss_target_mb=${RSS_TARGET_MB} ` +
      `upload_ms=${uploadMs.toFixed(0)} raw_encrypt_ms=${rawBest.toFixed(0)} throughput_ratio=${ratio.toFixed(2)} ` +
      `ratio_target=${RATIO_TARGET} ratio_bound=${(rawBest / (rawBest + md5Best)).toFixed(2)} raw_md5_ms=${md5Best.toFixed(0)} md5_plus_encrypt_ratio=${((rawBest + md5Best) / uploadMs).toFixed(2)} bare_upload_ms=${bareMs.toFixed(0)} same_work_ratio=${sameWorkRatio.toFixed(2)} ` +
      `intact=${intact} violations=${violations} pass=${overMb <= RSS_TARGET_MB && ratio >= RATIO_TARGET && intact && violations === 0} ` +
      `same_work_pass=${overMb <= RSS_TARGET_MB && sameWorkRatio >= RATIO_TARGET && intact && violations === 0}`
  )
})

await Effect.runPromise(
  program.pipe(
    Effect.scoped,
    Effect.provide(Layer.provideMerge(CdnUpload.Default, ILinkApi.Default)),
    Effect.provideService(CdnTimeouts, { response: Duration.seconds(30), idle: Duration.seconds(30) })
  )
)
