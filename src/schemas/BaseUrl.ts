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
