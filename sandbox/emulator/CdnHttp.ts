/**
 * CDN upload and download (ILINK §1.8.9, §1.8.10, §6.1). An upload must match what getuploadurl
 * announced: the ciphertext must decrypt under `aeskey` to `rawsize` bytes with MD5 `rawfilemd5`.
 */
import { Effect } from "effect"
import type { IncomingCall } from "./Api.js"
import { decryptAesEcb, md5Hex } from "./Cdn.js"
import { json, text, type Reply } from "./Reply.js"
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
    state.cdn.pending.delete(param)
    const stored = state.cdn.store({
      ciphertext,
      keyHex: pending.aeskeyHex,
      origin: { _tag: "Upload", filekey: pending.filekey, botId: pending.botId },
      plaintext
    })
    if (call.fault?.kind === "missing_encrypted_param") return text("", 200, "text/plain; charset=utf-8")
    return text("", 200, "text/plain; charset=utf-8", { "x-encrypted-param": stored.downloadParam })
  })

const download = (state: EmulatorState, call: IncomingCall) =>
  Effect.sync(() => {
    const stored = state.cdn.objects.get(call.query["encrypted_query_param"] ?? "")
    if (stored === undefined) return text("no such object", 404)
    return text(stored.ciphertext, 200, "application/octet-stream")
  })

export const handleCdn = (state: EmulatorState, call: IncomingCall): Effect.Effect<Reply> =>
  call.endpoint === "cdn_upload" ? upload(state, call) : call.endpoint === "cdn_download" ? download(state, call) : Effect.succeed(json({}, 404))
