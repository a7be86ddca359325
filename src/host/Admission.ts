/**
 * Whether a turn reaches the agent: the dmPolicy decision (Access.ts) over the host's pairing store, and
 * the pairing code an unknown sender gets under `pairing` (one per pending request: the host's store
 * says whether this request is new).
 */
import { Data, Effect } from "effect"
import { type InboundTurn, type ReplyChannel, TurnOutcome } from "../account/AgentTurns.js"
import type { HostTurnError } from "../account/HostTurnError.js"
import { WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import type { ChannelConfig } from "../config/ChannelConfig.js"
import { AccessDecision, decideAccess, pairingAdapter, policyReadsStore } from "./Access.js"
import type { runtimeCaller } from "./ChannelRuntime.js"

/** The settings of the channel section admission reads. */
export type AdmissionSettings = Pick<ChannelConfig, "dmPolicy" | "allowFrom">

export type Admission = Data.TaggedEnum<{
  /** run the agent; `owner` when the sender is on an explicit list (commands allowed) */
  Run: { readonly owner: boolean }
  /** the agent must not run; the turn ends with `outcome` */
  Stop: { readonly outcome: TurnOutcome }
}>
export const Admission = Data.taggedEnum<Admission>()

export const makeAdmission = (options: {
  readonly accountId: string
  readonly settings: AdmissionSettings
  /** the WeChat user who scanned the login QR: always allowed under `pairing` and `allowlist` */
  readonly scannerUserId: string | undefined
  readonly call: ReturnType<typeof runtimeCaller>["call"]
}) => {
  const { accountId, call, settings } = options

  const requestPairing = (turn: InboundTurn, reply: ReplyChannel): Effect.Effect<TurnOutcome, HostTurnError> =>
    Effect.gen(function*() {
      const sender = turn.peer.id
      const request = yield* call<{ readonly code?: unknown; readonly created?: unknown } | undefined>(
        turn,
        "route",
        "pairing.upsertPairingRequest",
        { channel: WEIXIN_CHANNEL_ID, id: sender, accountId, pairingAdapter }
      )
      const code = typeof request?.code === "string" ? request.code : ""
      if (code === "") {
        yield* Effect.logWarning(
          `unknown sender ${sender} was not given a pairing code: the host's queue of pending requests is full; ` +
            "approve or dismiss one with `openclaw pairing list openclaw-weixin`"
        )
        return TurnOutcome.Skipped({ reason: "pairing queue full" })
      }
      if (request?.created !== true) {
        yield* Effect.logInfo(`sender ${sender} still waits for approval of their pairing code; message not answered`)
        return TurnOutcome.Skipped({ reason: "pairing pending; code already sent" })
      }
      const text = yield* call<unknown>(turn, "route", "pairing.buildPairingReply", {
        channel: WEIXIN_CHANNEL_ID,
        idLine: `Your WeChat user id: ${sender}`,
        code
      })
      yield* reply.sendText(String(text)).pipe(
        Effect.tap(() =>
          Effect.logInfo(`sent a pairing code to ${sender}; approve with \`openclaw pairing approve openclaw-weixin ${code}\``)
        ),
        Effect.catchAll((error) =>
          Effect.logWarning(`the pairing code for ${sender} could not be sent (${error.message}); they can write again`)
        )
      )
      return TurnOutcome.Skipped({ reason: "pairing code sent" })
    })

  /** Decides whether the agent runs for this turn; sends a pairing code when the policy asks for one. */
  const admit = (turn: InboundTurn, reply: ReplyChannel): Effect.Effect<Admission, HostTurnError> =>
    Effect.gen(function*() {
      const sender = turn.peer.id
      const approved = policyReadsStore(settings.dmPolicy)
        ? yield* call<unknown>(turn, "route", "pairing.readAllowFromStore", { channel: WEIXIN_CHANNEL_ID, accountId })
        : []
      const decision = decideAccess({
        policy: settings.dmPolicy,
        sender: turn.peer,
        scannerUserId: options.scannerUserId,
        configAllowFrom: settings.allowFrom ?? [],
        approved: Array.isArray(approved) ? approved.map(String) : []
      })
      return yield* AccessDecision.$match(decision, {
        Allowed: ({ owner }) => Effect.succeed(Admission.Run({ owner })),
        Denied: ({ reason }) =>
          Effect.as(
            Effect.logInfo(`dropping message ${turn.claimed.key} from ${sender}: ${reason}`),
            Admission.Stop({ outcome: TurnOutcome.Skipped({ reason }) })
          ),
        NeedsPairing: () => Effect.map(requestPairing(turn, reply), (outcome) => Admission.Stop({ outcome }))
      })
    })

  return { admit }
}
