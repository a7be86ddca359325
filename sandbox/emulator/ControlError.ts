/** A control call the emulator cannot honour (unknown bot, unknown QR code, bad argument). */
import { Schema } from "effect"

export class EmulatorControlError extends Schema.TaggedError<EmulatorControlError>()("EmulatorControlError", {
  verb: Schema.String,
  message: Schema.String
}) {}
