/**
 * An iLink base URL as a config value: decoding fails at configuration time, naming the value and what
 * is wrong, instead of every request of the account failing later. Decodes to the trimmed text.
 */
import { Schema } from "effect"
import { baseUrlProblem } from "../domain/BaseUrl.js"

export const ILinkBaseUrl = Schema.Trim.pipe(
  Schema.filter((value) => {
    const problem = baseUrlProblem(value)
    return problem === undefined ? true : `baseUrl ${JSON.stringify(value)} ${problem}`
  }),
  Schema.annotations({ identifier: "ILinkBaseUrl", description: "absolute http(s) URL of the iLink API" })
)

/** ILinkBaseUrl as a config field: the host validates config with the JSON schema, so say there what is
 * expected (an http(s) URL, with the field's own description) rather than how we trim it. */
export const ilinkBaseUrlField = (description: string) =>
  ILinkBaseUrl.annotations({
    description,
    jsonSchema: { type: "string", pattern: "^\\s*[Hh][Tt][Tt][Pp][Ss]?://", description }
  })
