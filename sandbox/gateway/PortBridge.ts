/**
 * Makes servers of the test process (root namespace, 127.0.0.1:<port>) reachable from inside the gateway's
 * network namespace at the very same address, so URLs in the host config need no rewriting.
 *
 * test process                           | gateway netns
 * 127.0.0.1:P <- unix server <sock P> <-----  netnsRelay.mjs listening on 127.0.0.1:P <- gateway
 */
import { Effect } from "effect"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { HarnessSetupError } from "./HarnessError.js"
import { spawnManaged } from "./ManagedProcess.js"
import { inNamespace } from "./Netns.js"

const relayScript = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "netnsRelay.mjs")

/** A unix-socket server in the test process that forwards each connection to 127.0.0.1:port. */
const unixForwarder = (socketPath: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<Net.Server, HarnessSetupError>((resume) => {
      const server = Net.createServer((inbound) => {
        const outbound = Net.connect(port, "127.0.0.1")
        inbound.pipe(outbound)
        outbound.pipe(inbound)
        inbound.on("error", () => outbound.destroy())
        outbound.on("error", () => inbound.destroy())
      })
      server.once("error", (error) =>
        resume(Effect.fail(new HarnessSetupError({ step: "port bridge", message: `unix socket ${socketPath}: ${String(error)}` })))
      )
      server.listen(socketPath, () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

/** Bridges `ports` into `netns`; everything is torn down when the scope closes. */
export const bridgePortsIntoNetns = (options: {
  readonly netns: string
  readonly ports: ReadonlyArray<number>
  readonly socketDir: string
  readonly env: Readonly<Record<string, string>>
}) =>
  Effect.gen(function*() {
    if (options.ports.length === 0) return
    const mappings: Array<string> = []
    for (const port of options.ports) {
      const socketPath = Path.join(options.socketDir, `bridge-${port}.sock`)
      yield* unixForwarder(socketPath, port)
      mappings.push(`${port}=${socketPath}`)
    }
    const [file, args] = inNamespace(options.netns, process.execPath, [relayScript, ...mappings])
    const relay = yield* Effect.acquireRelease(
      spawnManaged(file, args, { env: options.env, cwd: options.socketDir }),
      (relay) => relay.stop(5_000)
    )
    const ready = yield* relay.waitForOutput(/relay ready/, 15_000)
    if (ready !== "matched") {
      return yield* new HarnessSetupError({
        step: "port bridge",
        message: `the relay in ${options.netns} did not start: ${(yield* relay.output).trim() || JSON.stringify(ready)}`
      })
    }
  })
