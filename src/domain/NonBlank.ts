/** A text with its surrounding spaces removed, or undefined when nothing is left (config values, server fields). */
export const nonBlank = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}
