// The browser phone: plain DOM, no framework, no build step. It polls the phone server's JSON API
// (sandbox/phone/PhoneServer.ts) and renders the login (computer + phone side) and the chats.

const $ = (id) => document.getElementById(id)

const api = async (method, path, body) => {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const value = await response.json()
  if (!response.ok) throw new Error(value.error ?? `HTTP ${response.status}`)
  return value
}

const ui = {
  state: undefined,
  persona: undefined, // userId of the WeChat user the phone is
  account: undefined, // botId of the open chat
  wantLogin: false, // the user asked for a (new) login, so the login view stays open
  autoLoginStarted: false,
  scannedQr: undefined,
  rendered: undefined, // the messages the list shows, as JSON
  atBottom: true, // the list was scrolled to its end when it was last rendered
  quote: undefined, // {serverId, text} of the message the next text quotes
  switchVersion: 0 // bumped around each fault switch request
}

const showError = (error) => {
  $("login-status").textContent = `Error: ${error.message}`
}

// ---- login --------------------------------------------------------------------------------------------

const QR_STATUS_TEXT = {
  wait: "Scan this QR code with WeChat on your phone.",
  scaned: "Scanned. Confirm the login on the phone.",
  need_verifycode: "The phone shows a number: type it below.",
  verify_code_blocked: "Too many wrong numbers; the login fetches a new QR code.",
  confirmed: "Confirmed on the phone; the login saves the account…",
  expired: "The QR code expired.",
  binded_redirect: "This WeChat user already has this bot connected.",
  scaned_but_redirect: "Scanned; the server moved the login."
}

// the plugin's own last word on the login (src/login/LoginEvents.ts), else the last line printed
const OUTCOME = /^(Connected this OpenClaw|This WeChat bot is already connected|Login failed|The QR code was not confirmed|Login cancelled)/

const outcomeLine = (output) => {
  const lines = output.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !/[█▀▄]/.test(line))
  return lines.filter((line) => OUTCOME.test(line)).at(-1) ?? lines.at(-1) ?? ""
}

const renderLogin = (state) => {
  const login = state.login
  const qr = login?.qr ?? null
  const running = login?.running === true
  const qrImage = $("qr-image")
  if (qr !== null && running && qr.status !== "confirmed") {
    const src = `/api/qr.svg?text=${encodeURIComponent(qr.imageUrl)}`
    if (qrImage.getAttribute("src") !== src) qrImage.setAttribute("src", src)
    qrImage.dataset.qrcode = qr.qrcode
    qrImage.hidden = false
    $("qr-link").textContent = qr.imageUrl
    $("qr-link").hidden = false
  } else {
    qrImage.hidden = true
    $("qr-link").hidden = true
  }
  let status
  if (login === null) status = "Starting the login…"
  else if (!running) status = `${outcomeLine(login.output) || "The login ended"} (exit code ${login.exitCode})`
  else if (qr === null) status = "Waiting for the login's QR code…"
  else status = QR_STATUS_TEXT[qr.status] ?? qr.status
  $("login-status").textContent = status
  $("login-output").textContent = login?.output ?? ""
  $("code-form").hidden = !(running && qr?.status === "need_verifycode")
  $("login-again").hidden = running
  // one login at a time, as in a terminal
  $("add-account").disabled = running
  $("scan").disabled = !(running && qr !== null && qr.status === "wait")
  const awaitingConfirm = running && qr !== null && (qr.status === "scaned" || qr.status === "need_verifycode") && ui.scannedQr === qr.qrcode
  $("confirm-box").hidden = !awaitingConfirm
  $("confirm").disabled = qr?.status !== "scaned"
  if (qr?.status !== "need_verifycode") $("phone-code").hidden = true
  renderPersonaSelect(state)
}

const renderPersonaSelect = (state) => {
  const select = $("scan-persona")
  const ids = state.personas.map((p) => p.userId).join(",")
  if (select.dataset.ids !== ids) {
    const chosen = select.value
    select.replaceChildren(...state.personas.map((p) => new Option(`${p.name} (${p.userId})`, p.userId)))
    if (chosen) select.value = chosen
    select.dataset.ids = ids
  }
}

const startLogin = async () => {
  ui.wantLogin = true
  ui.scannedQr = undefined
  await api("POST", "/api/login")
  await refresh()
}

$("scan").addEventListener("click", async () => {
  try {
    const qrcode = $("qr-image").dataset.qrcode
    const answer = await api("POST", "/api/phone/scan", { userId: $("scan-persona").value, verifyCode: $("ask-code").checked })
    ui.scannedQr = qrcode
    if (answer.verifyCode !== null) {
      $("phone-code").textContent = answer.verifyCode
      $("phone-code").hidden = false
    }
    await refresh()
  } catch (error) {
    showError(error)
  }
})

$("confirm").addEventListener("click", async () => {
  try {
    await api("POST", "/api/phone/confirm", { userId: $("scan-persona").value })
    ui.persona = $("scan-persona").value
    ui.wantLogin = false
    await refresh()
  } catch (error) {
    showError(error)
  }
})

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault()
  try {
    await api("POST", "/api/login/input", { text: $("code-input").value })
    $("code-input").value = ""
  } catch (error) {
    showError(error)
  }
})

$("login-again").addEventListener("click", () => startLogin().catch(showError))
$("add-account").addEventListener("click", () => startLogin().catch(showError))

// ---- chats --------------------------------------------------------------------------------------------

const renderChats = (state, version) => {
  if (!state.personas.some((p) => p.userId === ui.persona)) ui.persona = state.personas[0]?.userId
  if (!state.accounts.some((a) => a.botId === ui.account)) ui.account = state.accounts[0]?.botId
  $("personas").replaceChildren(
    ...state.personas.map((p) => {
      const button = document.createElement("button")
      button.type = "button"
      button.setAttribute("role", "tab")
      button.setAttribute("aria-selected", String(p.userId === ui.persona))
      button.textContent = p.name
      button.title = p.userId
      button.addEventListener("click", () => {
        if (ui.persona !== p.userId) ui.quote = undefined
        ui.persona = p.userId
        renderQuoteBar()
        refresh()
      })
      return button
    })
  )
  $("chat-list").replaceChildren(
    ...state.accounts.map((a) => {
      const item = document.createElement("li")
      const button = document.createElement("button")
      button.type = "button"
      button.textContent = `OpenClaw bot ${a.botId}`
      // how the server sees the account poll: retries back off, a parked account stops
      const polling = document.createElement("span")
      polling.className = "polling"
      polling.textContent = a.polling.lastBeganMsAgo === null
        ? "no getupdates yet"
        : `getupdates: last began ${Math.round(a.polling.lastBeganMsAgo / 1000)} s ago · ${a.polling.lastMinute} in the last minute`
      if (a.botId === ui.account) button.setAttribute("aria-current", "true")
      button.addEventListener("click", () => {
        if (ui.account !== a.botId) ui.quote = undefined
        ui.account = a.botId
        renderQuoteBar()
        refresh()
      })
      item.append(button, polling)
      return item
    })
  )
  // a state read before the user flipped a switch must not flip it back
  if (version === ui.switchVersion) {
    for (const box of document.querySelectorAll("[data-switch]")) box.checked = state.switches.includes(box.dataset.switch)
  }
  $("storm-count").hidden = state.redelivered === 0
  $("storm-count").textContent = `messages delivered again so far: ${state.redelivered}`
  $("expired-banner").hidden = !state.expired.includes(ui.account)
  $("login-again-expired").disabled = state.login?.running === true
  const persona = state.personas.find((p) => p.userId === ui.persona)
  $("conversation-title").textContent = persona && ui.account ? `${persona.name} ↔ OpenClaw bot ${ui.account}` : ""
}

const RECEIPT_TEXT = { delivered: "✓ delivered", unconfirmed: "? unconfirmed", refused: "✗ refused" }

const MEDIA_LABEL = { picture: "[picture]", video: "[video]", file: "[file]" }

// a picture inline, a video with controls, a file as a download link with its name; without a URL (the
// server did not deliver the message) only a label
const mediaElement = (media) => {
  if (media.url === undefined) {
    const label = document.createElement("span")
    label.className = "media-label"
    label.textContent = media.kind === "file" && media.name ? `[file ${media.name}]` : MEDIA_LABEL[media.kind]
    return label
  }
  if (media.kind === "picture") {
    const image = document.createElement("img")
    image.className = "media-picture"
    image.src = media.url
    image.alt = "picture from the bot"
    // a picture that loads after the list was scrolled to its end keeps the end in view
    image.addEventListener("load", () => {
      if (ui.atBottom) $("messages").scrollTop = $("messages").scrollHeight
    })
    return image
  }
  if (media.kind === "video") {
    const video = document.createElement("video")
    video.className = "media-video"
    video.src = media.url
    video.controls = true
    return video
  }
  const link = document.createElement("a")
  link.className = "media-file"
  link.href = media.url
  link.download = media.name ?? "file"
  link.textContent = `📎 ${media.name ?? "file"}`
  return link
}

const quoteButton = (message) => {
  const button = document.createElement("button")
  button.type = "button"
  button.className = "quote-button"
  button.textContent = "Quote"
  button.setAttribute("aria-label", `quote: ${message.text || "media"}`)
  button.addEventListener("click", () => {
    ui.quote = { serverId: message.serverId, text: message.text || (message.media ?? []).map((m) => MEDIA_LABEL[m.kind]).join(" ") }
    renderQuoteBar()
    $("message-input").focus()
  })
  return button
}

const renderQuoteBar = () => {
  $("quote-bar").hidden = ui.quote === undefined
  $("quote-text").textContent = ui.quote === undefined ? "" : ui.quote.text
}

$("quote-cancel").addEventListener("click", () => {
  ui.quote = undefined
  renderQuoteBar()
})

const renderConversation = (conversation) => {
  // the list is rebuilt only when it changed, so pictures are not fetched again on every poll
  const rendered = JSON.stringify(conversation.messages)
  const list = $("messages")
  if (ui.rendered !== rendered) {
    ui.rendered = rendered
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8
    ui.atBottom = atBottom
    list.replaceChildren(
      ...conversation.messages.map((message) => {
        const item = document.createElement("li")
        item.className = `msg ${message.from}`
        item.dataset.id = message.id
        if (message.quote !== undefined) {
          const quoted = document.createElement("span")
          quoted.className = "quoted"
          quoted.textContent = message.quote
          item.append(quoted)
        }
        if (message.progress !== undefined) {
          item.classList.add("progress")
          item.append(document.createTextNode(
            message.progress.phase === "start" ? `⚙ ${message.progress.tool}…` : `⚙ ${message.progress.tool}: ${message.progress.status ?? "done"}`
          ))
        }
        if (message.text !== "") item.append(document.createTextNode(message.text))
        for (const media of message.media ?? []) item.append(mediaElement(media))
        if (message.state !== undefined) {
          const receipt = document.createElement("span")
          receipt.className = "receipt"
          receipt.dataset.state = message.state
          receipt.textContent = RECEIPT_TEXT[message.state] + (message.detail ? ` (${message.detail})` : "")
          item.append(receipt)
        }
        if (message.serverId !== undefined && message.progress === undefined) item.append(quoteButton(message))
        return item
      })
    )
    if (atBottom) list.scrollTop = list.scrollHeight
  }
  $("typing").hidden = !conversation.typing
}

$("send-form").addEventListener("submit", async (event) => {
  event.preventDefault()
  const input = $("message-input")
  const text = input.value.trim()
  if (text === "" || ui.account === undefined || ui.persona === undefined) return
  try {
    await api("POST", "/api/chat", { botId: ui.account, userId: ui.persona, text, ...(ui.quote === undefined ? {} : { quote: ui.quote }) })
    input.value = ""
    ui.quote = undefined
    renderQuoteBar()
    await refreshConversation()
  } catch (error) {
    $("conversation-title").textContent = `Error: ${error.message}`
  }
})

for (const box of document.querySelectorAll("[data-switch]")) {
  box.addEventListener("change", async () => {
    ui.switchVersion += 1
    await api("POST", "/api/faults/switch", { name: box.dataset.switch, on: box.checked })
    ui.switchVersion += 1
    await refresh()
  })
}

$("expire-session").addEventListener("click", async () => {
  if (ui.account === undefined) return
  await api("POST", "/api/faults/expire-session", { botId: ui.account })
  await refresh()
})

$("login-again-expired").addEventListener("click", () => startLogin().catch(showError))

// ---- gateway ------------------------------------------------------------------------------------------

const renderGateway = (gateway) => {
  const parts = [`pid ${gateway.pid}`]
  if (gateway.restarting) parts.push("restarting… (the new gateway takes about half a minute)")
  else if (gateway.restart !== null) parts.push(gateway.restart)
  if (gateway.checking) parts.push("running openclaw channels status --probe…")
  $("gateway-status").textContent = parts.join("; ")
  $("restart-gateway").disabled = gateway.restarting
  $("check-status").disabled = gateway.checking
  $("status-output").hidden = gateway.status === null
  $("status-output").textContent = gateway.status ?? ""
}

$("restart-gateway").addEventListener("click", async () => {
  renderGateway(await api("POST", "/api/gateway/restart"))
})

$("check-status").addEventListener("click", async () => {
  renderGateway(await api("POST", "/api/gateway/status"))
})

const base64Of = (file) =>
  new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""))
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(file)
  })

// the file picker and a file dropped on the conversation take the same way
const sendFile = async (file) => {
  if (ui.account === undefined || ui.persona === undefined) return
  try {
    await api("POST", "/api/chat/media", {
      botId: ui.account,
      userId: ui.persona,
      fileName: file.name,
      contentType: file.type || "application/octet-stream",
      base64: await base64Of(file)
    })
    await refreshConversation()
  } catch (error) {
    $("conversation-title").textContent = `Error: ${error.message}`
  }
}

$("file-input").addEventListener("change", async () => {
  const input = $("file-input")
  const file = input.files?.[0]
  if (file === undefined) return
  await sendFile(file)
  input.value = ""
})

const conversationCard = $("conversation")
conversationCard.addEventListener("dragover", (event) => {
  if (!event.dataTransfer?.types.includes("Files")) return
  event.preventDefault()
  event.dataTransfer.dropEffect = "copy"
  conversationCard.classList.add("dropping")
})
conversationCard.addEventListener("dragleave", (event) => {
  if (!conversationCard.contains(event.relatedTarget)) conversationCard.classList.remove("dropping")
})
conversationCard.addEventListener("drop", async (event) => {
  event.preventDefault()
  conversationCard.classList.remove("dropping")
  for (const file of event.dataTransfer?.files ?? []) await sendFile(file)
})

$("add-persona").addEventListener("click", async () => {
  const persona = await api("POST", "/api/personas")
  ui.persona = persona.userId
  await refresh()
})

// ---- polling ------------------------------------------------------------------------------------------

const refreshConversation = async () => {
  if (ui.account === undefined || ui.persona === undefined || $("chat").hidden) return
  const key = `${ui.account}|${ui.persona}`
  const conversation = await api("GET", `/api/chat?botId=${encodeURIComponent(ui.account)}&userId=${encodeURIComponent(ui.persona)}`)
  if (key === `${ui.account}|${ui.persona}`) renderConversation(conversation)
}

const refresh = async () => {
  const version = ui.switchVersion
  const state = await api("GET", "/api/state")
  ui.state = state
  const loginRunning = state.login?.running === true
  if (state.accounts.length === 0 && !loginRunning && !ui.autoLoginStarted) {
    ui.autoLoginStarted = true
    await startLogin()
    return
  }
  const showLogin = state.accounts.length === 0 || loginRunning || ui.wantLogin
  $("login").hidden = !showLogin
  $("chat").hidden = state.accounts.length === 0
  renderLogin(state)
  renderChats(state, version)
  if (!$("chat").hidden) renderGateway(await api("GET", "/api/gateway"))
  await refreshConversation()
}

const loop = async () => {
  try {
    await refresh()
  } catch (error) {
    showError(error)
  }
  setTimeout(loop, 600)
}
loop()
