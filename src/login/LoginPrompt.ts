/**
 * LoginPrompt: how a login asks the person at the other end for the number their phone shows
 * (`need_verifycode`, docs/PROTOCOL.md §3.2). The CLI asks on its terminal; web login cannot ask anyone,
 * so a verify-code request ends it with advice to log in from a terminal. Also here: Ctrl-C as a way to
 * cancel a terminal login.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as Readline from "node:readline"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"

export class LoginPromptError extends Schema.TaggedError<LoginPromptError>("openclaw-weixin/LoginPromptError")(
  "LoginPromptError",
  {
    /** `unavailable`: this login cannot ask anyone (web); `closed`: the person's input ended */
    reason: Schema.Literal("unavailable", "closed"),
    message: Schema.String
  }
) {}

export interface VerifyCodeRequest {
  /** true when the server rejected the previously entered number */
  readonly retry: boolean
}

/** Asks the person logging in for the number their phone shows (`need_verifycode`). */
export class LoginPrompt extends Context.Tag("openclaw-weixin/LoginPrompt")<LoginPrompt, {
  readonly askVerifyCode: (request: VerifyCodeRequest) => Effect.Effect<string, LoginPromptError>
}>() {}

export const verifyCodeQuestion = (request: VerifyCodeRequest): string =>
  request.retry
    ? "That number did not match. Type the number shown in WeChat on your phone again: "
    : "WeChat on your phone shows a number. Type it here to continue: "

/** Asks until the answer is not blank; returns it trimmed. */
export const askNonBlankVerifyCode = (
  prompt: Context.Tag.Service<LoginPrompt>,
  request: VerifyCodeRequest
): Effect.Effect<string, LoginPromptError> =>
  Effect.flatMap(prompt.askVerifyCode(request), (answer) => {
    const code = answer.trim()
    return code === "" ? askNonBlankVerifyCode(prompt, request) : Effect.succeed(code)
  })

/** For logins nobody can answer questions in (web login): a verify-code request ends the login. */
export const LoginPromptUnavailable: Layer.Layer<LoginPrompt> = Layer.succeed(LoginPrompt, {
  askVerifyCode: () =>
    Effect.fail(
      new LoginPromptError({
        reason: "unavailable",
        message: `the server asks for the number shown on the phone, which this login cannot ask for; ` +
          `log in from a terminal with \`${LOGIN_COMMAND}\``
      })
    )
})

/** A prompt on a terminal (the CLI: stdin/stdout). Interrupting the question closes it. */
export const terminalLoginPrompt = (
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream
): Layer.Layer<LoginPrompt> =>
  Layer.succeed(LoginPrompt, {
    askVerifyCode: (request) =>
      Effect.async<string, LoginPromptError>((resume) => {
        const rl = Readline.createInterface({ input, output, terminal: false })
        let answered = false
        rl.on("close", () => {
          if (!answered) {
            resume(Effect.fail(new LoginPromptError({ reason: "closed", message: "input ended before a number was typed" })))
          }
        })
        rl.question(verifyCodeQuestion(request), (answer) => {
          answered = true
          rl.close()
          resume(Effect.succeed(answer))
        })
        return Effect.sync(() => {
          answered = true
          rl.close()
        })
      })
  })

/**
 * Completes when `emitter` emits `event`: pass `untilEvent(process, "SIGINT")` as a login's `cancel` so
 * Ctrl-C ends a terminal login as Cancelled. The listener is removed once the login ends, so none is left.
 */
export const untilEvent = (emitter: NodeJS.EventEmitter, event: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const onEvent = () => resume(Effect.void)
    emitter.once(event, onEvent)
    return Effect.sync(() => void emitter.removeListener(event, onEvent))
  })
