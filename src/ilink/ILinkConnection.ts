/**
 * One account's view of the iLink server: a validated base URL, the bot token and the account id used
 * in error details and log annotations. Validation happens once, when the connection is made, so a bad
 * base URL is reported as configuration (naming the value) rather than as a failed request later.
 *
 * @example
 * ```ts
 * const conn = yield* ILinkConnection.make({ baseUrl: account.baseUrl, token: account.token, accountId })
 * ```
 */
import { Either, Redacted } from "effect"
import { baseUrlProblem, withTrailingSlash } from "../domain/BaseUrl.js"
import { ILinkConfigError } from "../wire/ILinkError.js"

export interface ILinkConnection {
  /** absolute http(s) URL, always ending in "/" so endpoint paths resolve under any path prefix */
  readonly baseUrl: string
  readonly token?: Redacted.Redacted<string>
  /** only for error details and log annotations */
  readonly accountId?: string
}

export interface ILinkConnectionInput {
  readonly baseUrl: string
  readonly token?: Redacted.Redacted<string> | undefined
  readonly accountId?: string | undefined
}

export { DEFAULT_ILINK_BASE_URL } from "../config/Defaults.js"

/** Checks that `baseUrl` is an absolute http(s) URL and returns it with a trailing slash. */
export const normalizeBaseUrl = (
  baseUrl: string,
  context: { readonly endpoint?: string; readonly accountId?: string | undefined } = {}
): Either.Either<string, ILinkConfigError> => {
  const fail = (problem: string) =>
    Either.left(
      new ILinkConfigError({
        endpoint: context.endpoint ?? "(connection)",
        ...(context.accountId === undefined ? {} : { accountId: context.accountId }),
        reachedServer: "no",
        setting: "baseUrl",
        value: baseUrl,
        problem
      })
    )
  const problem = baseUrlProblem(baseUrl)
  return problem === undefined ? Either.right(withTrailingSlash(baseUrl)) : fail(problem)
}

export const ILinkConnection = {
  /** Validates the base URL; fails with `ILinkConfigError` naming the bad value. */
  make: (input: ILinkConnectionInput): Either.Either<ILinkConnection, ILinkConfigError> =>
    Either.map(normalizeBaseUrl(input.baseUrl, { accountId: input.accountId }), (baseUrl) => ({
      baseUrl,
      ...(input.token === undefined ? {} : { token: input.token }),
      ...(input.accountId === undefined ? {} : { accountId: input.accountId })
    }))
}
