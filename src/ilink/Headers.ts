/**
 * The request headers of PROTOCOL §1.3, built from pure inputs so golden tests can pin every byte.
 * `Content-Type` is not here: it comes with the JSON body, and `Content-Length` is left to the HTTP
 * layer, as the official client does for undici.
 */
import { Option, Redacted } from "effect"

export interface ILinkHeaderInputs {
  /** `ilink_appid` of package.json ("" when absent) */
  readonly appId: string
  /** the `iLink-App-ClientVersion` value, already packed */
  readonly clientVersion: string
  /** SKRouteTag value, or undefined for no header */
  readonly routeTag: string | undefined
}

/** `X-WECHAT-UIN`: base64 of the decimal string of a random uint32; a nonce, not an identity. */
export const wechatUinHeader = (randomUint32: number): string =>
  Buffer.from(String(randomUint32 >>> 0), "utf8").toString("base64")

/** The token with whitespace trimmed, or none when it is absent or blank. */
export const bearerToken = (token: Redacted.Redacted<string> | undefined): Option.Option<string> => {
  if (token === undefined) return Option.none()
  const trimmed = Redacted.value(token).trim()
  return trimmed === "" ? Option.none() : Option.some(trimmed)
}

/** Headers of every POST to the API; `Authorization` only with a non-blank token. */
export const postHeaders = (
  inputs: ILinkHeaderInputs,
  options: { readonly uin: string; readonly token: Redacted.Redacted<string> | undefined }
): Record<string, string> => {
  const headers: Record<string, string> = {
    AuthorizationType: "ilink_bot_token",
    "X-WECHAT-UIN": options.uin,
    "iLink-App-Id": inputs.appId,
    "iLink-App-ClientVersion": inputs.clientVersion
  }
  if (inputs.routeTag !== undefined) headers["SKRouteTag"] = inputs.routeTag
  const token = bearerToken(options.token)
  if (Option.isSome(token)) headers["Authorization"] = `Bearer ${token.value}`
  return headers
}

/** Headers of the GET `get_qrcode_status`: only the app identity and the optional route tag. */
export const getHeaders = (inputs: ILinkHeaderInputs): Record<string, string> => {
  const headers: Record<string, string> = {
    "iLink-App-Id": inputs.appId,
    "iLink-App-ClientVersion": inputs.clientVersion
  }
  if (inputs.routeTag !== undefined) headers["SKRouteTag"] = inputs.routeTag
  return headers
}
