import { describe, expect, it } from "@effect/vitest"
import type { LookupAddress } from "node:dns"
import { Either } from "effect"
import { BlockedAddressError, guardedLookup, isPublicAddress, resolveTarget } from "../../../src/ilink/CdnAddress.js"

describe("isPublicAddress", () => {
  it("refuses loopback, private, link-local, shared, reserved and multicast addresses", () => {
    for (
      const address of [
        "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1", "::", "::1", "fe80::1", "fd00::1",
        "fc00::5", "ff02::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "::7f00:1",
        "2001:db8::1", "not an address", ""
      ]
    ) {
      expect([address, isPublicAddress(address)]).toEqual([address, false])
    }
  })

  it("accepts public IPv4 and IPv6 addresses", () => {
    for (const address of ["1.1.1.1", "203.205.254.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
      expect([address, isPublicAddress(address)]).toEqual([address, true])
    }
  })
})

describe("resolveTarget", () => {
  const base = "https://novac2c.cdn.weixin.qq.com/c2c"

  it("trusts the configured CDN host, whatever its address, port or path", () => {
    const target = Either.getOrThrow(resolveTarget("download", "https://NOVAC2C.cdn.weixin.qq.com:8443/other?q=secret", base))
    expect([target.route, target.host]).toEqual(["configured", "https://novac2c.cdn.weixin.qq.com:8443"])
    const local = Either.getOrThrow(resolveTarget("upload", "http://127.0.0.1:4000/c2c/upload?x=1", "http://127.0.0.1:4000/c2c"))
    expect(local.route).toBe("configured")
  })

  it("lets other hosts through only for public addresses", () => {
    expect(Either.getOrThrow(resolveTarget("download", "https://other.example.com/x", base)).route).toBe("public")
    expect(Either.getOrThrow(resolveTarget("download", "https://1.2.3.4/x", base)).route).toBe("public")
    // the emulator on 127.0.0.1 does not make 127.0.0.2 or localhost "configured"
    expect(Either.isLeft(resolveTarget("download", "http://127.0.0.2:4000/x", "http://127.0.0.1:4000/c2c"))).toBe(true)
    expect(Either.getOrThrow(resolveTarget("download", "http://localhost:4000/x", "http://127.0.0.1:4000/c2c")).route).toBe("public")
  })

  it("refuses other schemes, credentials and a downgrade from an https CDN, naming only the origin", () => {
    const reasons = [
      "ftp://novac2c.cdn.weixin.qq.com/x",
      "https://u:p@novac2c.cdn.weixin.qq.com/x",
      "http://other.example.com/x?encrypted_query_param=SECRET",
      "http://novac2c.cdn.weixin.qq.com/c2c/download?encrypted_query_param=SECRET",
      "::not a url::"
    ].map((url) => resolveTarget("download", url, base))
    expect(reasons.every(Either.isLeft)).toBe(true)
    const text = reasons.map((r) => (Either.isLeft(r) ? `${r.left.message} ${JSON.stringify(r.left)}` : "")).join("\n")
    expect(text).not.toContain("SECRET")
    expect(text).not.toContain("u:p@")
  })
})

describe("guardedLookup", () => {
  const resolverOf = (addresses: Array<LookupAddress>) =>
  (_host: string, callback: (error: NodeJS.ErrnoException | null, addresses: Array<LookupAddress>) => void) =>
    callback(null, addresses)

  const lookup = (addresses: Array<LookupAddress>, all: boolean) =>
    new Promise<{ error: unknown; result: unknown; family: unknown }>((resolve) =>
      guardedLookup(resolverOf(addresses))("cdn.example.com", { all }, (error, result, family) => resolve({ error, result, family }))
    )

  it("connects to a name whose addresses are all public", async () => {
    const addresses = [{ address: "1.2.3.4", family: 4 }, { address: "2606:4700::1", family: 6 }]
    expect(await lookup(addresses, true)).toMatchObject({ error: null, result: addresses })
    expect(await lookup(addresses, false)).toMatchObject({ error: null, result: "1.2.3.4", family: 4 })
  })

  it("refuses a name with any private address among its answers (DNS rebinding, split answers)", async () => {
    const { error } = await lookup([{ address: "1.2.3.4", family: 4 }, { address: "10.0.0.7", family: 4 }], true)
    expect(error).toBeInstanceOf(BlockedAddressError)
    expect((error as BlockedAddressError).code).toBe("ERR_CDN_BLOCKED_ADDRESS")
    expect((await lookup([{ address: "127.0.0.1", family: 4 }], false)).error).toBeInstanceOf(BlockedAddressError)
    expect((await lookup([], false)).error).toBeInstanceOf(BlockedAddressError)
  })

  it("passes a resolver error through", async () => {
    const failing = (_host: string, callback: (error: NodeJS.ErrnoException | null, addresses: Array<LookupAddress>) => void) =>
      callback(Object.assign(new Error("getaddrinfo ENOTFOUND x"), { code: "ENOTFOUND" }), [])
    const error = await new Promise((resolve) => guardedLookup(failing)("x", { all: true }, (e) => resolve(e)))
    expect((error as NodeJS.ErrnoException).code).toBe("ENOTFOUND")
  })
})
