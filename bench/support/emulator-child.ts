/**
 * The sandbox emulator in a child process, for the benchmarks that must not count the server as part of
 * what they measure: the media benchmarks (the CDN serves or receives on its own thread and core, as a
 * real CDN would) and `accounts` (the server's side of every held long-poll lives in another heap). Not a
 * benchmark itself (bench/run.ts lists only the top-level files); bench/support/childEmulator.ts starts
 * it and talks to it.
 *
 * Arguments: `--long-poll-ms=N` (how long an idle getupdates is held; default 300) and
 * `--upload-url-mode=param`. Over the IPC channel the child first sends `{ kind: "ready", baseUrl,
 * cdnBaseUrl, bot }` (one bot is made at start); then each ask `{ kind, id, ... }` (see `Ask`) gets
 * `{ kind: "reply", id, value }` or `{ kind: "reply", id, error }`.
 */
import * as Fs from "node:fs"
import { Effect, Exit, Scope } from "effect"
import { type EndpointName, makeEmulator } from "../../sandbox/emulator/Emulator.js"

export type Ask =
  /** a file from the first bot's user; the plaintext is read from `path`, so 100 MB never crosses the channel */
  | { readonly kind: "inject-file"; readonly id: number; readonly path: string; readonly fileName: string }
  | { readonly kind: "inject-text"; readonly id: number; readonly botId: string; readonly text: string; readonly fromUserId?: string }
  | { readonly kind: "add-user"; readonly id: number; readonly userId: string }
  | { readonly kind: "add-bot"; readonly id: number }
  | { readonly kind: "requests"; readonly id: number; readonly endpoint: EndpointName }
  | { readonly kind: "request-count"; readonly id: number }
  | { readonly kind: "delivered-count"; readonly id: number }
  | { readonly kind: "violations"; readonly id: number }

const send = (message: unknown) => process.send?.(message)
const option = (name: string) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)

const main = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const uploadUrlMode = option("upload-url-mode") === "param" ? "param" as const : undefined
  const longPollMs = Number(option("long-poll-ms") ?? 300)
  const emulator = yield* Scope.extend(makeEmulator({ longPollMs, ...(uploadUrlMode === undefined ? {} : { uploadUrlMode }) }), scope)
  const bot = yield* emulator.addBot()
  const answer = (ask: Ask): Effect.Effect<unknown, unknown> => {
    switch (ask.kind) {
      case "inject-file":
        return Effect.map(
          emulator.injectInbound({ botId: bot.botId, kind: "file", media: { data: Fs.readFileSync(ask.path) }, fileName: ask.fileName }),
          (injected) => ({
            json: injected.json,
            messageId: injected.messageId,
            fromUserId: injected.fromUserId,
            keyHex: injected.media?.keyHex ?? "",
            param: injected.media?.media.encrypt_query_param ?? "",
            downloadUrl: emulator.cdnBaseUrl + "/download?encrypted_query_param=" +
              encodeURIComponent(injected.media?.media.encrypt_query_param ?? "")
          })
        )
      case "inject-text":
        return Effect.map(
          emulator.injectInbound({
            botId: ask.botId,
            kind: "text",
            text: ask.text,
            ...(ask.fromUserId === undefined ? {} : { fromUserId: ask.fromUserId })
          }),
          (injected) => injected.messageId
        )
      case "add-user":
        return emulator.addUser(ask.userId)
      case "add-bot":
        return emulator.addBot()
      case "requests":
        return emulator.requests(ask.endpoint)
      case "request-count":
        return Effect.map(emulator.requests(), (all) => all.length)
      case "delivered-count":
        return Effect.map(emulator.sent(), (all) => all.filter((s) => s.outcome === "delivered").length)
      case "violations":
        return emulator.violations()
    }
  }
  process.on("message", (ask: Ask) => {
    Effect.runPromise(answer(ask)).then(
      (value) => send({ kind: "reply", id: ask.id, value }),
      (error: unknown) => send({ kind: "reply", id: ask.id, error: String(error) })
    )
  })
  process.on("disconnect", () => void Effect.runPromise(Scope.close(scope, Exit.void)).finally(() => process.exit(0)))
  send({ kind: "ready", baseUrl: emulator.baseUrl, cdnBaseUrl: emulator.cdnBaseUrl, bot })
})

Effect.runPromise(main).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
