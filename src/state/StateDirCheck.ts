/**
 * Whether the state dir exists, for `openclaw doctor` (a missing OPENCLAW_HOME reads as "no logins", which
 * is worth saying out loud rather than leaving the operator to guess).
 */
import * as Fs from "node:fs"
import type { StatePaths } from "./StatePaths.js"

export const stateDirExistsSync = (paths: StatePaths): boolean => {
  try {
    return Fs.statSync(paths.stateDir).isDirectory()
  } catch {
    return false
  }
}
