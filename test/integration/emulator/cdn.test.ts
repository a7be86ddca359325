import { createHash, randomBytes } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { encryptAesEcb, type Emulator, makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import { callBot, request } from "../../support/emulatorRawClient.js"

const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex")

/** The official upload pipeline (ILINK §6.2): getuploadurl, encrypt, POST to the CDN. */
const upload = (emulator: Emulator, token: string, to: string, plaintext: Buffer, tamper?: (c: Buffer) => Buffer) =>
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
    const target = answer.upload_full_url ??
      `${emulator.cdnBaseUrl}/upload?encrypted_query_param=${encodeURIComponent(answer.upload_param)}&filekey=${encodeURIComponent(filekey)}`
    const ciphertext = encryptAesEcb(plaintext, key)
    const response = yield* request(target, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: tamper === undefined ? ciphertext : tamper(ciphertext)
    })
    return { answer, response, key, filekey }
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
