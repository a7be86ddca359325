import { Effect, Either } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { modelArgument, userModelConfig } from "../../sandbox/userModel.js"

let home = ""

beforeEach(async () => {
  home = await Fs.mkdtemp(Path.join(Os.tmpdir(), "phone-user-model-"))
})

afterEach(async () => {
  await Fs.rm(home, { recursive: true, force: true })
})

const writeConfig = async (text: string) => {
  await Fs.mkdir(Path.join(home, ".openclaw"), { recursive: true })
  await Fs.writeFile(Path.join(home, ".openclaw", "openclaw.json"), text)
}

const derive = (ref: string, env: Record<string, string> = {}) => Effect.runPromise(Effect.either(userModelConfig(ref, home, env)))

const errorOf = async (ref: string, env: Record<string, string> = {}) => {
  const result = await derive(ref, env)
  if (Either.isRight(result)) throw new Error(`expected a failure for ${ref}`)
  return result.left.message
}

const openrouter = {
  baseUrl: "https://openrouter.ai/api/v1",
  apiKey: "${OPENROUTER_API_KEY}",
  api: "openai-completions",
  models: [{ id: "anthropic/claude-sonnet-4", name: "Claude Sonnet 4", input: ["text", "image"] }, { id: "openai/gpt-4.1-mini" }]
}

describe("npm start -- --model: the user's own model config", () => {
  it("reads --model <ref> and --model=<ref>", () => {
    expect(modelArgument(["--model", "local/qwen"])).toBe("local/qwen")
    expect(modelArgument(["--terminal", "--model=local/qwen"])).toBe("local/qwen")
    expect(modelArgument(["--terminal"])).toBeUndefined()
    expect(modelArgument(["--model"])).toBe("")
  })

  it("copies the model's provider entry and makes it the agent's model, with the environment variables it names", async () => {
    // a JSON5 file, as a user may write it by hand
    await writeConfig(`{
      // my providers
      models: { providers: { openrouter: ${JSON.stringify(openrouter)}, other: { baseUrl: "http://x", models: [] } } },
      agents: { defaults: { model: { primary: "openrouter/openai/gpt-4.1-mini" } } },
    }`)
    const result = await derive("openrouter/anthropic/claude-sonnet-4", { OPENROUTER_API_KEY: "sk-test", UNRELATED_API_KEY: "no" })
    expect(Either.isRight(result)).toBe(true)
    const model = Either.getOrThrow(result)
    expect(model.configFile).toBe(Path.join(home, ".openclaw", "openclaw.json"))
    expect(model.configPatch).toEqual({
      models: { providers: { openrouter } },
      agents: { defaults: { model: { primary: "openrouter/anthropic/claude-sonnet-4" } } }
    })
    expect(model.env).toEqual({ OPENROUTER_API_KEY: "sk-test" })
  })

  it("says where it looked when there is no OpenClaw config", async () => {
    expect(await errorOf("openrouter/openai/gpt-4.1-mini")).toBe(
      `--model openrouter/openai/gpt-4.1-mini: no OpenClaw config at ${Path.join(home, ".openclaw", "openclaw.json")}; set up the model in your own OpenClaw first (openclaw onboard)`
    )
  })

  it("names the providers and models there are when the one asked for is absent", async () => {
    await writeConfig(JSON.stringify({ models: { providers: { openrouter } } }))
    expect(await errorOf("ollama/llama3", { OPENROUTER_API_KEY: "k" })).toContain(`has no provider "ollama" under models.providers (it has: openrouter)`)
    expect(await errorOf("openrouter/gpt-5", { OPENROUTER_API_KEY: "k" })).toContain(
      `provider "openrouter" in ${Path.join(home, ".openclaw", "openclaw.json")} lists no model "gpt-5" (it lists: anthropic/claude-sonnet-4, openai/gpt-4.1-mini)`
    )
  })

  it("refuses a ref without a provider or a model, a file that is not JSON5, and a key variable that is not set", async () => {
    expect(await errorOf("gpt-4.1")).toContain("--model wants <provider>/<model>")
    expect(await errorOf("openrouter/")).toContain("--model wants <provider>/<model>")
    await writeConfig("{ models: ")
    expect(await errorOf("openrouter/openai/gpt-4.1-mini")).toContain("is not valid JSON5")
    await writeConfig(JSON.stringify({ models: { providers: { openrouter } } }))
    expect(await errorOf("openrouter/openai/gpt-4.1-mini")).toBe(
      `--model openrouter/openai/gpt-4.1-mini: provider "openrouter" needs the environment variable OPENROUTER_API_KEY, which is not set`
    )
  })
})
