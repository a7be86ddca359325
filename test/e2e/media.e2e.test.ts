/**
 * Inbound media end to end: a real OpenClaw gateway (Node 24, offline) with the packed plugin, the
 * emulator's CDN and a fake model declared `input: ["text", "image"]`. A picture reaches the model as that
 * picture (the model answers with the size it decoded from the bytes it received); a file lands in the
 * host's media store under its name with the original bytes; a voice note lands there as WAV.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { deflateSync } from "node:zlib"
import { randomBytes } from "node:crypto"
import { awaitPolling, PLUGIN_DIR_ENV, type SandboxAccount, startWeixinSandbox, type WeixinSandbox } from "../../sandbox/sandbox.js"
import { waitUntil } from "../../sandbox/gateway/index.js"
import { encodeSilk, testSignal } from "../support/silkFixture.js"

const prebuiltPluginDir = process.env[PLUGIN_DIR_ENV]

/** A PNG of `width` × `height` RGB pixels of noise (so no encoder can shrink it to nothing). */
const png = (width: number, height: number): Buffer => {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, "ascii"), data])
    const check = Buffer.alloc(4)
    check.writeUInt32BE(crc(body))
    return Buffer.concat([length, body, check])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8
  header[9] = 2
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0))
  ])
}

/** Width × height of a PNG or JPEG, read from its header; undefined for anything else. */
const sizeOf = (image: Uint8Array): string | undefined => {
  const bytes = Buffer.from(image)
  if (bytes.subarray(1, 4).toString("latin1") === "PNG") return `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let offset = 2
    while (offset + 9 < bytes.length) {
      const marker = bytes[offset + 1]!
      const length = bytes.readUInt16BE(offset + 2)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return `${bytes.readUInt16BE(offset + 7)}x${bytes.readUInt16BE(offset + 5)}`
      }
      offset += 2 + length
    }
  }
  return undefined
}

const scope = Effect.runSync(Scope.make())
let sandbox: WeixinSandbox
let account: SandboxAccount

beforeAll(async () => {
  const setup = Effect.gen(function*() {
    sandbox = yield* startWeixinSandbox({
      ...(prebuiltPluginDir === undefined ? {} : { pluginDir: prebuiltPluginDir }),
      modelInput: ["text", "image"],
      modelReply: ({ images, spokenText }) =>
        images.length > 0 ? `I see a picture of ${images.map((image) => sizeOf(image) ?? "unknown size").join(", ")}` : `heard: ${spokenText}`
    })
    account = yield* sandbox.login
    yield* awaitPolling(sandbox, account)
  })
  await Effect.runPromise(Scope.extend(setup, scope))
}, 400_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}, 60_000)

const repliesTo = (userId: string) =>
  Effect.map(sandbox.emulator.sent(account.bot.botId), (sent) => sent.filter((r) => r.toUserId === userId).map((r) => r.text ?? ""))

const awaitReply = (what: string, match: (text: string) => boolean) =>
  Effect.map(
    waitUntil(what, repliesTo(account.bot.ownerUserId), (texts) => texts.some(match), { timeoutMs: 120_000, intervalMs: 250 }),
    (texts) => texts.find(match)!
  )

const inboundDir = () => Path.join(sandbox.gateway.root.stateDir, "media", "inbound")
const storedFiles = Effect.promise(() => Fs.readdir(inboundDir()).catch(() => [] as Array<string>))

describe("inbound media through a real gateway", () => {
  it.live("a picture reaches an image model as that picture", () =>
    Effect.gen(function*() {
      yield* sandbox.emulator.injectInbound({ botId: account.bot.botId, kind: "image", media: { data: png(37, 23) } })
      const reply = yield* awaitReply("the model's answer about the picture", (text) => text.includes("I see a picture"))
      expect(reply).toContain("I see a picture of 37x23")
      yield* sandbox.emulator.expectNoViolations
    }), 180_000)

  it.live("a file is stored under its name with the original bytes, and the agent hears of it", () =>
    Effect.gen(function*() {
      const data = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(50_000)])
      yield* sandbox.emulator.injectInbound({ botId: account.bot.botId, kind: "file", media: { data }, fileName: "季度报告.pdf" })
      const files = yield* waitUntil("the file in the host's media store", storedFiles, (names) => names.some((n) => n.startsWith("季度报告")), {
        timeoutMs: 120_000,
        intervalMs: 250
      })
      const name = files.find((n) => n.startsWith("季度报告"))!
      expect(name.endsWith(".pdf")).toBe(true)
      const stored = yield* Effect.promise(() => Fs.readFile(Path.join(inboundDir(), name)))
      expect(stored.equals(data)).toBe(true)
      // the fake model repeats what the agent was told: the host's note on the attachment names the file
      const reply = yield* awaitReply("the agent's answer to the file", (text) => text.includes("[文件]"))
      expect(reply).toContain("季度报告.pdf")
      expect(reply).toContain("application/pdf")
      yield* sandbox.emulator.expectNoViolations
    }), 180_000)

  it.live("a voice note is stored as WAV", () =>
    Effect.gen(function*() {
      const before = new Set(yield* storedFiles)
      const silk = yield* Effect.promise(() => encodeSilk(testSignal()))
      yield* sandbox.emulator.injectInbound({ botId: account.bot.botId, kind: "voice", media: { data: silk } })
      const files = yield* waitUntil("a WAV in the host's media store", storedFiles, (names) => names.some((n) => !before.has(n) && n.endsWith(".wav")), {
        timeoutMs: 120_000,
        intervalMs: 250
      })
      const wav = yield* Effect.promise(() => Fs.readFile(Path.join(inboundDir(), files.find((n) => !before.has(n) && n.endsWith(".wav"))!)))
      expect(wav.subarray(0, 4).toString("latin1")).toBe("RIFF")
      expect(wav.subarray(8, 12).toString("latin1")).toBe("WAVE")
      expect(wav.readUInt32LE(24)).toBe(24_000)
      yield* sandbox.emulator.expectNoViolations
    }), 180_000)
})
