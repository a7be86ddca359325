/**
 * JSON text writer for emulator responses. The real server writes 64-bit ids as bare integers that
 * JSON.stringify cannot produce (they exceed 2^53), so ids live as decimal strings wrapped in
 * `BareInteger` and are emitted verbatim as numbers.
 */

/** A decimal integer (any size) written into JSON text without quotes. */
export class BareInteger {
  constructor(readonly digits: string) {
    if (!/^-?\d+$/.test(digits)) throw new Error(`BareInteger needs decimal digits, got ${JSON.stringify(digits)}`)
  }
}

/** Raw JSON text spliced in verbatim (for malformed-input tests: the emulator does not check it). */
export class RawJsonText {
  constructor(readonly text: string) {}
}

export const bare = (digits: string | bigint | number): BareInteger => new BareInteger(String(digits))

/** Serialises like JSON.stringify (undefined fields dropped) but honours BareInteger and RawJsonText. */
export const writeJson = (value: unknown): string => {
  if (value instanceof BareInteger) return value.digits
  if (value instanceof RawJsonText) return value.text
  if (value === null) return "null"
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? "null" : writeJson(item))).join(",")}]`
  }
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64"))
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? String(value) : "null"
    case "bigint":
      return value.toString()
    case "object": {
      const parts: Array<string> = []
      for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
        if (field === undefined || typeof field === "function") continue
        parts.push(`${JSON.stringify(key)}:${writeJson(field)}`)
      }
      return `{${parts.join(",")}}`
    }
    default:
      return "null"
  }
}
