/**
 * Which session a WeChat direct message lands in when several bot accounts share one gateway.
 *
 * The host keys direct-message sessions by `session.dmScope`, whose default is `main`: every direct message
 * of every channel shares the agent's main session. With two WeChat bot accounts that means two different
 * people, writing to two different bots, talk into one conversation. So when more than one account is
 * logged in and the operator has NOT set `session.dmScope`, the channel asks the router for
 * `per-account-channel-peer` itself (`routing.resolveAgentRoute`'s `dmScope`, and the security adapter's
 * `dmRouting.resolveDmScope` so `openclaw security audit` sees the same routes).
 *
 * A `session.dmScope` the operator set is always honoured, `main` included (one person owning both bots
 * may want one conversation); `openclaw doctor` warns about that case instead (src/plugin/DoctorChecks.ts).
 * With a single account nothing changes, so a one-bot install keeps the sessions it has (the host's audit
 * covers several users sharing one bot's main session). The cost: when a second account logs in, the first
 * account's users start fresh sessions, once.
 */

export type DmScope = "main" | "per-peer" | "per-channel-peer" | "per-account-channel-peer"

/** What the channel asks for when it isolates accounts. */
export const ISOLATED_DM_SCOPE: DmScope = "per-account-channel-peer"

/** `session.dmScope` as written in the host config, when it is set to a string. */
export const configuredDmScope = (cfg: unknown): string | undefined => {
  if (typeof cfg !== "object" || cfg === null) return undefined
  const session = (cfg as { readonly session?: unknown }).session
  if (typeof session !== "object" || session === null) return undefined
  const scope = (session as { readonly dmScope?: unknown }).dmScope
  return typeof scope === "string" && scope.trim() !== "" ? scope : undefined
}

/**
 * The `dmScope` to pass to the host's router: `per-account-channel-peer` when several accounts exist and
 * `session.dmScope` is unset; undefined (the host's own choice) otherwise.
 */
export const channelDmScope = (cfg: unknown, accountCount: number): DmScope | undefined =>
  accountCount > 1 && configuredDmScope(cfg) === undefined ? ISOLATED_DM_SCOPE : undefined

/** True when several accounts would share the main session because the operator chose `main` explicitly. */
export const sharesMainSession = (cfg: unknown, accountCount: number): boolean =>
  accountCount > 1 && configuredDmScope(cfg) === "main"
