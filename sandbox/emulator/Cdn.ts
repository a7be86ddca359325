/**
 * The CDN side: AES-128-ECB/PKCS#7 helpers, pending uploads announced by getuploadurl, stored objects
 * served by download (inbound media made by the emulator, and what clients uploaded), and a record of
 * every download the CDN answered.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto"

export const encryptAesEcb = (plaintext: Uint8Array, key: Uint8Array): Buffer => {
  const cipher = createCipheriv("aes-128-ecb", key, null)
  return Buffer.concat([cipher.update(plaintext), cipher.final()])
}

/** Undefined when the key does not decrypt the data (bad padding or wrong length). */
export const decryptAesEcb = (ciphertext: Uint8Array, key: Uint8Array): Buffer | undefined => {
  try {
    const decipher = createDecipheriv("aes-128-ecb", key, null)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()])
  } catch {
    return undefined
  }
}

export const md5Hex = (data: Uint8Array): string => createHash("md5").update(data).digest("hex")

export interface PendingUpload {
  readonly uploadParam: string
  readonly botId: string
  readonly filekey: string
  readonly mediaType: number
  readonly toUserId: string
  readonly rawsize: number
  readonly rawfilemd5: string
  readonly filesize: number
  readonly aeskeyHex: string
}

export interface StoredObject {
  readonly downloadParam: string
  /** Marks the object's `full_url`, so a download records which of the two URL forms the client used. */
  readonly taskid: string
  readonly ciphertext: Buffer
  /** "" for a key-less (plain) object. */
  readonly keyHex: string
  /** Where it came from: a client upload (with its filekey) or inbound media made by the emulator. */
  readonly origin:
    | {
      readonly _tag: "Upload"
      readonly filekey: string
      readonly botId: string
      readonly mediaType: number
      readonly toUserId: string
    }
    | { readonly _tag: "Inbound" }
  /** Plaintext when the upload decrypted correctly (or the inbound media's plaintext). */
  readonly plaintext: Buffer | undefined
  /** Uploads: whether the client was told the download param (`x-encrypted-param`). */
  readonly confirmed: boolean
}

/** One download the CDN answered. */
export interface DownloadRecord {
  readonly at: number
  readonly downloadParam: string
  /** `full_url` when the request carried the object's taskid, `param` for the fallback URL */
  readonly form: "full_url" | "param"
  readonly status: number
  /** the body bytes the CDN meant to send (a cut body sends fewer) */
  readonly bytes: number
  /** the fault that shaped the answer, if any (`cdn_body:truncated`, `oversize`, …) */
  readonly fault: string | undefined
}

/** How inbound media advertises where to download and how to decrypt. */
export interface InboundMediaOptions {
  /** `raw`: aes_key = base64(16 raw bytes); `hex`: aes_key = base64(32-char hex string). Default `hex`. */
  readonly keyEncoding?: "raw" | "hex"
  /** Which location fields to include; default `both`. */
  readonly location?: "full_url" | "param" | "both"
  /** Advertise a different key than the one used (a FILE the key does not decrypt, App. C). */
  readonly wrongKey?: boolean
  /** Store the bytes unencrypted and advertise no key: a key-less image (PROTOCOL §6.3). */
  readonly plain?: boolean
}

export interface InboundMedia {
  /** The CDNMedia object to put in an item. */
  readonly media: { encrypt_query_param?: string; aes_key?: string; encrypt_type: number; full_url?: string }
  /** The advertised key as hex; "" for plain media. */
  readonly keyHex: string
  readonly ciphertextSize: number
  readonly plaintextMd5: string
  readonly plaintextSize: number
  readonly downloadParam: string
}

export class CdnStore {
  readonly pending = new Map<string, PendingUpload>()
  readonly objects = new Map<string, StoredObject>()
  readonly downloads: Array<DownloadRecord> = []

  constructor(private readonly cdnBaseUrl: () => string) {}

  announceUpload(upload: Omit<PendingUpload, "uploadParam">): PendingUpload {
    const uploadParam = `up${randomBytes(18).toString("base64url")}`
    const pending = { ...upload, uploadParam }
    this.pending.set(uploadParam, pending)
    return pending
  }

  uploadUrl(pending: PendingUpload): string {
    return `${this.cdnBaseUrl()}/upload?encrypted_query_param=${encodeURIComponent(pending.uploadParam)}&filekey=${encodeURIComponent(pending.filekey)}`
  }

  /** The fallback download URL a client builds from `encrypt_query_param` (PROTOCOL §1.2). */
  downloadUrl(downloadParam: string): string {
    return `${this.cdnBaseUrl()}/download?encrypted_query_param=${encodeURIComponent(downloadParam)}`
  }

  /** The `full_url` the server hands out: the same place, marked so the CDN can tell the forms apart. */
  fullUrl(stored: StoredObject): string {
    return `${this.downloadUrl(stored.downloadParam)}&taskid=${stored.taskid}`
  }

  store(object: Omit<StoredObject, "downloadParam" | "taskid">): StoredObject {
    const downloadParam = `dl${randomBytes(24).toString("base64url")}`
    const stored = { ...object, downloadParam, taskid: randomBytes(6).toString("hex") }
    this.objects.set(downloadParam, stored)
    return stored
  }

  /** Encrypts inbound media under a fresh key (or keeps it plain) and stores it for download. */
  putInbound(plaintext: Uint8Array, options: InboundMediaOptions = {}): InboundMedia {
    const key = randomBytes(16)
    const plain = options.plain === true
    const ciphertext = plain ? Buffer.from(plaintext) : encryptAesEcb(plaintext, key)
    const stored = this.store({
      ciphertext,
      keyHex: plain ? "" : key.toString("hex"),
      origin: { _tag: "Inbound" },
      plaintext: Buffer.from(plaintext),
      confirmed: true
    })
    const advertised = options.wrongKey === true ? randomBytes(16) : key
    const aesKey = (options.keyEncoding ?? "hex") === "raw"
      ? advertised.toString("base64")
      : Buffer.from(advertised.toString("hex"), "ascii").toString("base64")
    const location = options.location ?? "both"
    return {
      media: {
        ...(location !== "full_url" ? { encrypt_query_param: stored.downloadParam } : {}),
        ...(plain ? {} : { aes_key: aesKey }),
        encrypt_type: 1,
        ...(location !== "param" ? { full_url: this.fullUrl(stored) } : {})
      },
      keyHex: plain ? "" : advertised.toString("hex"),
      ciphertextSize: ciphertext.length,
      plaintextMd5: md5Hex(plaintext),
      plaintextSize: plaintext.length,
      downloadParam: stored.downloadParam
    }
  }

  uploads(botId?: string): ReadonlyArray<StoredObject> {
    return [...this.objects.values()].filter(
      (o) => o.origin._tag === "Upload" && (botId === undefined || o.origin.botId === botId)
    )
  }
}
