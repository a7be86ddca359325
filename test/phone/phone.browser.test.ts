/**
 * The browser phone end to end: `npm start` exactly as a user runs it (emulator, fake model, a real
 * OpenClaw gateway with the packed plugin, the phone page), driven in headless Chromium (Debian's
 * `chromium`, installed by scripts/ensure-chromium.mjs when missing) through playwright-core. The tests run
 * in order on one `npm start`: log in by scanning the QR and confirming on the phone, chat, a second login
 * with a verify code, an already-bound scan, and last Ctrl-C, which must leave no process behind.
 * Screenshots of each screen go to docs/screenshots/.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { chromium, type BrowserContext, type Page } from "playwright-core"
import QRCode from "qrcode"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { normalizeAccountId } from "../../src/domain/AccountId.js"

const projectRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const screenshotDir = Path.join(projectRoot, "docs", "screenshots")
const CHROMIUM = "/usr/bin/chromium"
/** a 1×1 PNG */
const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64"
)
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

let npmStart: ChildProcess | undefined
/** the port the test asks for through PHONE_PORT */
let phonePort = 0
/** seconds from spawning `npm start` to the page answering */
let secondsToPage = Number.NaN
let startExit: Promise<{ code: number | null; signal: string | null }> | undefined
let output = ""
let pageUrl = ""
let userDataDir = ""
let context: BrowserContext | undefined
let page: Page

const run = (file: string, args: ReadonlyArray<string>) =>
  new Promise<string>((resolve, reject) =>
    execFile(file, [...args], { cwd: projectRoot, timeout: 15 * 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stderr}`)) : resolve(stdout)
    )
  )

/** Waits until `npm start` printed a line matching `pattern`; fails with its output if it exits first. */
const waitForOutput = (pattern: RegExp, timeoutMs: number) =>
  new Promise<RegExpMatchArray>((resolve, reject) => {
    const check = () => {
      const match = output.match(pattern)
      if (match !== null) {
        cleanup()
        resolve(match)
      }
    }
    const onExit = () => {
      cleanup()
      reject(new Error(`npm start exited before printing ${pattern}; its output:\n${output}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`npm start did not print ${pattern} within ${timeoutMs} ms; its output:\n${output}`))
    }, timeoutMs)
    const cleanup = () => {
      clearTimeout(timer)
      npmStart?.stdout?.off("data", check)
      npmStart?.off("close", onExit)
    }
    npmStart?.stdout?.on("data", check)
    npmStart?.once("close", onExit)
    check()
  })

/** The emulator's active fault plans, through the page server's admin pass-through. */
const emulatorFaults = async () =>
  ((await (await page.request.get(`${pageUrl}api/admin/faults`)).json()) as { faults: ReadonlyArray<unknown> }).faults

/** A port no one listens on now, for PHONE_PORT. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** The phone server's state, as the page reads it. */
const phoneState = async () =>
  (await (await page.request.get(`${pageUrl}api/state`)).json()) as { switches: ReadonlyArray<string>; redelivered: number }

/** Polls `check` every 250 ms until it holds, failing after `timeoutMs`. */
const eventually = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** The state dir `npm start` printed. */
const stateDirOf = () => output.match(/state dir\s+(\S+)/)?.[1] ?? ""

/** Types a text into the conversation and sends it. */
const say = async (text: string) => {
  await page.getByLabel("message", { exact: true }).fill(text)
  await page.getByRole("button", { name: "Send", exact: true }).click()
}

/** Flips a fault switch on the page and waits until the page server has applied it. */
const flip = async (action: () => Promise<void>) => {
  const applied = page.waitForResponse((response) => response.url().endsWith("/api/faults/switch"))
  await action()
  expect((await applied).ok()).toBe(true)
}

/** Waits for a login QR code other than `previous` to show. */
const newQr = (previous: string | null) =>
  page.locator(previous === null ? "#qr-image" : `#qr-image:not([data-qrcode="${previous}"])`).waitFor({ state: "visible", timeout: 120_000 })

const shot = (name: string) => page.screenshot({ path: Path.join(screenshotDir, name), fullPage: true })

/** Pids of processes whose environment names this state dir: the gateway, its workers, logins. */
const processesWithStateDir = async (stateDir: string) => {
  const pids = (await Fs.readdir("/proc")).filter((name) => /^\d+$/.test(name))
  const found: Array<number> = []
  for (const pid of pids) {
    const environ = await Fs.readFile(`/proc/${pid}/environ`, "utf8").catch(() => "")
    if (environ.split("\0").includes(`OPENCLAW_STATE_DIR=${stateDir}`)) found.push(Number(pid))
  }
  return found
}

/** Each process still in process group `pgid`: its pid and command line, for a failure's message. */
const processGroup = async (pgid: number) => {
  const found: Array<string> = []
  for (const pid of (await Fs.readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    const stat = await Fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")
    // the fields after the command's closing parenthesis: state, ppid, pgrp, …
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2])
    if (pgrp !== pgid) continue
    const cmdline = await Fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")
    found.push(`${pid} ${cmdline.split("\0").join(" ").trim().slice(0, 200)}`)
  }
  return found
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Ctrl-C in a terminal: SIGINT to the whole foreground process group of `npm start`. */
const pressCtrlC = async () => {
  if (npmStart?.pid === undefined || startExit === undefined) return undefined
  try {
    process.kill(-npmStart.pid, "SIGINT")
  } catch {
    // already gone
  }
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 60_000))
  return Promise.race([startExit, timeout])
}

beforeAll(async () => {
  await run(process.execPath, [Path.join(projectRoot, "scripts", "ensure-chromium.mjs")])
  await Fs.mkdir(screenshotDir, { recursive: true })
  phonePort = await freePort()
  const env: Record<string, string | undefined> = { ...process.env, PHONE_PORT: String(phonePort) }
  // its own process group, as a terminal's foreground job: Ctrl-C reaches npm, tsx and node alike
  const spawnedAt = performance.now()
  npmStart = spawn("npm", ["start"], { cwd: projectRoot, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
  // done only when every process holding its output has ended (npm itself may exit before node's cleanup)
  startExit = new Promise((resolve) => npmStart?.once("close", (code, signal) => resolve({ code, signal })))
  npmStart.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
  npmStart.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
  pageUrl = (await waitForOutput(/phone page\s+(http:\/\/127\.0\.0\.1:\d+\/)/, 300_000))[1] ?? ""
  await fetch(pageUrl)
  secondsToPage = (performance.now() - spawnedAt) / 1000
  console.log(`npm start: the page answered ${secondsToPage.toFixed(1)} s after the spawn`)
  userDataDir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "weixin-phone-chromium-"))
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 760 }
  })
  page = context.pages()[0] ?? (await context.newPage())
}, 420_000)

afterAll(async () => {
  await context?.close()
  if (userDataDir !== "") await Fs.rm(userDataDir, { recursive: true, force: true })
  await pressCtrlC()
}, 90_000)

describe("the browser phone (npm start)", () => {
  it("npm start prints the page's address (on the PHONE_PORT asked for) with the state dir and the gateway log", async () => {
    expect(pageUrl).toBe(`http://127.0.0.1:${phonePort}/`)
    expect(output).toMatch(/state dir\s+\S+/)
    expect(output).toMatch(/gateway log\s+\S+openclaw\.log/)
    await page.goto(pageUrl)
    expect(await page.title()).toContain("WeChat sandbox phone")
  })

  it("shows the QR code the plugin's login printed, as a real QR image", async () => {
    const image = page.locator("#qr-image")
    // the page starts `openclaw channels login` itself; the plugin asks the emulator for a QR code
    await image.waitFor({ state: "visible", timeout: 120_000 })
    const qrUrl = (await page.locator("#qr-link").textContent()) ?? ""
    expect(qrUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/qr\?qrcode=[0-9a-f]+$/)
    // the same link the plugin printed under its terminal QR
    await page.locator("#login-output", { hasText: qrUrl }).waitFor({ state: "attached", timeout: 60_000 })
    // the image is the QR code of that link, and it loaded
    const src = (await image.getAttribute("src")) ?? ""
    const svg = await (await page.request.get(new URL(src, pageUrl).toString())).text()
    expect(svg).toBe(await QRCode.toString(qrUrl, { type: "svg", margin: 2, errorCorrectionLevel: "M" }))
    expect(await image.evaluate((img) => {
      const loaded = img as unknown as { readonly complete: boolean; readonly naturalWidth: number }
      return loaded.complete && loaded.naturalWidth > 0
    })).toBe(true)
    await page.getByText("Scan this QR code with WeChat on your phone.").waitFor()
    await shot("01-login-qr.png")
  }, 150_000)

  it("logs in by scanning and confirming on the phone", async () => {
    await page.getByRole("button", { name: "Scan the QR code" }).click()
    await page.getByText("Scanned. Confirm the login on the phone.").waitFor({ timeout: 30_000 })
    await shot("02-login-confirm.png")
    await page.getByRole("button", { name: "Confirm login" }).click()
    // the login saved the account and the gateway runs it: the chat opens with the bot
    await page.locator("#chat").waitFor({ state: "visible", timeout: 60_000 })
    await page.locator("#chat-list li").first().waitFor()
    expect(await page.locator("#chat-list li").count()).toBe(1)
  }, 90_000)

  it("sends a text, sees the bot typing, and gets the reply with its receipt", async () => {
    await page.getByLabel("message", { exact: true }).fill("hello from the browser")
    await page.getByRole("button", { name: "Send", exact: true }).click()
    await page.locator(".msg.user", { hasText: "hello from the browser" }).waitFor({ timeout: 10_000 })
    await page.locator("#typing").waitFor({ state: "visible", timeout: 60_000 })
    const reply = page.locator(".msg.bot", { hasText: "echo: hello from the browser" })
    await reply.waitFor({ timeout: 120_000 })
    expect(await reply.locator(".receipt").textContent()).toBe("✓ delivered")
    await page.locator("#typing").waitFor({ state: "hidden", timeout: 30_000 })
  }, 200_000)

  it("shows a reply the server accepted without a message id as unconfirmed", async () => {
    // the emulator's fault switch, through the page server's admin pass-through
    const fault = await page.request.post(`${pageUrl}api/admin/faults`, {
      data: { endpoint: "sendmessage", fault: { kind: "no_message_id" }, times: 1 }
    })
    expect(fault.ok()).toBe(true)
    await page.getByLabel("message", { exact: true }).fill("second message")
    await page.getByRole("button", { name: "Send", exact: true }).click()
    const reply = page.locator(".msg.bot", { hasText: "echo: second message" })
    await reply.waitFor({ timeout: 120_000 })
    expect(await reply.locator(".receipt").textContent()).toBe("? unconfirmed (the server accepted it without a message id)")
    await shot("03-chat.png")
  }, 150_000)

  it("with the rate-limit switch on, a reply shows as refused with the server's reason", async () => {
    const rateLimit = page.getByLabel("rate limit (sendmessage answers ret −2)")
    await flip(() => rateLimit.check())
    await page.getByLabel("message", { exact: true }).fill("limited")
    await page.getByRole("button", { name: "Send", exact: true }).click()
    const reply = page.locator(".msg.bot", { hasText: "echo: limited" }).first()
    await reply.waitFor({ timeout: 120_000 })
    expect(await reply.locator(".receipt").textContent()).toBe("✗ refused (rate limited)")
    await shot("04-refused.png")
    await flip(() => rateLimit.uncheck())
    expect(await emulatorFaults()).toEqual([])
  }, 150_000)

  it("the network-down switch makes getupdates answer 503 until it is switched off", async () => {
    const networkDown = page.getByLabel("network down (getupdates answers 503)")
    // the account's line: how the server sees it poll
    const polling = page.locator("#chat-list li .polling").first()
    const pollsLastMinute = async () => Number(((await polling.textContent()) ?? "").match(/(\d+) in the last minute$/)?.[1] ?? Number.NaN)
    const before = await pollsLastMinute()
    expect(before).toBeGreaterThanOrEqual(1)
    await flip(() => networkDown.check())
    expect(await emulatorFaults()).toEqual([{ endpoint: "getupdates", fault: { kind: "http", status: 503 }, remaining: null }])
    // a held long-poll lasts half a minute; through the 503s the plugin retries (backing off), and the page shows it
    await eventually("retries shown on the page", async () => (await pollsLastMinute()) >= before + 2, 75_000)
    await flip(() => networkDown.uncheck())
    expect(await emulatorFaults()).toEqual([])
  }, 120_000)

  it("after the server expires the session (−14), a new QR login resumes the chat", async () => {
    const previousQr = await page.locator("#qr-image").getAttribute("data-qrcode")
    await page.getByRole("button", { name: "Expire the session (−14)" }).click()
    await page.locator("#expired-banner").waitFor()
    await shot("05-session-expired.png")
    await page.getByRole("button", { name: "Log in again" }).click()
    await newQr(previousQr)
    await page.getByLabel("scanning user").selectOption("alice@im.wechat")
    await page.getByRole("button", { name: "Scan the QR code" }).click()
    await page.getByRole("button", { name: "Confirm login" }).click()
    await page.locator("#expired-banner").waitFor({ state: "hidden", timeout: 30_000 })
    await page.getByLabel("message", { exact: true }).fill("back again")
    await page.getByRole("button", { name: "Send", exact: true }).click()
    const reply = page.locator(".msg.bot", { hasText: "echo: back again" })
    await reply.waitFor({ timeout: 120_000 })
    expect(await reply.locator(".receipt").textContent()).toBe("✓ delivered")
    expect(await page.locator("#chat-list li").count()).toBe(1)
  }, 300_000)

  it("logs in a second bot account for a new WeChat user who types the verify code", async () => {
    const firstQr = await page.locator("#qr-image").getAttribute("data-qrcode")
    await page.getByRole("button", { name: "Add a WeChat user" }).click()
    await page.getByRole("tab", { name: "Bob" }).waitFor()
    await page.getByRole("button", { name: "Log in another bot account" }).click()
    await newQr(firstQr)
    await page.getByRole("button", { name: "Scan the QR code" }).waitFor()
    await page.getByLabel("scanning user").selectOption("bob@im.wechat")
    await page.getByLabel("the server asks for a verify code").check()
    await page.getByRole("button", { name: "Scan the QR code" }).click()
    const shown = page.locator("#phone-code")
    await shown.waitFor({ state: "visible" })
    const code = ((await shown.textContent()) ?? "").trim()
    expect(code).toMatch(/^\d+$/)
    await page.getByLabel("verify code", { exact: true }).waitFor({ timeout: 30_000 })
    await shot("06-verify-code.png")
    await page.getByLabel("verify code", { exact: true }).fill(code)
    await page.getByRole("button", { name: "Enter" }).click()
    const confirm = page.getByRole("button", { name: "Confirm login" })
    await page.locator("#confirm:enabled").waitFor({ timeout: 30_000 })
    await confirm.click()
    await page.locator("#chat-list li").nth(1).waitFor({ timeout: 60_000 })
  }, 200_000)

  it("a scan by a user whose bot is already connected changes nothing", async () => {
    const previousQr = await page.locator("#qr-image").getAttribute("data-qrcode")
    await page.getByRole("button", { name: "Log in another bot account" }).click()
    await newQr(previousQr)
    await page.getByLabel("scanning user").selectOption("alice@im.wechat")
    await page.getByLabel("the server asks for a verify code").uncheck()
    await page.getByRole("button", { name: "Scan the QR code" }).click()
    await page.locator("#login-status", { hasText: "already connected to this OpenClaw" }).waitFor({ timeout: 60_000 })
    await shot("07-already-bound.png")
    expect(await page.locator("#chat-list li").count()).toBe(2)
  }, 200_000)

  it("restarts the gateway from the page, and the chat works after it", async () => {
    const firstPid = Number(output.match(/gateway log\s+\S+ \(pid (\d+)/)?.[1])
    await page.getByRole("button", { name: "Restart the gateway" }).click()
    const gatewayStatus = page.locator("#gateway-status", { hasText: "restarted" })
    await gatewayStatus.waitFor({ timeout: 180_000 })
    const newPid = Number(((await gatewayStatus.textContent()) ?? "").match(/^pid (\d+)/)?.[1])
    expect(newPid).toBeGreaterThan(0)
    expect(newPid).not.toBe(firstPid)
    await page.getByRole("tab", { name: "Alice" }).click()
    await page.locator("#chat-list li button").first().click()
    await page.getByLabel("message", { exact: true }).fill("after the restart")
    await page.getByRole("button", { name: "Send", exact: true }).click()
    const reply = page.locator(".msg.bot", { hasText: "echo: after the restart" })
    await reply.waitFor({ timeout: 120_000 })
    expect(await reply.locator(".receipt").textContent()).toBe("✓ delivered")
  }, 330_000)

  it("sends a picture from the file picker, and the agent answers it", async () => {
    const botMessages = page.locator(".msg.bot")
    const before = await botMessages.count()
    await page.getByLabel("send a picture or a file").setInputFiles({ name: "dot.png", mimeType: "image/png", buffer: TINY_PNG })
    await page.locator(".msg.user", { hasText: "[picture dot.png]" }).waitFor({ timeout: 10_000 })
    const answer = botMessages.nth(before)
    await answer.waitFor({ timeout: 120_000 })
    expect(await answer.locator(".receipt").textContent()).toBe("✓ delivered")
    // the model reads images: it answers with the size it decoded from the bytes the host handed it
    expect(await answer.textContent()).toContain(`I see a PNG picture of 1×1 pixels (${TINY_PNG.length} bytes)`)
    await shot("09-picture.png")
  }, 150_000)

  it("a file dropped on the conversation is sent like one from the picker, and the agent answers it", async () => {
    const botMessages = page.locator(".msg.bot")
    const before = await botMessages.count()
    const downloadsBefore = ((await (await page.request.get(`${pageUrl}api/admin/cdn/downloads`)).json()) as { downloads: ReadonlyArray<unknown> })
      .downloads.length
    // what a browser does when a file is dragged from the desktop and dropped
    const accepted = await page.evaluate(`(() => {
      const data = new DataTransfer()
      data.items.add(new File(["notes dropped on the chat\\n"], "dropped.txt", { type: "text/plain" }))
      const target = document.getElementById("message-input")
      const over = new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true })
      target.dispatchEvent(over)
      target.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }))
      return over.defaultPrevented
    })()`)
    // the page accepts the drag (a page that does not would let the browser open the file instead)
    expect(accepted).toBe(true)
    await page.locator(".msg.user", { hasText: "[file dropped.txt]" }).waitFor({ timeout: 10_000 })
    const answer = botMessages.nth(before)
    await answer.waitFor({ timeout: 120_000 })
    expect(await answer.locator(".receipt").textContent()).toBe("✓ delivered")
    // the plugin fetched the file from the CDN
    const downloads = ((await (await page.request.get(`${pageUrl}api/admin/cdn/downloads`)).json()) as { downloads: ReadonlyArray<unknown> })
      .downloads.length
    expect(downloads).toBeGreaterThan(downloadsBefore)
  }, 150_000)

  it("asks for a picture and sees it in the conversation: the bytes the agent's file holds, decoded", async () => {
    await say("send me a picture")
    const picture = page.locator(".msg.bot img.media-picture")
    await picture.waitFor({ timeout: 120_000 })
    await page.locator(".msg.bot", { hasText: "Here is a picture I made (96×64)" }).waitFor({ timeout: 30_000 })
    await eventually("the picture to load", async () => picture.evaluate((img) => (img as unknown as { complete: boolean }).complete), 30_000)
    const size = await picture.evaluate((img) => {
      const loaded = img as unknown as { naturalWidth: number; naturalHeight: number }
      return [loaded.naturalWidth, loaded.naturalHeight]
    })
    expect(size).toEqual([96, 64])
    const served = await (await page.request.get(new URL((await picture.getAttribute("src")) ?? "", pageUrl).toString())).body()
    const written = await Fs.readFile(Path.join(stateDirOf(), "media", "tool-phone", "picture-1.png"))
    expect(served.equals(written)).toBe(true)
    expect(await picture.locator("xpath=..").locator(".receipt").textContent()).toBe("✓ delivered")
    await picture.scrollIntoViewIfNeeded()
    await shot("10-picture-back.png")
  }, 180_000)

  it("asks for a file and gets a download link with its name and its bytes", async () => {
    await say("send me a file")
    const link = page.locator(".msg.bot a.media-file")
    await link.waitFor({ timeout: 120_000 })
    expect(await link.textContent()).toBe("📎 notes-2.txt")
    expect(await link.getAttribute("download")).toBe("notes-2.txt")
    const response = await page.request.get(new URL((await link.getAttribute("href")) ?? "", pageUrl).toString())
    expect(response.headers()["content-disposition"]).toBe("attachment; filename*=UTF-8''notes-2.txt")
    const written = await Fs.readFile(Path.join(stateDirOf(), "media", "tool-phone", "notes-2.txt"))
    expect((await response.body()).equals(written)).toBe(true)
  }, 180_000)

  it("shows the tool progress items the plugin sends while the agent uses a tool, before its answer", async () => {
    // the host reports tool events to a channel only in verbose mode
    await say("/verbose on")
    await page.locator(".msg.bot", { hasText: "Verbose logging enabled" }).waitFor({ timeout: 120_000 })
    await say("use a tool")
    await page.locator(".msg.bot", { hasText: "I used the ls tool" }).waitFor({ timeout: 120_000 })
    const texts = await page.locator(".msg.bot").allTextContents()
    const started = texts.findIndex((text) => text.startsWith("⚙ ls…"))
    const ended = texts.findIndex((text) => text.startsWith("⚙ ls: "))
    const answered = texts.findIndex((text) => text.startsWith("I used the ls tool"))
    expect(started, texts.join("\n")).toBeGreaterThanOrEqual(0)
    expect(ended).toBeGreaterThan(started)
    expect(answered).toBeGreaterThan(ended)
    await page.locator(".msg.bot", { hasText: "I used the ls tool" }).scrollIntoViewIfNeeded()
    await shot("13-progress.png")
  }, 180_000)

  it("quotes a reply by its id only, and the agent's answer says what was quoted", async () => {
    const quoted = page.locator(".msg.bot", { hasText: "echo: after the restart" })
    await quoted.getByRole("button", { name: "quote: echo: after the restart" }).click()
    await page.locator("#quote-bar", { hasText: "echo: after the restart" }).waitFor()
    await say("what did you mean?")
    await page.locator("#quote-bar").waitFor({ state: "hidden" })
    await page.locator(".msg.user", { hasText: "what did you mean?" }).locator(".quoted", { hasText: "echo: after the restart" }).waitFor()
    // the plugin found the quoted text in its quote store: the emulator's message carried only the id
    const answer = page.locator(".msg.bot", { hasText: "(you quoted: \"echo: after the restart\")" })
    await answer.waitFor({ timeout: 120_000 })
    expect(await answer.textContent()).toContain("echo: what did you mean?")
    await answer.scrollIntoViewIfNeeded()
    await shot("12-quote.png")
  }, 180_000)

  it("the slow-CDN switch sets delays on the CDN, and clears them when switched off", async () => {
    const slowCdn = page.getByLabel("slow CDN (uploads and downloads wait 4 s)")
    await flip(() => slowCdn.check())
    expect(await emulatorFaults()).toEqual([
      { endpoint: "cdn_upload", fault: { kind: "delay", ms: 4000 }, remaining: null },
      { endpoint: "cdn_download", fault: { kind: "delay", ms: 4000 }, remaining: null }
    ])
    expect((await phoneState()).switches).toContain("slow-cdn")
    await flip(() => slowCdn.uncheck())
    expect(await emulatorFaults()).toEqual([])
    expect((await phoneState()).switches).not.toContain("slow-cdn")
  }, 60_000)

  it("during a redelivery storm each message is answered once", async () => {
    const storm = page.getByLabel("redelivery storm (the last 3 messages sent here delivered again every 1.5 s)")
    await flip(() => storm.check())
    expect((await phoneState()).switches).toContain("redelivery-storm")
    await say("storm check")
    await page.locator(".msg.bot", { hasText: "echo: storm check" }).first().waitFor({ timeout: 120_000 })
    const before = (await phoneState()).redelivered
    // three more rounds of the last three messages, "storm check" among them
    await eventually("nine more redeliveries", async () => (await phoneState()).redelivered >= before + 9, 30_000)
    await page.locator("#storm-count", { hasText: "messages delivered again so far" }).waitFor()
    await flip(() => storm.uncheck())
    expect((await phoneState()).switches).not.toContain("redelivery-storm")
    // turns of one user run in order: once this is answered, any second turn of "storm check" would have been too
    await say("after the storm")
    await page.locator(".msg.bot", { hasText: "echo: after the storm" }).waitFor({ timeout: 120_000 })
    expect(await page.locator(".msg.bot", { hasText: "echo: storm check" }).count()).toBe(1)
  }, 240_000)

  it("is readable on a phone-sized screen (390×844): nothing overflows sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    try {
      const widths = (await page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")) as [number, number]
      expect(widths[0]).toBeLessThanOrEqual(widths[1])
      // the conversation and its picture fit the width
      const box = await page.locator(".msg.bot img.media-picture").boundingBox()
      expect(box).not.toBeNull()
      expect(box!.x + box!.width).toBeLessThanOrEqual(390)
      await shot("11-phone-size.png")
    } finally {
      await page.setViewportSize({ width: 1100, height: 760 })
    }
  }, 60_000)

  it("shows the accounts' status as openclaw channels status --probe reports it", async () => {
    await page.getByRole("button", { name: "Check the status" }).click()
    const status = page.getByLabel("openclaw channels status")
    await status.waitFor({ timeout: 120_000 })
    await page.locator("#check-status:enabled").waitFor({ timeout: 120_000 })
    const text = (await status.textContent()) ?? ""
    const botIds = (await page.locator("#chat-list li button").allTextContents()).map((item) => item.replace("OpenClaw bot", "").trim())
    expect(botIds).toHaveLength(2)
    for (const botId of botIds) {
      const line = text.split("\n").find((candidate) => candidate.includes(normalizeAccountId(botId)))
      expect(line, text).toMatch(/running/)
    }
    await shot("08-gateway-status.png")
  }, 150_000)

  it("Ctrl-C stops everything and leaves no process behind", async () => {
    const gatewayPid = Number(output.match(/gateway log\s+\S+ \(pid (\d+)/)?.[1])
    expect(gatewayPid).toBeGreaterThan(0)
    const stateDir = output.match(/state dir\s+(\S+)/)?.[1] ?? ""
    // the gateway running now is the one the restart started
    const currentPid = Number(((await page.locator("#gateway-status").textContent()) ?? "").match(/^pid (\d+)/)?.[1])
    expect(await processesWithStateDir(stateDir)).toContain(currentPid)
    await context?.close()
    context = undefined
    const exit = await pressCtrlC()
    // should this time out, the message says what was still running and what the sandbox said last
    const diagnosis = exit === "timeout" && npmStart?.pid !== undefined
      ? `still in npm start's process group:\n${(await processGroup(npmStart.pid)).join("\n")}\n` +
        `last output:\n${output.split("\n").slice(-30).join("\n")}`
      : ""
    expect(exit, diagnosis).not.toBe("timeout")
    expect(output).toContain("sandbox stopped")
    expect(isAlive(gatewayPid)).toBe(false)
    expect(isAlive(currentPid)).toBe(false)
    // nothing of this run is left: no process in npm start's group, none with its state dir (logins, workers)
    expect(npmStart?.pid !== undefined && isAlive(-npmStart.pid)).toBe(false)
    expect(await processesWithStateDir(stateDir)).toEqual([])
  }, 90_000)
})
