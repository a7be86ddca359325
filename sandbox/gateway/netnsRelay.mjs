// Runs inside the gateway's network namespace (via `ip netns exec`). For each `port=socketPath` argument
// it listens on 127.0.0.1:<port> of the namespace and pipes every connection into the unix socket, whose
// other end (in the test process, root namespace) connects to the real server on 127.0.0.1:<port>.
// Unix sockets live in the file system, not in a network namespace, so they cross the boundary.
import net from "node:net"

const mappings = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf("=")
  return { port: Number(arg.slice(0, at)), socketPath: arg.slice(at + 1) }
})

const listen = ({ port, socketPath }) =>
  new Promise((resolve, reject) => {
    const server = net.createServer((inbound) => {
      const outbound = net.connect(socketPath)
      inbound.pipe(outbound)
      outbound.pipe(inbound)
      inbound.on("error", () => outbound.destroy())
      outbound.on("error", () => inbound.destroy())
    })
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve(server))
  })

Promise.all(mappings.map(listen)).then(
  () => process.stdout.write(`relay ready ${mappings.map((m) => m.port).join(",")}\n`),
  (error) => {
    process.stderr.write(`netns relay: could not listen: ${error.message}\n`)
    process.exit(1)
  }
)
process.on("SIGTERM", () => process.exit(0))
