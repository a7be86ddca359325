import { createHash, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decryptAesEcb, encryptAesEcb, type Emulator, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { attempt, callBot, request } from "../../support/emulatorRawClient.js"

const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex")

/** getuploadurl as the official client calls it (PROTOCOL §1.8.5); returns the answer and the keys it announced. */
const announce = (emulator: Emulator, token: string, to: string, plaintext: Buffer) =>
  Effect.gen(function*() {
    const key = randomBytes(16)
    const filekey = randomBytes(16).toString("hex")
    const urlResponse = yield* callBot(emulator.baseUrl, "ilink/bot/getuploadurl", token, {
      filekey,
      media_type: 3,
      to_user_id: to,
      rawsize: plaintext.length,
      rawfilemd5: md5(plaintext),
      filesize: Math.ceil((plaintext.length + 1) / 16) * 16,
      no_need_thumb: true,
      aeskey: key.toString("hex")
    })
    const answer = JSON.parse(urlResponse.text)
    const target: string = answer.upload_full_url ??
      `${emulator.cdnBaseUrl}/upload?encrypted_query_param=${encodeURIComponent(answer.upload_param)}&filekey=${encodeURIComponent(filekey)}`
    return { answer, target, key, filekey }
  })

const postCiphertext = (target: string, body: Buffer) =>
  request(target, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body })

/** The official upload pipeline (PROTOCOL §6.2): getuploadurl, encrypt, POST to the CDN. */
const upload = (emulator: Emulator, token: string, to: string, plaintext: Buffer, tamper?: (c: Buffer) => Buffer) =>
  Effect.gen(function*() {
    const announced = yield* announce(emulator, token, to, plaintext)
    const ciphertext = encryptAesEcb(plaintext, announced.key)
    const response = yield* postCiphertext(announced.target, tamper === undefined ? ciphertext : tamper(ciphertext))
    return { ...announced, response }
  })

describe("emulator CDN", () => {
  it.scopedLive("round-trips an upload: 200 with x-encrypted-param, the stored ciphertext downloads and decrypts", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const plaintext = randomBytes(1000)
      const { answer, response, key, filekey } = yield* upload(emulator, bot.token, bot.ownerUserId, plaintext)
      expect(answer.upload_full_url).toContain(`${emulator.cdnBaseUrl}/upload?encrypted_query_param=`)
      expect(typeof answer.upload_param).toBe("string")
      expect(response.status).toBe(200)
      const param = response.headers.get("x-encrypted-param") ?? ""
      expect(param).not.toBe("")
      const download = yield* request(`${emulator.cdnBaseUrl}/download?encrypted_query_param=${encodeURIComponent(param)}`)
      expect(download.bytes.length).toBe(1008)
      expect(Buffer.from(download.bytes)).toEqual(encryptAesEcb(plaintext, key))
      const [stored] = yield* emulator.cdn.uploads(bot.botId)
      expect(stored?.filekey).toBe(filekey)
      expect(Buffer.from(stored?.plaintext ?? [])).toEqual(plaintext)
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scopedLive("the admin API lists a sent FILE with its name, its client_id and the plaintext the recipient gets", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const injected = yield* emulator.injectInbound({ botId: bot.botId, kind: "text", text: "send me the notes" })
      const plaintext = randomBytes(300)
      const { response, key } = yield* upload(emulator, bot.token, bot.ownerUserId, plaintext)
      const param = response.headers.get("x-encrypted-param") ?? ""
      yield* callBot(emulator.baseUrl, "ilink/bot/sendmessage", bot.token, {
        msg: {
          from_user_id: "",
          to_user_id: bot.ownerUserId,
          client_id: "openclaw-weixin:1700000000000-0000abcd",
          message_type: 2,
          message_state: 2,
          context_token: injected.contextToken,
          item_list: [{
            type: 4,
            file_item: {
              media: { encrypt_query_param: param, aes_key: Buffer.from(key.toString("hex"), "ascii").toString("base64"), encrypt_type: 1 },
              file_name: "notes.bin",
              len: String(plaintext.length)
            }
          }]
        }
      })
      expect(yield* emulator.violations()).toEqual([])
      const listed = yield* request(`${emulator.adminUrl}/cdn/sent-media?botId=${encodeURIComponent(bot.botId)}`)
      const { sentMedia } = JSON.parse(listed.text) as { sentMedia: ReadonlyArray<Record<string, string>> }
      expect(sentMedia).toHaveLength(1)
      expect(sentMedia[0]).toMatchObject({
        toUserId: bot.ownerUserId,
        clientId: "openclaw-weixin:1700000000000-0000abcd",
        kind: "file",
        fileName: "notes.bin"
      })
      expect(Buffer.from(sentMedia[0]?.["plaintext"] ?? "", "base64")).toEqual(plaintext)
    }))

  it.scopedLive("uses the upload_param fallback URL when configured to give only the param", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100, uploadUrlMode: "param" })
      const bot = yield* emulator.addBot()
      const { answer, response } = yield* upload(emulator, bot.token, bot.ownerUserId, Buffer.from("x"))
      expect(answer.upload_full_url).toBeUndefined()
      expect(response.status).toBe(200)
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scopedLive("records a violation when the upload does not decrypt to rawsize bytes with rawfilemd5", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* upload(emulator, bot.token, bot.ownerUserId, Buffer.from("exactly this"), (c) => Buffer.concat([c, randomBytes(16)]))
      const rules = (yield* emulator.violations()).map((v) => v.rule)
      expect(rules).toContain("filesize")
      expect(rules.some((r) => r === "decrypt" || r === "rawsize" || r === "rawfilemd5")).toBe(true)
    }))

  it.scopedLive("can leave out x-encrypted-param from a 200 upload answer", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      yield* emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "missing_encrypted_param" }, times: 1 })
      const { response } = yield* upload(emulator, bot.token, bot.ownerUserId, Buffer.from("x"))
      expect(response.status).toBe(200)
      expect(response.headers.get("x-encrypted-param")).toBeNull()
    }))

  it.scopedLive("refuses media_type 4 and answers planned ret −1 / 2 faults on getuploadurl", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const voice = yield* callBot(emulator.baseUrl, "ilink/bot/getuploadurl", bot.token, {
        filekey: randomBytes(16).toString("hex"),
        media_type: 4,
        to_user_id: bot.ownerUserId,
        rawsize: 1,
        rawfilemd5: md5(Buffer.from("x")),
        filesize: 16,
        no_need_thumb: true,
        aeskey: randomBytes(16).toString("hex")
      })
      expect(JSON.parse(voice.text).ret).toBe(-1)
      yield* emulator.setFault({ endpoint: "getuploadurl", fault: { kind: "ret", ret: 2, errmsg: "refused" }, times: 1 })
      const { answer } = yield* upload(emulator, bot.token, bot.ownerUserId, Buffer.from("x"))
      expect(answer).toEqual({ ret: 2, errmsg: "refused" })
    }))

  it.scopedLive("answers 404 for a download of an unknown object and 400 for an upload nobody announced", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      expect((yield* request(`${emulator.cdnBaseUrl}/download?encrypted_query_param=nothing`)).status).toBe(404)
      const stray = yield* request(`${emulator.cdnBaseUrl}/upload?encrypted_query_param=nothing&filekey=x`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: Buffer.alloc(16)
      })
      expect(stray.status).toBe(400)
      expect(stray.headers.get("x-error-message")).toBe("invalid encrypted_query_param")
    }))
})

describe("emulator CDN downloads (PROTOCOL §1.8.10, §6.3)", () => {
  it.scopedLive("serves stored media at the full_url and at the fallback URL, and records which form was used", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const plaintext = randomBytes(500)
      const media = yield* emulator.cdn.putMedia(plaintext)
      const viaFull = yield* request(media.media.full_url ?? "")
      const viaParam = yield* request(emulator.cdn.downloadUrl(media.downloadParam))
      for (const response of [viaFull, viaParam]) {
        expect(decryptAesEcb(response.bytes, Buffer.from(media.keyHex, "hex"))).toEqual(plaintext)
        expect(response.headers.get("content-length")).toBe("512")
      }
      const downloads = yield* emulator.cdn.downloads()
      expect(downloads.map((d) => [d.downloadParam, d.form, d.status, d.bytes, d.fault])).toEqual([
        [media.downloadParam, "full_url", 200, 512, undefined],
        [media.downloadParam, "param", 200, 512, undefined]
      ])
      const admin = yield* request(`${emulator.adminUrl}/cdn/downloads`)
      expect(JSON.parse(admin.text).downloads.map((d: { form: string }) => d.form)).toEqual(["full_url", "param"])
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scopedLive("stores a key-less image in plain, with no aes_key in its media", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const picture = randomBytes(300)
      const media = yield* emulator.cdn.putMedia(picture, { plain: true })
      expect(media.media.aes_key).toBeUndefined()
      expect(media.keyHex).toBe("")
      expect(Buffer.from((yield* request(media.media.full_url ?? "")).bytes)).toEqual(picture)
    }))

  /** One download with a fault planned for it. */
  const faulted = (fault: Parameters<Emulator["setFault"]>[0]["fault"], plaintext = randomBytes(1000)) =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const media = yield* emulator.cdn.putMedia(plaintext)
      yield* emulator.setFault({ endpoint: "cdn_download", fault, times: 1 })
      const key = Buffer.from(media.keyHex, "hex")
      return { emulator, media, key, plaintext }
    })

  it.scopedLive("cdn_body truncated: declares the whole length, sends half, closes the connection", () =>
    Effect.gen(function*() {
      const { emulator, media } = yield* faulted({ kind: "cdn_body", defect: "truncated" })
      const result = yield* attempt(media.media.full_url ?? "")
      expect("failed" in result).toBe(true)
      const [record] = yield* emulator.cdn.downloads()
      expect([record?.fault, record?.bytes]).toEqual(["cdn_body:truncated", 1008])
      // the plan was used up: the next download is whole
      expect((yield* request(media.media.full_url ?? "")).bytes.length).toBe(1008)
    }))

  it.scopedLive("cdn_body stall: sends the headers and half the body, then nothing", () =>
    Effect.gen(function*() {
      const { media } = yield* faulted({ kind: "cdn_body", defect: "stall" })
      const received = yield* Effect.promise(async () => {
        const controller = new AbortController()
        const response = await fetch(media.media.full_url ?? "", { signal: controller.signal })
        const reader = response.body!.getReader()
        let bytes = 0
        const timer = setTimeout(() => controller.abort(), 500)
        try {
          while (true) {
            const { done, value } = await reader.read()
            if (done) break
            bytes += value.length
          }
        } catch {
          // aborted: the body never completed
        }
        clearTimeout(timer)
        return { status: response.status, declared: response.headers.get("content-length"), bytes }
      })
      expect(received).toEqual({ status: 200, declared: "1008", bytes: 504 })
    }))

  it.scopedLive("cdn_body unaligned: a body 5 bytes short of whole blocks, with an honest length", () =>
    Effect.gen(function*() {
      const { media } = yield* faulted({ kind: "cdn_body", defect: "unaligned" })
      const response = yield* request(media.media.full_url ?? "")
      expect([response.bytes.length, response.headers.get("content-length")]).toEqual([1003, "1003"])
    }))

  it.scopedLive("cdn_body bad_padding and wrong_key: whole blocks the item's key cannot decrypt", () =>
    Effect.gen(function*() {
      for (const defect of ["bad_padding", "wrong_key"] as const) {
        const { media, key } = yield* faulted({ kind: "cdn_body", defect })
        const response = yield* request(media.media.full_url ?? "")
        expect([defect, response.bytes.length % 16, decryptAesEcb(response.bytes, key)]).toEqual([defect, 0, undefined])
      }
    }))

  it.scopedLive("cdn_body wrong_content: decrypts cleanly under the item's key to other bytes of the same length", () =>
    Effect.gen(function*() {
      const { media, key, plaintext } = yield* faulted({ kind: "cdn_body", defect: "wrong_content" })
      const decrypted = decryptAesEcb((yield* request(media.media.full_url ?? "")).bytes, key)
      expect(decrypted?.length).toBe(plaintext.length)
      expect(md5(decrypted ?? Buffer.alloc(0))).not.toBe(media.plaintextMd5)
    }))

  it.scopedLive("oversize: a body of the planned size, declared or chunked", () =>
    Effect.gen(function*() {
      const declared = yield* faulted({ kind: "oversize", bytes: 300_000 })
      const one = yield* request(declared.media.media.full_url ?? "")
      expect([one.bytes.length, one.headers.get("content-length")]).toEqual([300_000, "300000"])
      const chunked = yield* faulted({ kind: "oversize", bytes: 300_000, chunked: true })
      const two = yield* request(chunked.media.media.full_url ?? "")
      expect([two.bytes.length, two.headers.get("content-length"), two.headers.get("transfer-encoding")]).toEqual([300_000, null, "chunked"])
    }))

  it.scopedLive("the generic faults answer downloads too: 500, 404 and a hang", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const media = yield* emulator.cdn.putMedia("x")
      yield* emulator.setFault({ endpoint: "cdn_download", fault: { kind: "http", status: 500 }, times: 1 })
      yield* emulator.setFault({ endpoint: "cdn_download", fault: { kind: "http", status: 404 }, times: 1 })
      yield* emulator.setFault({ endpoint: "cdn_download", fault: { kind: "hang" }, times: 1 })
      expect((yield* request(media.media.full_url ?? "")).status).toBe(500)
      expect((yield* request(media.media.full_url ?? "")).status).toBe(404)
      const hung = yield* attempt(media.media.full_url ?? "", { signal: AbortSignal.timeout(300) })
      expect("failed" in hung).toBe(true)
    }))
})

describe("emulator CDN upload faults and retries (PROTOCOL §1.8.9)", () => {
  it.scopedLive("403 with x-error-message; 500 then 200 on the same URL; a hang", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const plaintext = randomBytes(64)
      yield* emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "http", status: 403, errorMessageHeader: "forbidden" }, times: 1 })
      const refused = yield* upload(emulator, bot.token, bot.ownerUserId, plaintext)
      expect([refused.response.status, refused.response.headers.get("x-error-message")]).toEqual([403, "forbidden"])

      const announced = yield* announce(emulator, bot.token, bot.ownerUserId, plaintext)
      const ciphertext = encryptAesEcb(plaintext, announced.key)
      yield* emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "http", status: 500 }, times: 1 })
      expect((yield* postCiphertext(announced.target, ciphertext)).status).toBe(500)
      const retried = yield* postCiphertext(announced.target, ciphertext)
      expect(retried.status).toBe(200)
      expect(retried.headers.get("x-encrypted-param")).not.toBeNull()

      yield* emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "hang" }, times: 1 })
      const hung = yield* attempt(announced.target, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: ciphertext,
        signal: AbortSignal.timeout(300)
      })
      expect("failed" in hung).toBe(true)
      expect(yield* emulator.violations()).toEqual([])
    }))

  it.scopedLive("a 200 without x-encrypted-param can be retried; the CDN records both uploads, one unconfirmed", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 100 })
      const bot = yield* emulator.addBot()
      const plaintext = randomBytes(40)
      const announced = yield* announce(emulator, bot.token, bot.ownerUserId, plaintext)
      const ciphertext = encryptAesEcb(plaintext, announced.key)
      yield* emulator.setFault({ endpoint: "cdn_upload", fault: { kind: "missing_encrypted_param" }, times: 1 })
      const first = yield* postCiphertext(announced.target, ciphertext)
      const second = yield* postCiphertext(announced.target, ciphertext)
      expect([first.status, first.headers.get("x-encrypted-param")]).toEqual([200, null])
      const param = second.headers.get("x-encrypted-param")
      const uploads = yield* emulator.cdn.uploads(bot.botId)
      expect(uploads.map((u) => [u.filekey, u.confirmed])).toEqual([[announced.filekey, false], [announced.filekey, true]])
      expect(uploads.find((u) => u.confirmed)?.downloadParam).toBe(param)
      expect(Buffer.from(uploads[1]?.plaintext ?? [])).toEqual(plaintext)
      expect(yield* emulator.violations()).toEqual([])
    }))
})

/** [what the client gets wrong, how, the rules (endpoint:rule) it must be recorded under, exactly] */
type CdnMistake = readonly [string, (emulator: Emulator, token: string, to: string) => Effect.Effect<unknown>, ReadonlyArray<string>]

const cdnMistakes: ReadonlyArray<CdnMistake> = [
  ["an upload to a param getuploadurl never issued", (e) =>
    postCiphertext(`${e.cdnBaseUrl}/upload?encrypted_query_param=made-up&filekey=00`, Buffer.alloc(16)), ["cdn_upload:encrypted_query_param"]],
  ["another filekey than announced", (e, token, to) =>
    Effect.gen(function*() {
      const plaintext = randomBytes(20)
      const a = yield* announce(e, token, to, plaintext)
      const target = a.target.replace(`filekey=${a.filekey}`, `filekey=${"0".repeat(32)}`)
      yield* postCiphertext(target, encryptAesEcb(plaintext, a.key))
    }), ["cdn_upload:filekey"]],
  ["a chunked body without content-length", (e, token, to) =>
    Effect.gen(function*() {
      const plaintext = randomBytes(20)
      const a = yield* announce(e, token, to, plaintext)
      const ciphertext = encryptAesEcb(plaintext, a.key)
      yield* request(a.target, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: new ReadableStream({ start: (c) => (c.enqueue(ciphertext), c.close()) }),
        duplex: "half"
      } as RequestInit)
    }), ["cdn_upload:content-length"]],
  ["other bytes of the announced size", (e, token, to) =>
    Effect.gen(function*() {
      const a = yield* announce(e, token, to, randomBytes(20))
      yield* postCiphertext(a.target, encryptAesEcb(randomBytes(20), a.key))
    }), ["cdn_upload:rawfilemd5"]],
  ["a shorter file than announced", (e, token, to) =>
    Effect.gen(function*() {
      const a = yield* announce(e, token, to, randomBytes(20))
      yield* postCiphertext(a.target, encryptAesEcb(randomBytes(5), a.key))
    }), ["cdn_upload:filesize", "cdn_upload:rawsize", "cdn_upload:rawfilemd5"]],
  ["a ciphertext under another key", (e, token, to) =>
    Effect.gen(function*() {
      const plaintext = randomBytes(20)
      const a = yield* announce(e, token, to, plaintext)
      let other = encryptAesEcb(plaintext, randomBytes(16))
      while (decryptAesEcb(other, a.key) !== undefined) other = encryptAesEcb(plaintext, randomBytes(16))
      yield* postCiphertext(a.target, other)
    }), ["cdn_upload:decrypt"]],
  ["a download of a param the server never handed out", (e) =>
    request(`${e.cdnBaseUrl}/download?encrypted_query_param=made-up`), ["cdn_download:encrypted_query_param"]]
]

describe("emulator CDN request rules (PROTOCOL §1.8.9, §1.8.10)", () => {
  for (const [mistake, make, rules] of cdnMistakes) {
    it.scopedLive(`${mistake} is recorded as ${rules.join(", ")}`, () =>
      Effect.gen(function*() {
        const emulator = yield* makeEmulator({ longPollMs: 100 })
        const bot = yield* emulator.addBot()
        yield* make(emulator, bot.token, bot.ownerUserId)
        expect((yield* emulator.violations()).map((v) => `${v.endpoint}:${v.rule}`).sort()).toEqual([...rules].sort())
      }))
  }

  it("every rule the CDN can record has a mistake above that triggers it", () => {
    const source = readFileSync(fileURLToPath(new URL("../../../sandbox/emulator/CdnHttp.ts", import.meta.url)), "utf8")
    const declared = new Set([...source.matchAll(/violate\(\s*"(cdn_\w+)",\s*"([^"]+)"/g)].map((m) => `${m[1]}:${m[2]}`))
    const covered = new Set(cdnMistakes.flatMap(([, , rules]) => rules))
    expect([...declared].filter((rule) => !covered.has(rule))).toEqual([])
    expect(declared.size).toBeGreaterThanOrEqual(8)
  })
})
