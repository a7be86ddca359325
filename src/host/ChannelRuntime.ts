/**
 * The host's task-scoped `ctx.channelRuntime`, as the agent turns use it. The host types it only as
 * `{ [k]: unknown }`, so every function is looked up at run time: a missing one, a throw or a rejection
 * becomes a `HostTurnError` at the turn's stage, never a TypeError.
 */
import { Effect } from "effect"
import { HostTurnError } from "../account/HostTurnError.js"
import type { InboundTurn } from "../account/AgentTurns.js"

/** Every `channelRuntime` function the agent turns may call, as `group.name`. */
export const REQUIRED_RUNTIME_PIECES = [
  "routing.resolveAgentRoute",
  "inbound.buildContext",
  "inbound.dispatch",
  "pairing.readAllowFromStore",
  "pairing.upsertPairingRequest",
  "pairing.buildPairingReply"
] as const
export type RuntimePiece = (typeof REQUIRED_RUNTIME_PIECES)[number]

export type TurnStage = HostTurnError["stage"]

/** The function at `group.name` of the runtime, or undefined when the host does not provide it. */
const pieceOf = (channelRuntime: unknown, piece: RuntimePiece): ((arg: unknown) => unknown) | undefined => {
  const [group, name] = piece.split(".") as [string, string]
  if (typeof channelRuntime !== "object" || channelRuntime === null) return undefined
  const holder = (channelRuntime as Record<string, unknown>)[group]
  if (typeof holder !== "object" || holder === null) return undefined
  const fn = (holder as Record<string, unknown>)[name]
  return typeof fn === "function" ? (fn as (arg: unknown) => unknown) : undefined
}

/** The pieces this host lacks; empty on a host the agent turns fully work with. */
export const missingRuntimePieces = (channelRuntime: unknown): ReadonlyArray<RuntimePiece> =>
  REQUIRED_RUNTIME_PIECES.filter((piece) => pieceOf(channelRuntime, piece) === undefined)

/** A thrown value as one line of text. */
export const describeThrown = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "string") return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/**
 * Runs a function in a chosen async context. The host refuses agent work whose async context is a gateway
 * request that has already been answered (docs/HOST-NOTES.md "A CLI login resumes a parked account"), and an
 * account restarted from such a request (a web login, the resume method) would otherwise carry it.
 */
export type AsyncContextRunner = <R>(fn: () => R) => R

const inCurrentContext: AsyncContextRunner = (fn) => fn()

/**
 * Calls the runtime's functions for one account; every failure is a HostTurnError of the turn. Each call
 * runs inside `inHostContext`: the async context the host started the account in.
 */
export const runtimeCaller = (
  channelRuntime: unknown,
  accountId: string,
  inHostContext: AsyncContextRunner = inCurrentContext
) => {
  const turnError = (turn: InboundTurn, stage: TurnStage, detail: string) =>
    new HostTurnError({ accountId, messageKey: turn.claimed.key, stage, detail })

  /** Calls one runtime function with `arg`; awaits it if it returns a promise. */
  const call = <A>(turn: InboundTurn, stage: TurnStage, piece: RuntimePiece, arg: unknown): Effect.Effect<A, HostTurnError> =>
    Effect.suspend(() => {
      const fn = pieceOf(channelRuntime, piece)
      if (fn === undefined) {
        return Effect.fail(
          turnError(
            turn,
            stage,
            `the host's channelRuntime has no ${piece}, so this message cannot reach an agent; ` +
              "run openclaw-weixin on OpenClaw 2026.9.6 or newer"
          )
        )
      }
      return Effect.tryPromise({
        try: async () => (await inHostContext(() => fn(arg))) as A,
        catch: (error) => turnError(turn, stage, `${piece} failed: ${describeThrown(error)}`)
      })
    })

  return { call, turnError }
}
