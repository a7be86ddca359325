/**
 * The exact bytes the crash-test writer puts in the file for a given round: a JSON record whose padding
 * (about 4 MiB) depends on the round, so a mix of two rounds or a cut-off file never equals any round.
 */
export const KILL_WRITER_PAD_LENGTH = 4 * 1024 * 1024

const PAD_ALPHABET = "abcdefghijklmnopqrstuvwxyz"

export const killWriterContent = (round: number): string => {
  const letter = PAD_ALPHABET[round % PAD_ALPHABET.length] ?? "a"
  return JSON.stringify({ round, pad: letter.repeat(KILL_WRITER_PAD_LENGTH) })
}
