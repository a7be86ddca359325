/**
 * The `iLink-App-ClientVersion` header (PROTOCOL §1.3): the package version packed as the uint32
 * `0x00MMNNPP` and written in decimal. Each part is read like `parseInt` (leading digits only), so
 * `9-beta` counts as 9; a missing or unreadable part counts as 0.
 *
 * @example
 * ```ts
 * clientVersionHeader("2.4.9")  // "132105"
 * clientVersionHeader("1.0.11") // "65547"
 * ```
 */

const leadingInteger = (part: string | undefined): number => {
  if (part === undefined) return 0
  const parsed = Number.parseInt(part, 10)
  return Number.isNaN(parsed) ? 0 : parsed
}

/** The packed version as a number; `undefined` (no version known) gives 0. */
export const clientVersionNumber = (version: string | undefined): number => {
  if (version === undefined) return 0
  const [major, minor, patch] = version.split(".")
  return (((leadingInteger(major) & 0xff) << 16) | ((leadingInteger(minor) & 0xff) << 8) |
    (leadingInteger(patch) & 0xff)) >>> 0
}

/** The header value: decimal string of {@link clientVersionNumber}. */
export const clientVersionHeader = (version: string | undefined): string => String(clientVersionNumber(version))
