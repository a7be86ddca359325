/**
 * `npm start -- --model <provider/model>`: the sandbox gateway talks to a model of the user's own OpenClaw
 * install instead of the fake model. The provider's entry is copied from `models.providers` of
 * `~/.openclaw/openclaw.json` into the sandbox gateway's config, and the agent's model is set to it.
 *
 * What is copied is that one provider entry (base URL, API style, key, model list). An API key written
 * there as `${VAR}` needs VAR in the environment of `npm start`: it is passed to the gateway (the sandbox
 * gives the gateway a clean environment otherwise). Keys kept in OpenClaw's auth profiles are not copied.
 * The gateway then runs without the loopback-only network namespace, since it must reach the provider.
 */
import { Data, Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import JSON5 from "json5"

export class UserModelError extends Data.TaggedError("UserModelError")<{ readonly message: string }> {}

export interface UserModel {
  /** `provider/model`, as the agent's model setting names it */
  readonly ref: string
  readonly configFile: string
  /** merged into the sandbox gateway's config */
  readonly configPatch: {
    readonly models: { readonly providers: Record<string, unknown> }
    readonly agents: { readonly defaults: { readonly model: { readonly primary: string } } }
  }
  /** the environment variables the provider entry names (`${VAR}`), from the caller's environment */
  readonly env: Readonly<Record<string, string>>
}

/** `--model <ref>` or `--model=<ref>` in the arguments; undefined when absent. */
export const modelArgument = (argv: ReadonlyArray<string>): string | undefined => {
  const index = argv.findIndex((arg) => arg === "--model" || arg.startsWith("--model="))
  if (index < 0) return undefined
  const arg = argv[index] ?? ""
  return arg.startsWith("--model=") ? arg.slice("--model=".length) : argv[index + 1] ?? ""
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/** The names of the `${VAR}` references anywhere in `value`. */
const envReferences = (value: unknown): ReadonlyArray<string> => {
  if (typeof value === "string") return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] ?? "")
  if (Array.isArray(value)) return value.flatMap(envReferences)
  if (isRecord(value)) return Object.values(value).flatMap(envReferences)
  return []
}

/**
 * Reads `<home>/.openclaw/openclaw.json` and derives the sandbox gateway's model config for `ref`
 * (`provider/model`; the model id may itself hold slashes). Fails with a message that says what to fix.
 */
export const userModelConfig = (
  ref: string,
  home: string,
  environment: Readonly<Record<string, string | undefined>>
): Effect.Effect<UserModel, UserModelError> =>
  Effect.gen(function*() {
    const slash = ref.indexOf("/")
    if (slash <= 0 || slash === ref.length - 1) {
      return yield* new UserModelError({ message: `--model wants <provider>/<model>, e.g. openai/gpt-4.1-mini; got ${JSON.stringify(ref)}` })
    }
    const providerId = ref.slice(0, slash)
    const modelId = ref.slice(slash + 1)
    const configFile = Path.join(home, ".openclaw", "openclaw.json")
    const text = yield* Effect.tryPromise({
      try: () => Fs.readFile(configFile, "utf8"),
      catch: () =>
        new UserModelError({
          message: `--model ${ref}: no OpenClaw config at ${configFile}; set up the model in your own OpenClaw first (openclaw onboard)`
        })
    })
    const config = yield* Effect.try({
      try: (): unknown => JSON5.parse(text),
      catch: (error) => new UserModelError({ message: `--model ${ref}: ${configFile} is not valid JSON5: ${error instanceof Error ? error.message : String(error)}` })
    })
    const models = isRecord(config) ? config["models"] : undefined
    const providers = isRecord(models) && isRecord(models["providers"]) ? models["providers"] : {}
    const provider = providers[providerId]
    if (!isRecord(provider)) {
      const known = Object.keys(providers)
      return yield* new UserModelError({
        message: `--model ${ref}: ${configFile} has no provider "${providerId}" under models.providers` +
          (known.length === 0 ? " (it has none)" : ` (it has: ${known.join(", ")})`)
      })
    }
    const listed = Array.isArray(provider["models"])
      ? provider["models"].flatMap((model) => (isRecord(model) && typeof model["id"] === "string" ? [model["id"]] : []))
      : []
    if (!listed.includes(modelId)) {
      return yield* new UserModelError({
        message: `--model ${ref}: provider "${providerId}" in ${configFile} lists no model "${modelId}"` +
          (listed.length === 0 ? " (it lists none)" : ` (it lists: ${listed.join(", ")})`)
      })
    }
    const env: Record<string, string> = {}
    for (const name of envReferences(provider)) {
      const value = environment[name]
      if (value === undefined || value === "") {
        return yield* new UserModelError({ message: `--model ${ref}: provider "${providerId}" needs the environment variable ${name}, which is not set` })
      }
      env[name] = value
    }
    return {
      ref,
      configFile,
      configPatch: { models: { providers: { [providerId]: provider } }, agents: { defaults: { model: { primary: ref } } } },
      env
    }
  })

/** The user's model when `npm start` was given `--model`, else undefined (the fake model answers). */
export const userModelFromArgs = (argv: ReadonlyArray<string>): Effect.Effect<UserModel | undefined, UserModelError> => {
  const ref = modelArgument(argv)
  return ref === undefined ? Effect.succeed(undefined) : userModelConfig(ref, Os.homedir(), process.env)
}

/** What the sandbox needs to run the gateway on the user's model. */
export const sandboxOptionsFor = (model: UserModel, hostConfig: Record<string, unknown>) => ({
  hostConfig: { ...hostConfig, ...model.configPatch },
  gatewayEnv: model.env,
  // a loopback-only namespace would keep the gateway from reaching the provider
  netns: "off" as const
})

/** The line `npm start` prints about the model. */
export const userModelLine = (model: UserModel) => `  model         ${model.ref} (your provider config, from ${model.configFile})`
