// Measures `npm start` as a user meets it: the seconds from spawning it to the phone page answering, then
// Ctrl-C (SIGINT to its process group, as a terminal sends it) and the seconds until every process of it
// has ended, and whether any process of its state dir is left. Run from a checkout after `npm ci`:
//
//   node scripts/time-to-page.mjs
//
// The last line is `RESULT time-to-page seconds=<s> stop-seconds=<s> left=<n>`.
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const PAGE = /phone page\s+(http:\/\/127\.0\.0\.1:\d+\/)/
const STATE_DIR = /state dir\s+(\S+)/
const TIMEOUT_MS = 10 * 60_000

const processesWithStateDir = async (stateDir) => {
  const found = []
  for (const pid of (await Fs.readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    const environ = await Fs.readFile(`/proc/${pid}/environ`, "utf8").catch(() => "")
    if (environ.split("\0").includes(`OPENCLAW_STATE_DIR=${stateDir}`)) found.push(Number(pid))
  }
  return found
}

const started = performance.now()
const child = spawn("npm", ["start"], { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] })
let output = ""
const closed = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })))
child.stdout.on("data", (chunk) => (output += chunk))
child.stderr.on("data", (chunk) => (output += chunk))

const pageUrl = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no page within ${TIMEOUT_MS / 1000} s:\n${output}`)), TIMEOUT_MS)
  const check = () => {
    const match = output.match(PAGE)
    if (match !== null) {
      clearTimeout(timer)
      resolve(match[1])
    }
  }
  child.stdout.on("data", check)
  closed.then(() => reject(new Error(`npm start exited before serving the page:\n${output}`)))
})
const page = await fetch(pageUrl)
const seconds = (performance.now() - started) / 1000
console.log(`the page ${pageUrl} answered ${page.status} ${seconds.toFixed(1)} s after npm start was spawned`)

const stateDir = output.match(STATE_DIR)?.[1] ?? ""
const stopping = performance.now()
process.kill(-child.pid, "SIGINT")
const exit = await closed
const stopSeconds = (performance.now() - stopping) / 1000
const left = stateDir === "" ? [] : await processesWithStateDir(stateDir)
console.log(`Ctrl-C: npm start ended (${exit.code ?? exit.signal}) after ${stopSeconds.toFixed(1)} s; processes of its state dir left: ${left.length}`)
console.log(`RESULT time-to-page seconds=${seconds.toFixed(1)} stop-seconds=${stopSeconds.toFixed(1)} left=${left.length}`)
process.exitCode = left.length === 0 && page.ok ? 0 : 1
