/**
 * What `openclaw doctor` says about WeChat, as a pure function of the facts Doctor.ts gathers: the state
 * dir, the stored accounts with what the server said of each login, their inbox journals, and the host's
 * `session.dmScope`. Each warning names the account and says what to do.
 */
import { sharesMainSession } from "../config/DmScope.js"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"

/** What the doctor learned about one stored account. */
export interface AccountFacts {
  readonly accountId: string
  /** the probe's verdict on the stored login (StatusAdapter.probeAccount) */
  readonly login: "accepted" | "expired" | "unreachable" | "not-checked" | "not-logged-in"
  /** the probe's reason when the login could not be confirmed */
  readonly detail: string
  /** messages the journal recorded as never dispatched (undecodable or without a sender), last 24 h */
  readonly rejected: number
  /** claims without a done mark: re-dispatched when the account starts */
  readonly unfinished: number
  readonly journalPath: string
}

export interface DoctorFacts {
  readonly stateDir: string
  readonly stateDirExists: boolean
  /** OPENCLAW_HOME as set, so a missing directory can be traced to it */
  readonly openclawHome: string | undefined
  readonly cfg: unknown
  readonly accounts: ReadonlyArray<AccountFacts>
}

const loginFix = (accountId: string) => `run \`${LOGIN_COMMAND} --account ${accountId}\` and scan the QR code with WeChat`

export const doctorWarnings = (facts: DoctorFacts): Array<string> => {
  const warnings: Array<string> = []
  if (!facts.stateDirExists) {
    const home = facts.openclawHome === undefined ? "" : ` (OPENCLAW_HOME is ${facts.openclawHome})`
    warnings.push(
      `- openclaw-weixin: the state dir ${facts.stateDir} does not exist${home}, so no WeChat login is found there; ` +
        "point OPENCLAW_HOME or OPENCLAW_STATE_DIR at the directory that holds your state, or log in to create it"
    )
  }
  if (sharesMainSession(facts.cfg, facts.accounts.length)) {
    warnings.push(
      `- openclaw-weixin: ${facts.accounts.length} WeChat accounts share one session because session.dmScope is "main": ` +
        "people writing to different bots see each other's conversation; set session.dmScope to " +
        "\"per-account-channel-peer\" (or remove it: with several accounts the channel then isolates them itself)"
    )
  }
  for (const account of facts.accounts) {
    if (account.login === "expired") {
      warnings.push(
        `- openclaw-weixin ${account.accountId}: the WeChat login has expired (the server answers -14), or the bot ` +
          "was logged in on another OpenClaw, which ends this login; " +
          `the account receives and sends nothing until you ${loginFix(account.accountId)}`
      )
    } else if (account.login === "not-logged-in") {
      warnings.push(`- openclaw-weixin ${account.accountId}: no login is stored; ${loginFix(account.accountId)}`)
    } else if (account.login === "unreachable") {
      warnings.push(`- openclaw-weixin ${account.accountId}: the login could not be checked: ${account.detail}`)
    }
    if (account.rejected > 0) {
      warnings.push(
        `- openclaw-weixin ${account.accountId}: ${account.rejected} message(s) from WeChat could not be read and ` +
          `never reached the agent (recorded as "rejected" in ${account.journalPath}; kept 24 h)`
      )
    }
    if (account.unfinished > 0) {
      warnings.push(
        `- openclaw-weixin ${account.accountId}: ${account.unfinished} message(s) were taken in but their turn never ` +
          `finished; they are dispatched again when the account starts (${account.journalPath})`
      )
    }
  }
  return warnings
}
