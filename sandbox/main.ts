/**
 * `npm start`: the full sandbox (sandbox/sandbox.ts): emulator, fake model and a real OpenClaw gateway
 * with the packed plugin, and the browser phone (sandbox/phone/): a page on 127.0.0.1 where you log in by
 * scanning the QR code and chat as WeChat users. Ctrl-C stops the gateway (SIGTERM) and closes the servers.
 *
 * `npm start -- --terminal`: the same sandbox with one account logged in, and a terminal chat as its
 * WeChat user.
 *
 * `npm start -- --model <provider/model>` (phone or terminal): the agent runs on that model of the user's own
 * OpenClaw config (~/.openclaw/openclaw.json) instead of the fake model (sandbox/userModel.ts).
 *
 * `npm start -- --emulator-only`: only the iLink + CDN emulator with a demo bot and user, and the curl
 * commands to drive it by hand.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, type Scope } from "effect"
import { makeEmulator } from "./emulator/Emulator.js"
import { runPhone } from "./phone/runPhone.js"
import { runSandboxChat } from "./sandbox.js"
import { UserModelError } from "./userModel.js"

const emulatorOnly = Effect.gen(function*() {
  const port = yield* Config.integer("EMULATOR_PORT").pipe(Config.withDefault(0))
  const emulator = yield* makeEmulator({ port, autoConfirmQr: true })
  const user = yield* emulator.addUser("o9cq8demo@im.wechat")
  const bot = yield* emulator.addBot({ ownerUserId: user })
  const admin = emulator.adminUrl
  yield* Console.log(
    [
      "iLink + CDN emulator running (Ctrl-C to stop)",
      `  base URL   ${emulator.baseUrl}`,
      `  CDN URL    ${emulator.cdnBaseUrl}`,
      `  admin URL  ${admin}   (routes: sandbox/emulator/Emulator.ts)`,
      `  demo bot   ${bot.botId}  token ${bot.token}`,
      `  demo user  ${user}`,
      "  QR login confirms itself: the first status poll scans, the next confirms a new bot.",
      "",
      "Inject a message from the demo user:",
      `  curl -s -X POST ${admin}/inject -d '{"botId":"${bot.botId}","kind":"text","text":"hello bot"}'`,
      "Poll it as the bot would:",
      `  curl -s -X POST ${emulator.baseUrl}ilink/bot/getupdates -H 'Content-Type: application/json' -H 'AuthorizationType: ilink_bot_token' -H "X-WECHAT-UIN: $(printf %s $RANDOM$RANDOM | base64)" -H 'iLink-App-Id: bot' -H 'iLink-App-ClientVersion: 132105' -H 'Authorization: Bearer ${bot.token}' -d '{"get_updates_buf":"","base_info":{"channel_version":"2.4.9","bot_agent":"OpenClaw"}}'`,
      "Read what the bot sent:",
      `  curl -s '${admin}/sent?botId=${bot.botId}'`,
      "Make the next two sendmessage calls rate limited:",
      `  curl -s -X POST ${admin}/faults -d '{"endpoint":"sendmessage","fault":{"kind":"rate_limited"},"times":2}'`,
      "Protocol violations seen so far:",
      `  curl -s ${admin}/violations`
    ].join("\n")
  )
  return yield* Effect.never
})

const chosen: Effect.Effect<void, unknown, Scope.Scope> = process.argv.includes("--emulator-only")
  ? emulatorOnly
  : process.argv.includes("--terminal")
  ? runSandboxChat
  : runPhone

const program = chosen.pipe(
    // a --model that cannot be used fails before anything started: its message is the whole story
    Effect.catchIf(
      (error: unknown): error is UserModelError => error instanceof UserModelError,
      (error) => Effect.zipRight(Console.error(error.message), Effect.sync(() => process.exit(2)))
    )
  )

// Ctrl-C reaches this process more than once: from the terminal (the whole foreground group) and again
// from npm, which forwards it. runMain handles the first one by closing the scope (the gateway's SIGTERM,
// the servers, the netns, the temp dir) and then stops listening; without a listener of our own the next
// SIGINT would kill the process halfway through that cleanup and leave the gateway's relay behind.
// The cleanup is bounded (the gateway gets SIGKILL when SIGTERM is not enough), so ignoring them is safe.
// (`npm start` runs node with `--import tsx`, not the tsx CLI, whose parent process SIGKILLs a child that
// does not acknowledge a relayed signal within 30 ms.)
process.on("SIGINT", () => {})

NodeRuntime.runMain(Effect.scoped(program))
