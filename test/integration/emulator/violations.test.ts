/**
 * Every request rule of PROTOCOL §1.3 (headers), §1.4 (base_info) and §1.8 (bodies, queries) that a client
 * could break: a correct request passes, and each single mistake is recorded under exactly its rule.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { makeEmulator } from "../../../sandbox/emulator/Emulator.js"
import type { EndpointName } from "../../../sandbox/emulator/Records.js"
import { checkBody, checkHeaders, isSanitisedBotAgent } from "../../../sandbox/emulator/Validation.js"
import { baseInfo, botHeaders, request } from "../../support/emulatorRawClient.js"

const appHeaders = { "ilink-app-id": "bot", "ilink-app-clientversion": "132105" }
const lower = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
const postHeaders = (token?: string) => lower(botHeaders(token))

interface Good {
  readonly method: string
  readonly headers: Record<string, string>
  readonly body: string
  readonly query: Record<string, string>
}

const post = (body: Record<string, unknown>, token: string | undefined, query = {}): Good => ({
  method: "POST",
  headers: postHeaders(token),
  body: JSON.stringify(body),
  query
})

const goodUpload = {
  filekey: "00112233445566778899aabbccddeeff",
  media_type: 1,
  to_user_id: "u@im.wechat",
  rawsize: 5,
  rawfilemd5: "5d41402abc4b2a76b9719d911017c592",
  filesize: 16,
  no_need_thumb: true,
  aeskey: "000102030405060708090a0b0c0d0e0f",
  base_info: baseInfo
}
const goodMsg = {
  from_user_id: "",
  to_user_id: "u@im.wechat",
  client_id: "openclaw-weixin:1700000000000-deadbeef",
  message_type: 2,
  message_state: 2,
  item_list: [{ type: 1, text_item: { text: "hi" } }],
  context_token: "ctx"
}
const media = { encrypt_query_param: "eqp", aes_key: Buffer.from("000102030405060708090a0b0c0d0e0f").toString("base64"), encrypt_type: 1 }

/** A request the official plugin would send to each endpoint. */
const good: Record<Exclude<EndpointName, "cdn_upload" | "cdn_download">, Good> = {
  getupdates: post({ get_updates_buf: "", base_info: baseInfo }, "tok"),
  sendmessage: post({ msg: goodMsg, base_info: baseInfo }, "tok"),
  sendtyping: post({ ilink_user_id: "u@im.wechat", typing_ticket: "dGs=", status: 1, base_info: baseInfo }, "tok"),
  getconfig: post({ ilink_user_id: "u@im.wechat", context_token: "ctx", base_info: baseInfo }, "tok"),
  getuploadurl: post(goodUpload, "tok"),
  notifystart: post({ base_info: baseInfo }, "tok"),
  notifystop: post({ base_info: baseInfo }, "tok"),
  get_bot_qrcode: post({ local_token_list: ["t1"] }, undefined, { bot_type: "3" }),
  get_qrcode_status: { method: "GET", headers: appHeaders, body: "", query: { qrcode: "q1" } }
}

const rulesOf = (endpoint: EndpointName, request: Good): Array<string> =>
  [
    ...checkHeaders(endpoint, request.method, request.headers),
    ...checkBody(endpoint, request.body, request.query).problems
  ].map((p) => p.rule)

const withHeaders = (g: Good, change: (h: Record<string, string>) => void): Good => {
  const headers = { ...g.headers }
  change(headers)
  return { ...g, headers }
}
const withBody = (g: Good, change: (b: Record<string, any>) => void): Good => {
  const body = JSON.parse(g.body)
  change(body)
  return { ...g, body: JSON.stringify(body) }
}
const withMsg = (change: (m: Record<string, any>) => void) => withBody(good.sendmessage, (b) => change(b.msg))

/** [endpoint, what the client gets wrong, the broken request, the one rule it must be recorded under] */
const mistakes: ReadonlyArray<readonly [EndpointName, string, Good, string]> = [
  // §1.3 headers
  ["notifystart", "GET instead of POST", { ...good.notifystart, method: "GET" }, "method"],
  ["getconfig", "no iLink-App-Id", withHeaders(good.getconfig, (h) => delete h["ilink-app-id"]), "ilink-app-id"],
  ["getconfig", "a wrong app id", withHeaders(good.getconfig, (h) => (h["ilink-app-id"] = "weixin")), "ilink-app-id"],
  ["getconfig", "a client version that is not a uint32", withHeaders(good.getconfig, (h) => (h["ilink-app-clientversion"] = "2.4.9")), "ilink-app-clientversion"],
  ["getupdates", "a text Content-Type", withHeaders(good.getupdates, (h) => (h["content-type"] = "text/plain")), "content-type"],
  ["getupdates", "no AuthorizationType", withHeaders(good.getupdates, (h) => delete h["authorizationtype"]), "authorizationtype"],
  ["getupdates", "an X-WECHAT-UIN that is not base64 of a decimal", withHeaders(good.getupdates, (h) => (h["x-wechat-uin"] = "12345")), "x-wechat-uin"],
  ["sendmessage", "no bearer token", withHeaders(good.sendmessage, (h) => delete h["authorization"]), "authorization"],
  ["sendmessage", "a blank bearer token", withHeaders(good.sendmessage, (h) => (h["authorization"] = "Bearer ")), "authorization"],
  ["get_bot_qrcode", "a bearer token on the QR call", withHeaders(good.get_bot_qrcode, (h) => (h["authorization"] = "Bearer t")), "authorization"],
  ["getupdates", "an empty SKRouteTag", withHeaders(good.getupdates, (h) => (h["skroutetag"] = "")), "skroutetag"],
  ["getupdates", "an untrimmed SKRouteTag", withHeaders(good.getupdates, (h) => (h["skroutetag"] = " 7 ")), "skroutetag"],
  ["get_qrcode_status", "POST headers on the status GET", withHeaders(good.get_qrcode_status, (h) => (h["x-wechat-uin"] = "MTIzNDU=")), "get-status-headers"],
  // §1.4 base_info
  ["notifystop", "no base_info", withBody(good.notifystop, (b) => delete b.base_info), "base_info"],
  ["getconfig", "an empty channel_version", withBody(good.getconfig, (b) => (b.base_info = { ...baseInfo, channel_version: "" })), "base_info"],
  ["getupdates", "an unsanitised bot_agent", withBody(good.getupdates, (b) => (b.base_info = { ...baseInfo, bot_agent: "My Bot" })), "base_info.bot_agent"],
  ["get_bot_qrcode", "base_info on the QR call", withBody(good.get_bot_qrcode, (b) => (b.base_info = baseInfo)), "unexpected-field"],
  // §1.8 bodies and queries
  ["getupdates", "a body that is not JSON", { ...good.getupdates, body: "{get_updates_buf:" }, "json"],
  ["getupdates", "a JSON array body", { ...good.getupdates, body: "[]" }, "json"],
  ["getupdates", "the deprecated sync_buf", withBody(good.getupdates, (b) => (b.sync_buf = "")), "unexpected-field"],
  ["getupdates", "no cursor", withBody(good.getupdates, (b) => delete b.get_updates_buf), "get_updates_buf"],
  ["sendmessage", "no msg", withBody(good.sendmessage, (b) => delete b.msg), "msg"],
  ["sendmessage", "the bot's id as from_user_id", withMsg((m) => (m.from_user_id = "b@im.bot")), "msg.from_user_id"],
  ["sendmessage", "no recipient", withMsg((m) => (m.to_user_id = "")), "msg.to_user_id"],
  ["sendmessage", "a client_id of another format", withMsg((m) => (m.client_id = "c-1")), "msg.client_id"],
  ["sendmessage", "message_type USER", withMsg((m) => (m.message_type = 1)), "msg.message_type"],
  ["sendmessage", "message_state GENERATING", withMsg((m) => (m.message_state = 1)), "msg.message_state"],
  ["sendmessage", "a numeric context_token", withMsg((m) => (m.context_token = 5)), "msg.context_token"],
  ["sendmessage", "a numeric run_id", withMsg((m) => (m.run_id = 5)), "msg.run_id"],
  ["sendmessage", "two items in one message", withMsg((m) => m.item_list.push({ type: 1, text_item: { text: "b" } })), "item_list"],
  ["sendmessage", "an empty item_list instead of none", withMsg((m) => (m.item_list = [])), "item_list"],
  ["sendmessage", "an unknown item type", withMsg((m) => (m.item_list = [{ type: 42 }])), "item_list"],
  ["sendmessage", "an image without encrypt_type 1", withMsg((m) => (m.item_list = [{ type: 2, image_item: { media: { ...media, encrypt_type: 0 } } }])), "item_list"],
  ["sendmessage", "a file whose len is a number", withMsg((m) => (m.item_list = [{ type: 4, file_item: { media, file_name: "a", len: 5 } }])), "item_list"],
  ["sendtyping", "status 3", withBody(good.sendtyping, (b) => (b.status = 3)), "status"],
  ["sendtyping", "no typing_ticket", withBody(good.sendtyping, (b) => delete b.typing_ticket), "typing_ticket"],
  ["sendtyping", "no user", withBody(good.sendtyping, (b) => delete b.ilink_user_id), "ilink_user_id"],
  ["getconfig", "a numeric user id", withBody(good.getconfig, (b) => (b.ilink_user_id = 1)), "ilink_user_id"],
  ["getconfig", "a null context_token", withBody(good.getconfig, (b) => (b.context_token = null)), "context_token"],
  ["getuploadurl", "an uppercase filekey", withBody(good.getuploadurl, (b) => (b.filekey = b.filekey.toUpperCase())), "filekey"],
  ["getuploadurl", "media_type 5", withBody(good.getuploadurl, (b) => (b.media_type = 5)), "media_type"],
  ["getuploadurl", "no to_user_id", withBody(good.getuploadurl, (b) => (b.to_user_id = "")), "to_user_id"],
  ["getuploadurl", "rawsize as a string", withBody(good.getuploadurl, (b) => (b.rawsize = "5")), "rawsize"],
  ["getuploadurl", "a short md5", withBody(good.getuploadurl, (b) => (b.rawfilemd5 = "abc")), "rawfilemd5"],
  ["getuploadurl", "filesize without PKCS#7 padding", withBody(good.getuploadurl, (b) => (b.filesize = 5)), "filesize"],
  ["getuploadurl", "no_need_thumb false", withBody(good.getuploadurl, (b) => (b.no_need_thumb = false)), "no_need_thumb"],
  ["getuploadurl", "a base64 aeskey", withBody(good.getuploadurl, (b) => (b.aeskey = "AAECAwQFBgcICQoLDA0ODw==")), "aeskey"],
  ["getuploadurl", "thumbnail fields", withBody(good.getuploadurl, (b) => (b.thumb_rawsize = 1)), "unexpected-field"],
  ["get_bot_qrcode", "eleven tokens", withBody(good.get_bot_qrcode, (b) => (b.local_token_list = Array.from({ length: 11 }, (_, i) => `t${i}`))), "local_token_list"],
  ["get_bot_qrcode", "an empty token", withBody(good.get_bot_qrcode, (b) => (b.local_token_list = [""])), "local_token_list"],
  ["get_bot_qrcode", "no bot_type=3", { ...good.get_bot_qrcode, query: {} }, "query"],
  ["get_qrcode_status", "no qrcode", { ...good.get_qrcode_status, query: {} }, "query"],
  ["get_qrcode_status", "an empty verify_code", { ...good.get_qrcode_status, query: { qrcode: "q1", verify_code: "" } }, "query"],
  ["get_qrcode_status", "a body on the GET", { ...good.get_qrcode_status, body: "{}" }, "no-body"]
]

/** Rules only CDN requests can break, checked in their own test below. */
const cdnRules = ["cdn-no-ilink-headers", "content-type"]

describe("emulator request validation (PROTOCOL §1.3, §1.4, §1.8)", () => {
  it("accepts the request the official plugin sends to every endpoint", () => {
    for (const [endpoint, request] of Object.entries(good)) {
      expect([endpoint, rulesOf(endpoint as EndpointName, request)]).toEqual([endpoint, []])
    }
  })

  for (const [endpoint, mistake, request, rule] of mistakes) {
    it(`${endpoint}: ${mistake} is recorded as ${rule}`, () => {
      expect(rulesOf(endpoint, request)).toEqual([rule])
    })
  }

  it("every rule the validator can record has a mistake above that triggers it", () => {
    const source = readFileSync(fileURLToPath(new URL("../../../sandbox/emulator/Validation.ts", import.meta.url)), "utf8")
    const declared = new Set([
      ...[...source.matchAll(/rule: "([^"]+)"/g)].map((m) => m[1]),
      ...[...source.matchAll(/need\((?:[^;]*?),\s*"([a-z0-9_.-]+)",\s*[`"]/gs)].map((m) => m[1])
    ])
    const covered = new Set([...mistakes.map(([, , , rule]) => rule), ...cdnRules])
    expect([...declared].filter((rule) => !covered.has(rule as string))).toEqual([])
    expect(declared.size).toBeGreaterThan(30)
  })

  it("CDN calls carry no iLink headers and an upload is octet-stream", () => {
    expect(checkHeaders("cdn_upload", "POST", { "content-type": "application/octet-stream" })).toEqual([])
    expect(checkHeaders("cdn_download", "GET", {})).toEqual([])
    expect(checkHeaders("cdn_download", "GET", { "ilink-app-id": "bot" }).map((p) => p.rule)).toEqual(["cdn-no-ilink-headers"])
    expect(checkHeaders("cdn_upload", "POST", { "content-type": "application/json" }).map((p) => p.rule)).toEqual(["content-type"])
  })

  it("bot_agent: accepts what the sanitiser produces and nothing else", () => {
    for (const agent of ["OpenClaw", "MyBot/1.2.0 (region=cn;env=prod)", "ValidApp/1.0", "A/1 (x) B/2"]) {
      expect([agent, isSanitisedBotAgent(agent)]).toEqual([agent, true])
    }
    const tooLong = Array.from({ length: 20 }, (_, i) => `Product${i}/1.0.0-abcdef`).join(" ")
    for (const agent of ["My Bot", "A/1  B/2", "A/1 (foo", "MyBot/1.0 (中文)", "A/1 (x) (y)", " A/1", tooLong]) {
      expect([agent, isSanitisedBotAgent(agent)]).toEqual([agent, false])
    }
  })

  it.scopedLive("the server records a rule broken over HTTP and still answers", () =>
    Effect.gen(function*() {
      const emulator = yield* makeEmulator({ longPollMs: 50 })
      const bot = yield* emulator.addBot()
      const response = yield* request(`${emulator.baseUrl}ilink/bot/msg/notifystart`, {
        method: "POST",
        headers: { ...botHeaders(bot.token), SKRouteTag: "" },
        body: JSON.stringify({ base_info: { ...baseInfo, bot_agent: "My Bot" } })
      })
      expect(JSON.parse(response.text)).toEqual({ ret: 0 })
      expect((yield* emulator.violations()).map((v) => `${v.endpoint}:${v.rule}`).sort()).toEqual([
        "notifystart:base_info.bot_agent",
        "notifystart:skroutetag"
      ])
    }))
})
