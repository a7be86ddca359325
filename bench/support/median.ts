/**
 * The median of a benchmark's runs: the middle value, or the mean of the two middle ones for an even
 * count; NaN for none. Every benchmark here reports medians of the same kind through this.
 */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
