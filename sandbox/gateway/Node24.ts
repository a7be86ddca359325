/**
 * The Node 24 binary the OpenClaw host needs, provided by `scripts/ensure-node24.mjs`.
 * It runs as a child process of the current Node (20) so the script stays plain JS with no typings.
 */
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { NodeProvisionError } from "./HarnessError.js"

export const projectRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** Absolute path of the host's CLI entry (`bin.openclaw` of node_modules/openclaw/package.json). */
export const openclawEntry = Path.join(projectRoot, "node_modules", "openclaw", "openclaw.mjs")

/** Returns the absolute path of the pinned Node 24 binary, installing it into .cache/node24 first if needed. */
export const ensureNode24 = Effect.fn("Node24.ensure")(function*() {
  const script = Path.join(projectRoot, "scripts", "ensure-node24.mjs")
  return yield* Effect.async<string, NodeProvisionError>((resume) => {
    const child = execFile(process.execPath, [script], { cwd: projectRoot, timeout: 5 * 60_000 }, (error, stdout, stderr) => {
      const binary = stdout.trim().split("\n").pop() ?? ""
      if (error || binary === "") {
        resume(Effect.fail(
          new NodeProvisionError({
            message: `scripts/ensure-node24.mjs failed (${error?.message ?? "no path printed"}): ${stderr.trim()}; ` +
              "check network access to the npm registry, or delete .cache/node24 and retry"
          })
        ))
      } else {
        resume(Effect.succeed(binary))
      }
    })
    return Effect.sync(() => child.kill("SIGTERM"))
  })
})
