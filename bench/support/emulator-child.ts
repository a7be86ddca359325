/**
 * The sandbox emulator in a child process, for the media benchmarks: the CDN then serves (or receives)
 * on its own thread and core, as a real CDN would, instead of sharing the event loop of the client it
 * is measured against. Not a benchmark itself (bench/run.ts lists only the top-level files).
 *
 * Protocol over the IPC channel: the child sends `{ kind: "ready", baseUrl, cdnBaseUrl, botId, token,
 * ownerUserId }`; the parent asks `{ kind: "inject-file", id, path, fileName }` (the plaintext is read
 * from `path`, so 100 MB never crosses the channel) or `{ kind: "requests", id, endpoint }` /
 * `{ kind: "violations", id }`, and gets `{ kind: "reply", id, value }`.
 */
import * as Fs from "node:fs"
import { Effect, Scope } from "effect"
import { type EndpointName, makeEmulator } from "../../sandbox/emulator/Emulator.js"

type Ask =
  | { readonly kind: "inject-file"; readonly id: number; readonly path: string; readonly fileName: string }
  | { readonly kind: "requests"; readonly id: number; readonly endpoint: EndpointName }
  | { readonly kind: "violations"; readonly id: number }

const send = (message: unknown) => process.send?.(message)

const main = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const uploadUrlMode = process.argv[2] === "param" ? "param" as const : undefined
  const emulator = yield* Scope.extend(makeEmulator({ longPollMs: 300, ...(uploadUrlMode === undefined ? {} : { uploadUrlMode }) }), scope)
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
      case "requests":
        return emulator.requests(ask.endpoint)
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
  process.on("disconnect", () => void Effect.runPromise(Scope.close(scope, { _tag: "Success", value: undefined } as never)).finally(() => process.exit(0)))
  send({ kind: "ready", baseUrl: emulator.baseUrl, cdnBaseUrl: emulator.cdnBaseUrl, botId: bot.botId, token: bot.token, ownerUserId: bot.ownerUserId })
})

Effect.runPromise(main).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
