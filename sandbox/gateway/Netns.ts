/**
 * A loopback-only network namespace for the gateway, so nothing the host tries to reach can leave the
 * machine. Needs root and a working `ip netns`; `netnsSupported` says whether this machine has both.
 */
import { Effect, Random } from "effect"
import { runCommand } from "./ChildProcess.js"
import { HarnessSetupError } from "./HarnessError.js"

const ipCommand = (args: ReadonlyArray<string>) =>
  runCommand("ip", args, { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" }, cwd: "/", timeoutMs: 10_000 })

export const netnsSupported: Effect.Effect<boolean> = Effect.gen(function*() {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return false
  const listed = yield* ipCommand(["netns", "list"])
  return listed.code === 0
})

/** Prefixes a command so it runs inside the namespace (`ip netns exec` execs, so the pid stays the command's). */
export const inNamespace = (
  netns: string | undefined,
  file: string,
  args: ReadonlyArray<string>
): readonly [string, ReadonlyArray<string>] => netns === undefined ? [file, args] : ["ip", ["netns", "exec", netns, file, ...args]]

/** Creates a fresh namespace with only `lo` up, and deletes it when the scope closes. */
export const makeNetns = Effect.acquireRelease(
  Effect.gen(function*() {
    const suffix = (yield* Random.nextIntBetween(0, 0xffffff)).toString(16)
    const name = `ocw-e2e-${process.pid}-${suffix}`
    const added = yield* ipCommand(["netns", "add", name])
    if (added.code !== 0) {
      return yield* new HarnessSetupError({ step: "netns", message: `ip netns add ${name} failed: ${added.stderr.trim()}` })
    }
    const up = yield* ipCommand(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
    if (up.code !== 0) {
      yield* ipCommand(["netns", "del", name])
      return yield* new HarnessSetupError({ step: "netns", message: `bringing lo up in ${name} failed: ${up.stderr.trim()}` })
    }
    return name
  }),
  (name) => ipCommand(["netns", "del", name])
)
