/**
 * `npm start`: the sandbox (emulator, fake model, a real OpenClaw gateway with the packed plugin) and the
 * browser phone on http://127.0.0.1:<port>. Nobody is logged in at first: the page starts
 * `openclaw channels login`, shows its QR code, and a persona's phone scans and confirms it.
 * Ctrl-C stops the login, the gateway (SIGTERM) and every server.
 *
 * PHONE_PORT picks the page's port (default: any free one). `--model <provider/model>` runs the agent on a
 * model of the user's own OpenClaw config instead of the fake model (sandbox/userModel.ts).
 */
import { Config, Console, Effect } from "effect"
import * as Path from "node:path"
import { normalizeAccountId } from "../../src/domain/AccountId.js"
import { CHANNEL_ID, PLUGIN_DIR_ENV, startWeixinSandbox, whereThingsAre } from "../sandbox.js"
import { makeGatewayControl } from "./GatewayControl.js"
import { makeLoginRunner } from "./LoginProcess.js"
import { makePhoneReply } from "./phoneModel.js"
import { sandboxOptionsFor, userModelFromArgs, userModelLine } from "../userModel.js"
import { startPhoneServer } from "./PhoneServer.js"

/** The line `npm start` prints once the page is up; the browser test waits for it. */
export const PAGE_LINE_PREFIX = "  phone page    "

export const runPhone = Effect.gen(function*() {
  // before anything starts: a --model that cannot be used ends `npm start` with only its message
  const userModel = yield* userModelFromArgs(process.argv)
  // registered first, so it runs last: after the gateway has stopped and the servers have closed
  yield* Effect.addFinalizer(() => Console.log("sandbox stopped: gateway ended by SIGTERM, servers closed, temp dir removed"))
  yield* Console.log("starting the sandbox: build + pack the plugin, emulator, fake model, OpenClaw gateway (about a minute)…")
  const port = yield* Config.integer("PHONE_PORT").pipe(Config.withDefault(0))
  const prebuilt = process.env[PLUGIN_DIR_ENV]
  // the model's made pictures and files go where the host manages media; known once the gateway exists
  let mediaDir: string | undefined
  const hostConfig = { session: { dmScope: "per-account-channel-peer" } }
  const sandbox = yield* startWeixinSandbox({
    autoConfirmQr: false,
    modelReply: makePhoneReply(() => mediaDir),
    // the fake model reads pictures (it answers with their size); a user's model keeps its own settings
    ...(userModel === undefined ? { hostConfig, modelInput: ["text", "image"] as const } : sandboxOptionsFor(userModel, hostConfig)),
    ...(prebuilt === undefined || prebuilt === "" ? {} : { pluginDir: prebuilt })
  })
  const { emulator, gateway } = sandbox
  mediaDir = Path.join(gateway.root.stateDir, "media", "tool-phone")
  const startLogin = yield* makeLoginRunner(gateway, CHANNEL_ID)
  const phone = yield* startPhoneServer({
    port,
    adminUrl: emulator.adminUrl,
    startLogin,
    storedAccountIds: () => Effect.runPromise(sandbox.storedAccountIds),
    accountIdOf: normalizeAccountId,
    gateway: yield* makeGatewayControl(gateway)
  })
  yield* Console.log(
    [
      "",
      "sandbox ready: open the phone page in a browser, log in by scanning the QR code, then chat as a WeChat user",
      `${PAGE_LINE_PREFIX}${phone.url}`,
      ...whereThingsAre(
        sandbox,
        userModel === undefined
          ? `  fake model    ${sandbox.model.baseUrl} (answers "echo: <your text>"; "send me a picture" / "send me a file" get one)`
          : userModelLine(userModel)
      ),
      "Ctrl-C stops everything. (`npm start -- --terminal`: the terminal chat instead of the page.)",
      ""
    ].join("\n")
  )
  return yield* Effect.never
})
