/**
 * The rule for an iLink base URL (PROTOCOL §1.2): an absolute http(s) URL without query or fragment. Pure, so
 * the connection (at account start) and the config schema (at configuration time) judge a value alike.
 */

/** What is wrong with `baseUrl`, in words that fit after the value, or undefined when it is usable. */
export const baseUrlProblem = (baseUrl: string): string | undefined => {
  const trimmed = baseUrl.trim()
  if (trimmed === "") return "is empty; it must be an absolute http(s) URL such as https://ilinkai.weixin.qq.com"
  let parsed: URL
  try {
    parsed = new URL(trimmed.endsWith("/") ? trimmed : `${trimmed}/`)
  } catch {
    return "is not an absolute URL; it must look like https://ilinkai.weixin.qq.com"
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return `uses ${parsed.protocol} but only http: and https: are supported`
  }
  if (parsed.search !== "" || parsed.hash !== "") return "must not carry a query string or fragment"
  return undefined
}

/** `baseUrl` trimmed, parsed and ending in "/" so endpoint paths resolve under a path prefix; only for usable values. */
export const withTrailingSlash = (baseUrl: string): string => {
  const trimmed = baseUrl.trim()
  return new URL(trimmed.endsWith("/") ? trimmed : `${trimmed}/`).href
}
