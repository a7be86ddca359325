/**
 * Where the CDN client may connect (our SSRF guard). Media URLs come from the server (`full_url`,
 * `upload_full_url`, PROTOCOL §1.2) and are fetched as they are, so a URL naming an internal address
 * must not turn the gateway into a proxy into its own network.
 *
 * The rule: a URL on the host of the configured CDN base URL is always allowed (the operator named it,
 * which is how tests reach the emulator on 127.0.0.1); any other URL may connect only to public
 * addresses. Every URL must be http(s) without credentials, and never plain http when the CDN is https.
 * Names are checked where the socket connects ({@link guardedLookup}), so the address checked is the
 * address used and DNS cannot answer differently in between.
 *
 * The host's own guard (`fetchWithSsrFGuard` of openclaw/plugin-sdk/ssrf-runtime) was the first choice: it
 * loads under Node 20, but its fetch runs on the host's bundled undici 8, which needs Node ≥ 22.19
 * (`webidl.util.markAsUncloneable` is missing on 20), and it would tie the CDN client to a running host.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns"
import { BlockList, isIP } from "node:net"
import { Either } from "effect"
import { CdnUrlRefused, type CdnOperation, originOf } from "./CdnError.js"

const blocked = new BlockList()
for (
  const [network, prefix] of [
    ["0.0.0.0", 8], // "this network"
    ["10.0.0.0", 8],
    ["100.64.0.0", 10], // carrier-grade NAT
    ["127.0.0.0", 8],
    ["169.254.0.0", 16], // link-local, cloud metadata
    ["172.16.0.0", 12],
    ["192.0.0.0", 24],
    ["192.0.2.0", 24],
    ["192.168.0.0", 16],
    ["198.18.0.0", 15],
    ["198.51.100.0", 24],
    ["203.0.113.0", 24],
    ["224.0.0.0", 4], // multicast
    ["240.0.0.0", 4] // reserved, broadcast
  ] as const
) blocked.addSubnet(network, prefix, "ipv4")
for (
  const [network, prefix] of [
    ["::", 96], // unspecified, loopback, IPv4-compatible
    ["100::", 64], // discard
    ["2001:db8::", 32], // documentation
    ["fc00::", 7], // unique local
    ["fe80::", 10], // link-local
    ["ff00::", 8] // multicast
  ] as const
) blocked.addSubnet(network, prefix, "ipv6")

/** The IPv4 address an IPv6 address carries (mapped `::ffff:a.b.c.d` or NAT64 `64:ff9b::/96`), if any. */
const embeddedIpv4 = (address: string): string | undefined => {
  const lower = address.toLowerCase()
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted !== null) return dotted[1]
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (hex === null) return undefined
  const high = parseInt(hex[1] ?? "0", 16)
  const low = parseInt(hex[2] ?? "0", 16)
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
}

/** True for an address on the public internet; false for loopback, private, link-local, reserved. */
export const isPublicAddress = (address: string): boolean => {
  const family = isIP(address)
  if (family === 4) return !blocked.check(address, "ipv4")
  if (family === 6) {
    const v4 = embeddedIpv4(address)
    if (v4 !== undefined) return isPublicAddress(v4)
    return !blocked.check(address, "ipv6")
  }
  return false
}

/** Which connection a URL may use: any address (configured host) or public addresses only. */
export type CdnRoute = "configured" | "public"

export interface CdnTarget {
  readonly url: URL
  readonly route: CdnRoute
  /** origin only: what logs and errors may show */
  readonly host: string
}

const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase()

/** Decides whether `url` may be fetched, given the configured CDN base URL. */
export const resolveTarget = (
  operation: CdnOperation,
  url: string,
  cdnBaseUrl: string
): Either.Either<CdnTarget, CdnUrlRefused> => {
  const host = originOf(url)
  const refuse = (reason: string) => Either.left(new CdnUrlRefused({ operation, host, reason }))
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return refuse("the URL is not a valid absolute URL")
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return refuse(`the scheme ${parsed.protocol} is not http(s)`)
  if (parsed.username !== "" || parsed.password !== "") return refuse("the URL carries credentials")
  let base: URL | undefined
  try {
    base = new URL(cdnBaseUrl)
  } catch {
    base = undefined
  }
  // an https CDN is never left for plain http, on its own host or another: the query is a credential
  if (base?.protocol === "https:" && parsed.protocol === "http:") return refuse("plain http where the CDN is https")
  if (base !== undefined && bare(base.hostname) === bare(parsed.hostname)) {
    return Either.right({ url: parsed, route: "configured", host })
  }
  const hostname = bare(parsed.hostname)
  if (isIP(hostname) !== 0 && !isPublicAddress(hostname)) {
    return refuse("the address is private, loopback or reserved, and the configured CDN is elsewhere")
  }
  return Either.right({ url: parsed, route: "public", host })
}

/** The error a guarded connection fails with; found again in the cause chain of the request error. */
export class BlockedAddressError extends Error {
  readonly code = "ERR_CDN_BLOCKED_ADDRESS"
  constructor(readonly hostname: string) {
    super(`${hostname} resolves to a private, loopback or reserved address`)
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | Array<LookupAddress>, family?: number) => void
type Resolver = (hostname: string, callback: (error: NodeJS.ErrnoException | null, addresses: Array<LookupAddress>) => void) => void

const systemResolver: Resolver = (hostname, callback) => dnsLookup(hostname, { all: true }, callback)

/**
 * A `lookup` for sockets that may reach public addresses only: resolves every address of the name and
 * fails the connection if any of them is not public. `resolve` is the system resolver unless a test
 * passes its own.
 */
export const guardedLookup = (resolve: Resolver = systemResolver) =>
(hostname: string, options: { readonly all?: boolean | undefined } | number | undefined, callback: LookupCallback): void => {
  resolve(hostname, (error, addresses) => {
    if (error !== null) return callback(error, [])
    if (addresses.length === 0 || addresses.some((entry) => !isPublicAddress(entry.address))) {
      return callback(new BlockedAddressError(hostname), [])
    }
    const all = typeof options === "object" && options?.all === true
    if (all) return callback(null, addresses)
    const first = addresses[0] as LookupAddress
    return callback(null, first.address, first.family)
  })
}
