/**
 * Checks each request against what a byte-compatible client sends (PROTOCOL §1.3, §1.4, §1.8).
 * Returns problems instead of throwing: the emulator still answers, and tests read the violations.
 */
import { botEndpointNames, type EndpointName } from "./Records.js"

export interface Problem {
  readonly rule: string
  readonly detail: string
}

/** Endpoints that need `Authorization: Bearer <bot token>` and a `base_info` in the body. */
export const botEndpoints: ReadonlySet<EndpointName> = new Set(botEndpointNames)

const uint32Decimal = (value: string): boolean => /^(0|[1-9]\d{0,9})$/.test(value) && Number(value) <= 0xffffffff

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const allowedTopLevel: Record<EndpointName, ReadonlyArray<string> | undefined> = {
  getupdates: ["get_updates_buf", "base_info"],
  sendmessage: ["msg", "base_info"],
  sendtyping: ["ilink_user_id", "typing_ticket", "status", "base_info"],
  getconfig: ["ilink_user_id", "context_token", "base_info"],
  getuploadurl: [
    "filekey",
    "media_type",
    "to_user_id",
    "rawsize",
    "rawfilemd5",
    "filesize",
    "no_need_thumb",
    "aeskey",
    "base_info"
  ],
  notifystart: ["base_info"],
  notifystop: ["base_info"],
  get_bot_qrcode: ["local_token_list"],
  get_qrcode_status: undefined,
  cdn_upload: undefined,
  cdn_download: undefined
}

export const checkHeaders = (
  endpoint: EndpointName,
  method: string,
  headers: Readonly<Record<string, string | undefined>>
): Array<Problem> => {
  const problems: Array<Problem> = []
  const need = (ok: boolean, rule: string, detail: string) => {
    if (!ok) problems.push({ rule, detail })
  }
  const expectedMethod = endpoint === "get_qrcode_status" || endpoint === "cdn_download" ? "GET" : "POST"
  need(method === expectedMethod, "method", `${endpoint} must be ${expectedMethod}, got ${method}`)

  if (endpoint === "cdn_upload" || endpoint === "cdn_download") {
    for (const name of ["authorization", "authorizationtype", "x-wechat-uin", "ilink-app-id", "ilink-app-clientversion"]) {
      need(headers[name] === undefined, "cdn-no-ilink-headers", `CDN requests carry no iLink headers, got ${name}`)
    }
    if (endpoint === "cdn_upload") {
      need(
        headers["content-type"] === "application/octet-stream",
        "content-type",
        `CDN upload needs Content-Type application/octet-stream, got ${headers["content-type"] ?? "(none)"}`
      )
    }
    return problems
  }

  const routeTag = headers["skroutetag"]
  need(
    routeTag === undefined || (routeTag !== "" && routeTag === routeTag.trim()),
    "skroutetag",
    `SKRouteTag is sent trimmed and only when configured, got ${JSON.stringify(routeTag)}`
  )

  const appId = headers["ilink-app-id"]
  need(appId === "bot", "ilink-app-id", `iLink-App-Id must be "bot", got ${appId === undefined ? "(none)" : JSON.stringify(appId)}`)
  const version = headers["ilink-app-clientversion"]
  need(
    version !== undefined && uint32Decimal(version),
    "ilink-app-clientversion",
    `iLink-App-ClientVersion must be a decimal uint32, got ${version === undefined ? "(none)" : JSON.stringify(version)}`
  )

  if (endpoint === "get_qrcode_status") {
    for (const name of ["content-type", "authorizationtype", "x-wechat-uin", "authorization"]) {
      need(headers[name] === undefined, "get-status-headers", `get_qrcode_status carries no ${name} header`)
    }
    return problems
  }

  need(
    headers["content-type"] === "application/json",
    "content-type",
    `Content-Type must be application/json, got ${headers["content-type"] ?? "(none)"}`
  )
  need(
    headers["authorizationtype"] === "ilink_bot_token",
    "authorizationtype",
    `AuthorizationType must be ilink_bot_token, got ${headers["authorizationtype"] ?? "(none)"}`
  )
  const uin = headers["x-wechat-uin"]
  const uinText = uin === undefined ? undefined : Buffer.from(uin, "base64").toString("utf8")
  need(
    uin !== undefined && uinText !== undefined && uint32Decimal(uinText) && Buffer.from(uinText, "utf8").toString("base64") === uin,
    "x-wechat-uin",
    `X-WECHAT-UIN must be base64 of a decimal uint32, got ${uin === undefined ? "(none)" : JSON.stringify(uin)}`
  )
  const authorization = headers["authorization"]
  if (botEndpoints.has(endpoint)) {
    need(
      authorization !== undefined && /^Bearer \S+$/.test(authorization),
      "authorization",
      `${endpoint} needs Authorization: Bearer <bot token>, got ${authorization === undefined ? "(none)" : "a malformed value"}`
    )
  } else {
    need(authorization === undefined, "authorization", `${endpoint} must not carry an Authorization header`)
  }
  return problems
}

const agentProduct = "[A-Za-z0-9_.-]{1,32}/[A-Za-z0-9_.+-]{1,32}"
const agentItem = `${agentProduct}(?: \\([\\x20-\\x27\\x2a-\\x7e]{1,64}\\))?`
const sanitisedAgent = new RegExp(`^${agentItem}(?: ${agentItem})*$`)

/** What the §1.4 sanitiser can produce: products with optional comments, one space apart, at most 256 bytes. */
export const isSanitisedBotAgent = (agent: string): boolean =>
  agent === "OpenClaw" || (sanitisedAgent.test(agent) && Buffer.byteLength(agent, "utf8") <= 256)

const checkBaseInfo = (body: Record<string, unknown>, problems: Array<Problem>) => {
  const baseInfo = body["base_info"]
  if (!isObject(baseInfo)) {
    problems.push({ rule: "base_info", detail: "body needs base_info {channel_version, bot_agent}" })
    return
  }
  for (const key of ["channel_version", "bot_agent"]) {
    const value = baseInfo[key]
    if (typeof value !== "string" || value.length === 0) {
      problems.push({ rule: "base_info", detail: `base_info.${key} must be a non-empty string` })
    }
  }
  const agent = baseInfo["bot_agent"]
  if (typeof agent === "string" && agent.length > 0 && !isSanitisedBotAgent(agent)) {
    problems.push({ rule: "base_info.bot_agent", detail: `bot_agent ${JSON.stringify(agent)} is not what the sanitiser produces` })
  }
}

const checkMedia = (where: string, media: unknown, problems: Array<Problem>) => {
  if (!isObject(media)) {
    problems.push({ rule: "item_list", detail: `${where}.media must be an object` })
    return
  }
  if (typeof media["encrypt_query_param"] !== "string" || media["encrypt_query_param"] === "") {
    problems.push({ rule: "item_list", detail: `${where}.media.encrypt_query_param must be a non-empty string` })
  }
  const aesKey = media["aes_key"]
  const keyText = typeof aesKey === "string" ? Buffer.from(aesKey, "base64").toString("latin1") : ""
  if (typeof aesKey !== "string" || !/^[0-9a-f]{32}$/.test(keyText)) {
    problems.push({ rule: "item_list", detail: `${where}.media.aes_key must be base64 of the 32-char hex key` })
  }
  if (media["encrypt_type"] !== 1) problems.push({ rule: "item_list", detail: `${where}.media.encrypt_type must be 1` })
}

const itemFields: Record<number, string> = {
  1: "text_item",
  2: "image_item",
  3: "voice_item",
  4: "file_item",
  5: "video_item",
  11: "tool_call_start_item",
  12: "tool_call_result_item"
}

const checkItem = (index: number, item: unknown, problems: Array<Problem>) => {
  const where = `msg.item_list[${index}]`
  if (!isObject(item)) {
    problems.push({ rule: "item_list", detail: `${where} must be an object` })
    return
  }
  const type = item["type"]
  const field = typeof type === "number" ? itemFields[type] : undefined
  if (field === undefined) {
    problems.push({ rule: "item_list", detail: `${where}.type ${JSON.stringify(type)} is not a known item type` })
    return
  }
  const payload = item[field]
  if (!isObject(payload)) {
    problems.push({ rule: "item_list", detail: `${where} of type ${String(type)} needs ${field}` })
    return
  }
  switch (type) {
    case 1:
      if (typeof payload["text"] !== "string") problems.push({ rule: "item_list", detail: `${where}.text_item.text must be a string` })
      break
    case 2:
    case 5:
      checkMedia(`${where}.${field}`, payload["media"], problems)
      break
    case 4:
      checkMedia(`${where}.${field}`, payload["media"], problems)
      if (typeof payload["file_name"] !== "string") problems.push({ rule: "item_list", detail: `${where}.file_item.file_name must be a string` })
      if (typeof payload["len"] !== "string" || !/^\d+$/.test(payload["len"])) {
        problems.push({ rule: "item_list", detail: `${where}.file_item.len must be a decimal string` })
      }
      break
  }
}

const checkSendMessage = (body: Record<string, unknown>, problems: Array<Problem>) => {
  const msg = body["msg"]
  if (!isObject(msg)) {
    problems.push({ rule: "msg", detail: "sendmessage body needs a msg object" })
    return
  }
  if (msg["from_user_id"] !== "") problems.push({ rule: "msg.from_user_id", detail: `from_user_id must be "", got ${JSON.stringify(msg["from_user_id"])}` })
  if (typeof msg["to_user_id"] !== "string" || msg["to_user_id"] === "") {
    problems.push({ rule: "msg.to_user_id", detail: "to_user_id must be a non-empty string" })
  }
  if (typeof msg["client_id"] !== "string" || !/^openclaw-weixin:\d+-[0-9a-f]{8}$/.test(msg["client_id"])) {
    problems.push({
      rule: "msg.client_id",
      detail: `client_id must look like openclaw-weixin:<epoch ms>-<8 hex>, got ${JSON.stringify(msg["client_id"])}`
    })
  }
  if (msg["message_type"] !== 2) problems.push({ rule: "msg.message_type", detail: `message_type must be 2 (BOT), got ${JSON.stringify(msg["message_type"])}` })
  if (msg["message_state"] !== 2) {
    problems.push({ rule: "msg.message_state", detail: `message_state must be 2 (FINISH), got ${JSON.stringify(msg["message_state"])}` })
  }
  for (const key of ["context_token", "run_id"]) {
    if (msg[key] !== undefined && typeof msg[key] !== "string") problems.push({ rule: `msg.${key}`, detail: `${key} must be a string when present` })
  }
  const items = msg["item_list"]
  if (items === undefined) return
  if (!Array.isArray(items)) {
    problems.push({ rule: "item_list", detail: "msg.item_list must be an array when present" })
    return
  }
  if (items.length !== 1) problems.push({ rule: "item_list", detail: `one item per message is sent, got ${items.length}` })
  items.forEach((item, index) => checkItem(index, item, problems))
}

const hex32 = /^[0-9a-f]{32}$/

const checkGetUploadUrl = (body: Record<string, unknown>, problems: Array<Problem>) => {
  const need = (ok: boolean, rule: string, detail: string) => {
    if (!ok) problems.push({ rule, detail })
  }
  need(typeof body["filekey"] === "string" && hex32.test(body["filekey"]), "filekey", "filekey must be 32 lowercase hex chars")
  need([1, 2, 3, 4].includes(body["media_type"] as number), "media_type", "media_type must be 1, 2, 3 or 4")
  need(typeof body["to_user_id"] === "string" && body["to_user_id"] !== "", "to_user_id", "to_user_id must be a non-empty string")
  const rawsize = body["rawsize"]
  need(typeof rawsize === "number" && Number.isInteger(rawsize) && rawsize >= 0, "rawsize", "rawsize must be a non-negative integer")
  need(typeof body["rawfilemd5"] === "string" && hex32.test(body["rawfilemd5"]), "rawfilemd5", "rawfilemd5 must be 32 lowercase hex chars")
  if (typeof rawsize === "number") {
    const expected = Math.ceil((rawsize + 1) / 16) * 16
    need(body["filesize"] === expected, "filesize", `filesize must be the padded ciphertext size ${expected}, got ${JSON.stringify(body["filesize"])}`)
  }
  need(body["no_need_thumb"] === true, "no_need_thumb", "no_need_thumb must be true")
  need(typeof body["aeskey"] === "string" && hex32.test(body["aeskey"]), "aeskey", "aeskey must be 32 lowercase hex chars")
}

/** Parses and checks a JSON body; returns the parsed value (undefined if unparseable) and problems. */
export const checkBody = (
  endpoint: EndpointName,
  rawBody: string,
  query: Readonly<Record<string, string>>
): { readonly body: Record<string, unknown> | undefined; readonly problems: Array<Problem> } => {
  const problems: Array<Problem> = []
  if (endpoint === "get_qrcode_status" || endpoint === "cdn_download") {
    if (rawBody.length > 0) problems.push({ rule: "no-body", detail: `${endpoint} is a GET without a body` })
    if (endpoint === "get_qrcode_status" && (query["qrcode"] ?? "") === "") {
      problems.push({ rule: "query", detail: "get_qrcode_status needs ?qrcode=<qrcode>" })
    }
    if (endpoint === "get_qrcode_status" && query["verify_code"] !== undefined && query["verify_code"].trim() === "") {
      problems.push({ rule: "query", detail: "verify_code is sent only with the code the person typed, never empty" })
    }
    return { body: undefined, problems }
  }
  if (endpoint === "cdn_upload") return { body: undefined, problems }
  let parsed: unknown
  try {
    parsed = JSON.parse(rawBody)
  } catch {
    problems.push({ rule: "json", detail: `${endpoint} body is not valid JSON` })
    return { body: undefined, problems }
  }
  if (!isObject(parsed)) {
    problems.push({ rule: "json", detail: `${endpoint} body must be a JSON object` })
    return { body: undefined, problems }
  }
  const allowed = allowedTopLevel[endpoint]
  if (allowed !== undefined) {
    for (const key of Object.keys(parsed)) {
      if (!allowed.includes(key)) problems.push({ rule: "unexpected-field", detail: `${endpoint} body has unexpected field ${key}` })
    }
  }
  if (botEndpoints.has(endpoint)) checkBaseInfo(parsed, problems)
  switch (endpoint) {
    case "getupdates":
      if (typeof parsed["get_updates_buf"] !== "string") problems.push({ rule: "get_updates_buf", detail: "get_updates_buf must be a string (\"\" for none)" })
      break
    case "sendmessage":
      checkSendMessage(parsed, problems)
      break
    case "sendtyping":
      if (typeof parsed["ilink_user_id"] !== "string") problems.push({ rule: "ilink_user_id", detail: "ilink_user_id must be a string" })
      if (typeof parsed["typing_ticket"] !== "string") problems.push({ rule: "typing_ticket", detail: "typing_ticket must be a string" })
      if (parsed["status"] !== 1 && parsed["status"] !== 2) problems.push({ rule: "status", detail: "status must be 1 (typing) or 2 (cancel)" })
      break
    case "getconfig":
      if (typeof parsed["ilink_user_id"] !== "string") problems.push({ rule: "ilink_user_id", detail: "ilink_user_id must be a string" })
      if (parsed["context_token"] !== undefined && typeof parsed["context_token"] !== "string") {
        problems.push({ rule: "context_token", detail: "context_token must be a string when present" })
      }
      break
    case "getuploadurl":
      checkGetUploadUrl(parsed, problems)
      break
    case "get_bot_qrcode": {
      const list = parsed["local_token_list"]
      if (!Array.isArray(list) || list.some((t) => typeof t !== "string" || t === "") || list.length > 10) {
        problems.push({ rule: "local_token_list", detail: "local_token_list must be an array of at most 10 non-empty strings" })
      }
      if (query["bot_type"] !== "3") problems.push({ rule: "query", detail: "get_bot_qrcode needs ?bot_type=3" })
      break
    }
  }
  return { body: parsed, problems }
}
