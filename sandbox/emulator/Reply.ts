/** What an endpoint answers; the server turns it into bytes on the socket. */
export type Reply =
  /** JSON written with writeJson (bare 64-bit ids), status 200 unless given. */
  | { readonly _tag: "Json"; readonly body: unknown; readonly status?: number; readonly headers?: Readonly<Record<string, string>> }
  | {
      readonly _tag: "Bytes"
      readonly body: string | Uint8Array
      readonly status: number
      readonly contentType: string
      readonly headers?: Readonly<Record<string, string>>
      /** CDN body faults: how the bytes go on the wire when not simply all of them with their length */
      readonly framing?: Framing
    }
  /** Destroy the socket without answering. */
  | { readonly _tag: "Reset" }

/** A body sent other than whole: a declared length that lies, no length at all, or a cut. */
export interface Framing {
  /** the content-length to declare; "none" sends the body chunked */
  readonly declare?: number | "none"
  /** send only the first `after` bytes, then close the connection or keep it open in silence */
  readonly cut?: { readonly after: number; readonly then: "close" | "hang" }
}

export const json = (body: unknown, status?: number, headers?: Readonly<Record<string, string>>): Reply => ({
  _tag: "Json",
  body,
  ...(status !== undefined ? { status } : {}),
  ...(headers !== undefined ? { headers } : {})
})

export const text = (body: string | Uint8Array, status: number, contentType = "text/plain; charset=utf-8", headers?: Readonly<Record<string, string>>): Reply => ({
  _tag: "Bytes",
  body,
  status,
  contentType,
  ...(headers !== undefined ? { headers } : {})
})
