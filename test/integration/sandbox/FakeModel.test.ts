/** The fake OpenAI-compatible model over real HTTP on 127.0.0.1. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFakeModel, spokenTextOf } from "../../../sandbox/fakeModel.js"

const post = (url: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    return { status: response.status, type: response.headers.get("content-type") ?? "", text: await response.text() }
  })

const internalContext = {
  role: "user",
  content: [{ type: "text", text: "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nstuff\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>" }]
}

describe("fake model", () => {
  it.scopedLive("streams an echo of the last real user message as SSE chunks ending in [DONE]", () =>
    Effect.gen(function*() {
      const model = yield* makeFakeModel({ modelId: "echo" })
      const response = yield* post(`${model.baseUrl}/chat/completions`, {
        model: "echo",
        stream: true,
        messages: [
          { role: "system", content: "be nice" },
          { role: "user", content: "old question" },
          { role: "user", content: "[Tue 2026-11-24 01:29 UTC] hello there\n\nRuntime: agent=main | model=fake/echo" },
          internalContext
        ]
      })
      expect(response.status).toBe(200)
      expect(response.type).toContain("text/event-stream")
      const events = response.text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6))
      expect(events.at(-1)).toBe("[DONE]")
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { object: string; choices: Array<{ delta: { content?: string } }> })
      expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true)
      expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("echo: hello there")
      const [recorded] = yield* model.chatRequests
      expect(recorded?.spokenText).toBe("hello there")
    }))

  it.scopedLive("answers a non-stream request with one completion from the scripted reply, and lists the model", () =>
    Effect.gen(function*() {
      const model = yield* makeFakeModel({ modelId: "m1", reply: ({ spokenText, index }) => `#${index} ${spokenText.toUpperCase()}` })
      const response = yield* post(`${model.baseUrl}/chat/completions`, {
        model: "m1",
        messages: [{ role: "user", content: [{ type: "text", text: "parts work" }] }]
      })
      const body = JSON.parse(response.text) as { object: string; choices: Array<{ message: { content: string } }> }
      expect(body.object).toBe("chat.completion")
      expect(body.choices[0]?.message.content).toBe("#0 PARTS WORK")
      const models = yield* Effect.promise(() => fetch(`${model.baseUrl}/models`).then((r) => r.json()))
      expect(models).toEqual({ object: "list", data: [expect.objectContaining({ id: "m1" })] })
    }))

  it.scopedLive("answers with a tool call when the reply asks for one, streamed and not, finishing with tool_calls", () =>
    Effect.gen(function*() {
      const model = yield* makeFakeModel({ reply: () => ({ toolCall: { name: "ls", arguments: { path: "." } } }) })
      const streamed = yield* post(`${model.baseUrl}/chat/completions`, { stream: true, messages: [{ role: "user", content: "look" }] })
      const chunks = streamed.text.split("\n\n").filter((e) => e.startsWith("data: ") && e !== "data: [DONE]").map((e) =>
        JSON.parse(e.slice(6)) as { choices: Array<{ delta: { tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> }; finish_reason: string | null }> }
      )
      const call = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])
      expect(call.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([["ls", { path: "." }]])
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls")
      const whole = JSON.parse((yield* post(`${model.baseUrl}/chat/completions`, { messages: [{ role: "user", content: "look" }] })).text)
      expect(whole.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { content: null, tool_calls: [{ type: "function", function: { name: "ls" } }] } })
      expect((yield* model.chatRequests).map((r) => r.reply)).toEqual(["tool call: ls", "tool call: ls"])
    }))

  it.scopedLive("rejects a body without messages with a 400 that says what is wrong, and keeps serving", () =>
    Effect.gen(function*() {
      const model = yield* makeFakeModel()
      const bad = yield* post(`${model.baseUrl}/chat/completions`, { prompt: "legacy" })
      expect(bad.status).toBe(400)
      expect(bad.text).toContain("messages")
      const good = yield* post(`${model.baseUrl}/chat/completions`, { messages: [{ role: "user", content: "still here" }] })
      expect(good.status).toBe(200)
      expect((yield* model.requests).map((r) => r.path)).toEqual(["/v1/chat/completions", "/v1/chat/completions"])
    }))

  it("strips only the host's envelope and runtime paragraph from the user text", () => {
    expect(spokenTextOf("[e2e-stub alice Tue 01:29] hi [not an envelope]")).toBe("hi [not an envelope]")
    expect(spokenTextOf("plain")).toBe("plain")
    expect(spokenTextOf("[x] two\n\nparagraphs\n\nRuntime: a | b")).toBe("two\n\nparagraphs")
  })
})
