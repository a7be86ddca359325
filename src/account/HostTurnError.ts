/**
 * The errors an agent turn can end with, as the account sees them: the one error module of the
 * account ↔ host boundary (the AgentTurns port in AgentTurns.ts). The host implementation (src/host)
 * maps everything the host throws or lacks into it, naming the stage that failed.
 */
import { Schema } from "effect"

/** The host could not finish the turn; the actor logs it and moves on to the peer's next message. */
export class HostTurnError extends Schema.TaggedError<HostTurnError>()("HostTurnError", {
  accountId: Schema.String,
  messageKey: Schema.String,
  stage: Schema.Literal("route", "session", "agent", "deliver"),
  detail: Schema.String
}) {
  override get message(): string {
    return `the host failed at ${this.stage} for message ${this.messageKey} of account ${this.accountId}: ${this.detail}`
  }
}
