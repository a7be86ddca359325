/**
 * The host config an offline e2e gateway starts from (docs/HOST-NOTES.md "Running the harness"): every outbound feature of
 * the host off, one local model provider, a loopback gateway with token auth.
 */
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import { HarnessSetupError } from "./HarnessError.js"

export interface ModelEndpoint {
  /** e.g. `http://127.0.0.1:<port>/v1` */
  readonly baseUrl: string
  readonly modelId: string
  /** what the model accepts (default text only); a model sees inbound pictures only with "image" */
  readonly input?: ReadonlyArray<"text" | "image">
}

export interface BaseConfigInput {
  readonly gatewayPort: number
  readonly gatewayToken: string
  readonly model: ModelEndpoint
  readonly logFile: string
}

export const FAKE_PROVIDER_ID = "fake"

export const baseGatewayConfig = (input: BaseConfigInput) => ({
  update: { checkOnStart: false },
  discovery: { mdns: { mode: "off" } },
  // keeps the host's own log out of the shared /tmp/openclaw/ directory
  logging: { file: input.logFile },
  models: {
    mode: "merge",
    catalogRefresh: { enabled: false },
    providers: {
      [FAKE_PROVIDER_ID]: {
        baseUrl: input.model.baseUrl,
        apiKey: "fake-key",
        api: "openai-completions",
        models: [{
          id: input.model.modelId,
          name: input.model.modelId,
          reasoning: false,
          input: input.model.input ?? ["text"],
          cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
          contextWindow: 128_000,
          maxTokens: 4096
        }]
      }
    }
  },
  agents: { defaults: { model: { primary: `${FAKE_PROVIDER_ID}/${input.model.modelId}` } } },
  gateway: {
    mode: "local",
    port: input.gatewayPort,
    bind: "loopback",
    auth: { mode: "token", token: input.gatewayToken }
  }
})

/** Writes a JSON file with owner-only permissions (the config holds the gateway token). */
export const writeJsonFile = (path: string, value: unknown, step: string) =>
  Effect.tryPromise({
    try: () => Fs.writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 }),
    catch: (error) => new HarnessSetupError({ step, message: `could not write ${path}: ${String(error)}` })
  })
