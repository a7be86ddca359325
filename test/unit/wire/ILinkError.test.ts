import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import {
  ILinkApiError,
  ILinkConfigError,
  ILinkDecodeError,
  ILinkError,
  ILinkHttpStatusError,
  AuthExpired,
  ILinkTimeoutError,
  ILinkTransportError,
  isNeverReached
} from "../../../src/wire/ILinkError.js"

const samples = [
  new ILinkTransportError({ endpoint: "ilink/bot/sendmessage", reachedServer: "no", kind: "refused", code: "ECONNREFUSED", detail: "connect ECONNREFUSED 127.0.0.1:9" }),
  new ILinkTimeoutError({ endpoint: "ilink/bot/sendmessage", accountId: "a-im-bot", reachedServer: "maybe", timeoutMs: 15000 }),
  new ILinkHttpStatusError({ endpoint: "ilink/bot/getconfig", reachedServer: "yes", status: 503, bodySnippet: "busy" }),
  new ILinkApiError({ endpoint: "ilink/bot/sendmessage", reachedServer: "yes", ret: -2, errmsg: "" }),
  new AuthExpired({ endpoint: "ilink/bot/getupdates", accountId: "a-im-bot", reachedServer: "yes", errcode: -14 }),
  new ILinkDecodeError({ endpoint: "ilink/bot/getupdates", reachedServer: "yes", problem: "the body is not valid JSON", bodySnippet: "<html>" }),
  new ILinkConfigError({ endpoint: "(connection)", reachedServer: "no", setting: "baseUrl", value: "ilinkai", problem: "is not an absolute URL" })
] as const

describe("ILinkError", () => {
  it("every error survives a trip through its JSON encoding (serialisable details)", () => {
    const encode = Schema.encodeSync(ILinkError)
    const decode = Schema.decodeUnknownSync(ILinkError)
    for (const error of samples) {
      const back = decode(JSON.parse(JSON.stringify(encode(error))))
      expect(back).toBeInstanceOf(error.constructor)
      expect(back).toEqual(error)
    }
  })

  it("messages say what happened, where, and what to do", () => {
    const [transport, timeout, status, api, expired, decode, config] = samples
    expect(transport.message).toContain("ilink/bot/sendmessage")
    expect(transport.message).toContain("refused")
    expect(timeout.message).toContain("15000 ms")
    expect(timeout.message).toContain("a-im-bot")
    expect(status.message).toContain("HTTP 503")
    expect(api.message).toContain("ret=-2 errmsg=(none)")
    expect(api.message).toContain("context token")
    expect(expired.message).toContain("openclaw channels login --channel openclaw-weixin")
    expect(decode.message).toContain("check that the base URL")
    expect(config.message).toContain(`"ilinkai"`)
  })

  it("only errors that provably never left this machine count as never reached", () => {
    expect(samples.map(isNeverReached)).toEqual([true, false, false, false, false, false, true])
  })
})
