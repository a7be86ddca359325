/**
 * `npm start -- --terminal`: the terminal chat, as a user runs it with their input piped in. Each line
 * goes to the agent as the logged-in account's WeChat user; at the end of input the chat waits for the
 * answers, prints them and stops everything.
 */
import { spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const projectRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..")

describe("npm start -- --terminal", () => {
  it("sends each typed line as the WeChat user and prints the bot's reply, then stops at the end of input", async () => {
    const child = spawn("npm", ["start", "--", "--terminal"], { cwd: projectRoot, detached: true, stdio: ["pipe", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.stdin.end("hello from the terminal\n")
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), "SIGINT")
      } catch {
        // already gone
      }
    }, 400_000)
    const exit = await new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
    clearTimeout(timer)
    expect(output).toContain("sandbox ready: WeChat user")
    expect(output).toContain("bot › echo: hello from the terminal")
    expect(output).toContain("sandbox stopped")
    expect(exit, output).toBe(0)
  }, 450_000)
})
