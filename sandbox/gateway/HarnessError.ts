/**
 * Typed failures of the e2e harness. Each carries what a developer needs to act on it: the step that
 * failed, and the tail of the output that explains why.
 */
import { Schema } from "effect"

/** The pinned Node 24 binary could not be provided (`scripts/ensure-node24.mjs` failed). */
export class NodeProvisionError extends Schema.TaggedError<NodeProvisionError>()("NodeProvisionError", {
  message: Schema.String
}) {}

/** A harness step (temp root, config, plugin install, netns, port bridge) failed before the gateway ran. */
export class HarnessSetupError extends Schema.TaggedError<HarnessSetupError>()("HarnessSetupError", {
  step: Schema.String,
  message: Schema.String
}) {}

/** The gateway exited or stayed silent before printing its ready line. */
export class GatewayStartError extends Schema.TaggedError<GatewayStartError>()("GatewayStartError", {
  reason: Schema.Literal("exited", "timeout", "spawn"),
  message: Schema.String,
  exitCode: Schema.NullOr(Schema.Number),
  logTail: Schema.String
}) {}

/** An `openclaw …` command did not finish within its deadline and was stopped by the harness. */
export class CliTimeoutError extends Schema.TaggedError<CliTimeoutError>()("CliTimeoutError", {
  args: Schema.Array(Schema.String),
  timeoutMs: Schema.Number,
  stdout: Schema.String,
  stderr: Schema.String
}) {}

/** A polled condition did not become true before its deadline. */
export class WaitTimeoutError extends Schema.TaggedError<WaitTimeoutError>()("WaitTimeoutError", {
  what: Schema.String,
  lastSeen: Schema.String
}) {
  override get message() {
    return `timed out waiting for ${this.what}; last seen: ${this.lastSeen}`
  }
}

export type HarnessError = NodeProvisionError | HarnessSetupError | GatewayStartError | CliTimeoutError | WaitTimeoutError
