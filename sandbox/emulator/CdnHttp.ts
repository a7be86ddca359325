/**
 * CDN upload and download (PROTOCOL §1.8.9, §1.8.10, §6.1). An upload must match what getuploadurl
 * announced: an exact content-length, a ciphertext of the announced `filesize` that decrypts under
 * `aeskey` to `rawsize` bytes with MD5 `rawfilemd5`. A pending upload stays open after an answer, so a
 * client may retry it. Downloads serve stored objects at both URL forms and record each answer; the
 * `cdn_body` and `oversize` faults serve them wrong in the ways a real CDN or a re-keyed object can.
 */
import { createCipheriv, randomBytes } from "node:crypto"
import { Effect } from "effect"
import type { IncomingCall } from "./Api.js"
import { decryptAesEcb, encryptAesEcb, md5Hex, type StoredObject } from "./Cdn.js"
import type { Fault } from "./Faults.js"
import { type Framing, json, text, type Reply } from "./Reply.js"
import type { EmulatorState } from "./State.js"

const upload = (state: EmulatorState, call: IncomingCall) =>
  Effect.gen(function*() {
    const param = call.query["encrypted_query_param"] ?? ""
    const pending = state.cdn.pending.get(param)
    if (pending === undefined) {
      yield* state.violate("cdn_upload", "encrypted_query_param", "upload to a param getuploadurl never issued")
      return text("unknown upload param", 400, "text/plain; charset=utf-8", { "x-error-message": "invalid encrypted_query_param" })
    }
    if ((call.query["filekey"] ?? "") !== pending.filekey) {
      yield* state.violate("cdn_upload", "filekey", `filekey must be ${pending.filekey} as sent to getuploadurl`)
    }
    if (call.headers["content-length"] === undefined) {
      yield* state.violate("cdn_upload", "content-length", "the ciphertext is sent with an exact content-length, not chunked")
    }
    const ciphertext = call.rawBody
    if (pending.filesize >= 0 && ciphertext.length !== pending.filesize) {
      yield* state.violate("cdn_upload", "filesize", `ciphertext is ${ciphertext.length} bytes, getuploadurl announced ${pending.filesize}`)
    }
    const plaintext = decryptAesEcb(ciphertext, Buffer.from(pending.aeskeyHex, "hex"))
    if (plaintext === undefined) {
      yield* state.violate("cdn_upload", "decrypt", "body does not decrypt with the announced aeskey (AES-128-ECB, PKCS#7)")
    } else {
      if (plaintext.length !== pending.rawsize) {
        yield* state.violate("cdn_upload", "rawsize", `plaintext is ${plaintext.length} bytes, rawsize says ${pending.rawsize}`)
      }
      const md5 = md5Hex(plaintext)
      if (md5 !== pending.rawfilemd5) {
        yield* state.violate("cdn_upload", "rawfilemd5", `plaintext MD5 is ${md5}, rawfilemd5 says ${pending.rawfilemd5}`)
      }
    }
    const confirmed = call.fault?.kind !== "missing_encrypted_param"
    const stored = state.cdn.store({
      ciphertext,
      keyHex: pending.aeskeyHex,
      origin: { _tag: "Upload", filekey: pending.filekey, botId: pending.botId, mediaType: pending.mediaType, toUserId: pending.toUserId },
      plaintext,
      confirmed
    })
    if (!confirmed) return text("", 200, "text/plain; charset=utf-8")
    return text("", 200, "text/plain; charset=utf-8", { "x-encrypted-param": stored.downloadParam })
  })

/** A ciphertext the item's key decrypts cleanly to other bytes, or not at all. */
const reencrypted = (stored: StoredObject, defect: "bad_padding" | "wrong_key" | "wrong_content"): Buffer => {
  const key = stored.keyHex === "" ? randomBytes(16) : Buffer.from(stored.keyHex, "hex")
  const plaintext = stored.plaintext ?? randomBytes(Math.max(0, stored.ciphertext.length - 1))
  switch (defect) {
    case "wrong_content":
      return encryptAesEcb(randomBytes(plaintext.length), key)
    case "bad_padding": {
      // whole blocks, the last one all zeros: never valid PKCS#7
      const blocks = Buffer.concat([plaintext, Buffer.alloc(16 - (plaintext.length % 16)), Buffer.alloc(16)])
      const cipher = createCipheriv("aes-128-ecb", key, null).setAutoPadding(false)
      return Buffer.concat([cipher.update(blocks), cipher.final()])
    }
    case "wrong_key": {
      // another key, chosen so the item's key cannot pass the padding check by chance
      while (true) {
        const ciphertext = encryptAesEcb(plaintext, randomBytes(16))
        if (decryptAesEcb(ciphertext, key) === undefined) return ciphertext
      }
    }
  }
}

/** The body and framing a download fault asks for. */
const faulty = (stored: StoredObject, fault: Fault | undefined): { readonly body: Buffer; readonly framing?: Framing } => {
  const whole = stored.ciphertext
  const half = Math.floor(whole.length / 2)
  if (fault?.kind === "oversize") {
    return { body: randomBytes(fault.bytes), ...(fault.chunked === true ? { framing: { declare: "none" } } : {}) }
  }
  if (fault?.kind !== "cdn_body") return { body: whole }
  switch (fault.defect) {
    case "truncated":
      return { body: whole, framing: { cut: { after: half, then: "close" } } }
    case "stall":
      return { body: whole, framing: { cut: { after: half, then: "hang" } } }
    case "unaligned":
      return { body: whole.subarray(0, Math.max(0, whole.length - 5)) }
    default:
      return { body: reencrypted(stored, fault.defect) }
  }
}

const download = (state: EmulatorState, call: IncomingCall) =>
  Effect.gen(function*() {
    const param = call.query["encrypted_query_param"] ?? ""
    const stored = state.cdn.objects.get(param)
    if (stored === undefined) {
      yield* state.violate("cdn_download", "encrypted_query_param", "download of a param the server never handed out")
      return text("no such object", 404)
    }
    const { body, framing } = faulty(stored, call.fault)
    state.cdn.downloads.push({
      at: yield* state.clock.now,
      downloadParam: param,
      form: call.query["taskid"] === stored.taskid ? "full_url" : "param",
      status: 200,
      bytes: body.length,
      fault: call.fault === undefined ? undefined : call.fault.kind === "cdn_body" ? `cdn_body:${call.fault.defect}` : call.fault.kind
    })
    const reply: Reply = { ...text(body, 200, "application/octet-stream"), ...(framing === undefined ? {} : { framing }) }
    return reply
  })

export const handleCdn = (state: EmulatorState, call: IncomingCall): Effect.Effect<Reply> =>
  call.endpoint === "cdn_upload" ? upload(state, call) : call.endpoint === "cdn_download" ? download(state, call) : Effect.succeed(json({}, 404))
