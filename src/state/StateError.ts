/**
 * The one error of the state folder: a file of the OpenClaw state dir could not be read or written.
 * Every store fails with it, so callers see which file, which operation, and what to do about it.
 */
import type { PlatformError } from "@effect/platform/Error"
import { Schema } from "effect"

export const StateOperation = Schema.Literal("read", "write", "append", "remove", "list", "makeDirectory")
export type StateOperation = typeof StateOperation.Type

/** A state-dir file could not be read or written. `message` says what went wrong and what to do. */
export class StateError extends Schema.TaggedError<StateError>("openclaw-weixin/StateError")("StateError", {
  path: Schema.String,
  operation: StateOperation,
  message: Schema.String
}) {}

const errnoCode = (error: PlatformError): string | undefined => {
  if (error._tag !== "SystemError") return undefined
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : undefined
}

const verbFor = (operation: StateOperation): string =>
  operation === "read"
    ? "cannot read"
    : operation === "list"
    ? "cannot list"
    : operation === "remove"
    ? "cannot remove"
    : operation === "makeDirectory"
    ? "cannot create directory"
    : "cannot write"

/** Turn a platform failure into a `StateError` whose message names the path and the fix. */
export const toStateError = (path: string, operation: StateOperation) => (error: PlatformError): StateError => {
  const verb = `${verbFor(operation)} ${path}`
  const code = errnoCode(error)
  const reason = error._tag === "SystemError" ? error.reason : "BadArgument"
  const hint = "check the permissions of the OpenClaw state dir (OPENCLAW_STATE_DIR)"
  const message = code === "EROFS"
    ? `${verb}: read-only file system; ${hint}`
    : code === "ENOSPC"
    ? `${verb}: no space left on device; free some disk space`
    : reason === "PermissionDenied" || code === "EPERM"
    ? `${verb}: permission denied; ${hint}`
    : reason === "BadResource" || (reason === "AlreadyExists" && operation === "makeDirectory")
    ? `${verb}: a file or directory is in the way (${code ?? "wrong type"}); move it aside and ${hint}`
    : reason === "NotFound"
    ? `${verb}: a parent directory is missing; ${hint}`
    : `${verb}: ${error.message}; ${hint}`
  return new StateError({ path, operation, message })
}
