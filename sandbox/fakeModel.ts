/**
 * A deterministic OpenAI-compatible model server for the sandbox and the e2e suite.
 *
 * It listens on 127.0.0.1 (port 0 by default) and answers
 * - `POST /v1/chat/completions`: SSE `chat.completion.chunk`s then `data: [DONE]` when `stream: true`,
 *   otherwise one `chat.completion`;
 * - `GET /v1/models`: the one model it serves.
 *
 * The default reply is `echo: <spoken text>`. A reply function may answer with a tool call instead
 * (`{ toolCall: { name, arguments } }`): the host runs the tool and asks again with its result. The user text is the last `user` message that is not the
 * host's synthetic internal-context block; the spoken text is that minus what the host wraps around it
 * (a leading `[Tue 2026-11-24 01:29 UTC]` envelope, a trailing `Runtime: …` paragraph), so replies do not
 * change with the clock. Every request is recorded for assertions.
 *
 * ```ts
 * const model = yield* makeFakeModel({ reply: ({ userText }) => `hi ${userText}` })
 * // model.baseUrl === "http://127.0.0.1:<port>/v1"
 * ```
 */
import { Effect, Either, Schema } from "effect"
import * as Http from "node:http"
import { text as readText } from "node:stream/consumers"
import type { AddressInfo } from "node:net"

const INTERNAL_CONTEXT_MARKER = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"

const ContentPart = Schema.Struct({
  type: Schema.String,
  text: Schema.optional(Schema.String),
  image_url: Schema.optional(Schema.Union(Schema.String, Schema.Struct({ url: Schema.String })))
})

const ChatMessage = Schema.Struct({
  role: Schema.String,
  content: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(ContentPart))))
})

/** The part of an OpenAI chat request the fake model reads; other fields pass through untouched. */
export const ChatCompletionRequest = Schema.Struct({
  model: Schema.optional(Schema.String),
  stream: Schema.optional(Schema.Boolean),
  messages: Schema.Array(ChatMessage)
})
export type ChatCompletionRequest = typeof ChatCompletionRequest.Type

const decodeChatRequest = Schema.decodeUnknownEither(Schema.parseJson(ChatCompletionRequest))

export interface RecordedModelRequest {
  readonly method: string
  readonly path: string
  readonly body: string
  /** The decoded chat request, when the body was one. */
  readonly chat?: ChatCompletionRequest
  readonly userText?: string
  readonly spokenText?: string
  /** the text answered, or `tool call: <name>` */
  readonly reply?: string
}

export interface FakeModelReplyInput {
  readonly userText: string
  readonly spokenText: string
  /** the bytes of every image of the turn being answered, sent as data URLs, in order */
  readonly images: ReadonlyArray<Uint8Array>
  readonly request: ChatCompletionRequest
  /** 0 for the first chat request this server answers. */
  readonly index: number
}

/** An answer that calls one of the tools the host offers, instead of text. */
export interface FakeToolCall {
  readonly toolCall: { readonly name: string; readonly arguments: Record<string, unknown> }
}

export type FakeModelAnswer = string | FakeToolCall

export interface FakeModelOptions {
  /** Model id listed and echoed back; the provider config must use the same id. */
  readonly modelId?: string
  /** Defaults to 0: the OS picks a free port. */
  readonly port?: number
  readonly reply?: (input: FakeModelReplyInput) => FakeModelAnswer
  /** Milliseconds to wait before answering each chat request (real time: this server faces a real host). */
  readonly delayMs?: number | ((input: FakeModelReplyInput) => number)
}

export interface FakeModel {
  readonly port: number
  /** `http://127.0.0.1:<port>/v1`, the value for the provider's `baseUrl`. */
  readonly baseUrl: string
  readonly modelId: string
  readonly requests: Effect.Effect<ReadonlyArray<RecordedModelRequest>>
  readonly chatRequests: Effect.Effect<ReadonlyArray<RecordedModelRequest>>
}

const textOf = (content: (typeof ChatMessage.Type)["content"]): string => {
  if (content === undefined || content === null) return ""
  if (typeof content === "string") return content
  return content.map((part) => part.text ?? "").join("\n")
}

/**
 * The images of the turn being answered (the messages after the last assistant message): every
 * `image_url` part whose URL is a base64 data URL, decoded. Earlier turns' images are history.
 */
export const imagesOf = (request: ChatCompletionRequest): ReadonlyArray<Uint8Array> =>
  request.messages.slice(request.messages.findLastIndex((message) => message.role === "assistant") + 1).flatMap((message) =>
    typeof message.content === "string" || message.content === undefined || message.content === null
      ? []
      : message.content.flatMap((part) => {
        const url = typeof part.image_url === "string" ? part.image_url : part.image_url?.url
        const data = url === undefined ? null : /^data:[^;,]*;base64,(.*)$/s.exec(url)
        return data === null ? [] : [Buffer.from(data[1] ?? "", "base64")]
      })
  )

/** The text the user typed: the last `user` message that is not the host's synthetic context block. */
export const userTextOf = (request: ChatCompletionRequest): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]
    if (message === undefined || message.role !== "user") continue
    const text = textOf(message.content)
    if (!text.includes(INTERNAL_CONTEXT_MARKER)) return text
  }
  return ""
}

// The host prefixes a bracketed envelope (time, and for channels the sender) and may append a runtime summary.
const LEADING_ENVELOPE = /^\[[^\]\n]*\]\s*/
const TRAILING_RUNTIME = /\n\nRuntime: [^\n]*\s*$/

/** The user text without the envelope the host adds around it. */
export const spokenTextOf = (userText: string): string =>
  userText.replace(TRAILING_RUNTIME, "").replace(LEADING_ENVELOPE, "").trim()

export const defaultReply = ({ spokenText }: FakeModelReplyInput): string => `echo: ${spokenText}`


const sendJson = (response: Http.ServerResponse, status: number, value: unknown) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify(value))
}

// Fixed ids and timestamps keep the answers byte-for-byte reproducible across runs.
const CREATED = 1_700_000_000

const toolCallsOf = (id: string, call: FakeToolCall) => [{
  index: 0,
  id: `call_${id}`,
  type: "function",
  function: { name: call.toolCall.name, arguments: JSON.stringify(call.toolCall.arguments) }
}]

const streamChunks = (modelId: string, id: string, answer: FakeModelAnswer): Array<unknown> => {
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created: CREATED,
    model: modelId,
    choices: [{ index: 0, delta, finish_reason: finish }]
  })
  const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
  if (typeof answer !== "string") {
    return [chunk({ role: "assistant", content: null, tool_calls: toolCallsOf(id, answer) }, null), { ...chunk({}, "tool_calls"), usage }]
  }
  return [chunk({ role: "assistant", content: "" }, null), chunk({ content: answer }, null), { ...chunk({}, "stop"), usage }]
}

const completion = (modelId: string, id: string, answer: FakeModelAnswer) => ({
  id,
  object: "chat.completion",
  created: CREATED,
  model: modelId,
  choices: [
    typeof answer === "string"
      ? { index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }
      : { index: 0, message: { role: "assistant", content: null, tool_calls: toolCallsOf(id, answer) }, finish_reason: "tool_calls" }
  ],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
})

interface RunningFakeModel {
  readonly port: number
  readonly baseUrl: string
  readonly modelId: string
  readonly requests: () => ReadonlyArray<RecordedModelRequest>
  readonly close: () => Promise<void>
}

/** Starts the server without Effect, for scripts; call `close()` to stop it. */
export const startFakeModel = async (options: FakeModelOptions = {}): Promise<RunningFakeModel> => {
  const modelId = options.modelId ?? "echo"
  const reply = options.reply ?? defaultReply
  const recorded: Array<RecordedModelRequest> = []
  let chatIndex = 0

  const handle = async (request: Http.IncomingMessage, response: Http.ServerResponse) => {
    const body = await readText(request)
    const path = (request.url ?? "/").split("?")[0] ?? "/"
    const method = request.method ?? "GET"

    if (method === "GET" && (path === "/v1/models" || path === "/models")) {
      recorded.push({ method, path, body })
      return sendJson(response, 200, { object: "list", data: [{ id: modelId, object: "model", created: CREATED, owned_by: "fake" }] })
    }
    if (method !== "POST" || !(path === "/v1/chat/completions" || path === "/chat/completions")) {
      recorded.push({ method, path, body })
      return sendJson(response, 404, { error: { message: `fake model: no route for ${method} ${path}`, type: "not_found" } })
    }
    const decoded = decodeChatRequest(body)
    if (Either.isLeft(decoded)) {
      recorded.push({ method, path, body })
      return sendJson(response, 400, {
        error: { message: "fake model: the body is not a chat completion request with a messages array", type: "invalid_request_error" }
      })
    }
    const chat = decoded.right
    const userText = userTextOf(chat)
    const input: FakeModelReplyInput = {
      userText,
      spokenText: spokenTextOf(userText),
      images: imagesOf(chat),
      request: chat,
      index: chatIndex++
    }
    const answer = reply(input)
    const recordedReply = typeof answer === "string" ? answer : `tool call: ${answer.toolCall.name}`
    recorded.push({ method, path, body, chat, userText, spokenText: input.spokenText, reply: recordedReply })

    const delay = typeof options.delayMs === "function" ? options.delayMs(input) : options.delayMs ?? 0
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))

    const id = `chatcmpl-fake-${input.index}`
    if (chat.stream === true) {
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" })
      for (const chunk of streamChunks(modelId, id, answer)) response.write(`data: ${JSON.stringify(chunk)}\n\n`)
      response.end("data: [DONE]\n\n")
      return
    }
    sendJson(response, 200, completion(modelId, id, answer))
  }

  const server = Http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: { message: `fake model: ${String(error)}`, type: "server_error" } })
      else response.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    modelId,
    requests: () => [...recorded],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** The fake model as a scoped resource: it stops when the scope closes. */
export const makeFakeModel = (options: FakeModelOptions = {}) =>
  Effect.gen(function*() {
    const running = yield* Effect.acquireRelease(
      Effect.promise(() => startFakeModel(options)),
      (model) => Effect.promise(() => model.close())
    )
    const fakeModel: FakeModel = {
      port: running.port,
      baseUrl: running.baseUrl,
      modelId: running.modelId,
      requests: Effect.sync(() => running.requests()),
      chatRequests: Effect.sync(() => running.requests().filter((request) => request.chat !== undefined))
    }
    return fakeModel
  })
