import { describe, expect, it } from "@effect/vitest"
import { Effect, LogLevel, Redacted } from "effect"
import { hostLoggingLayer, hostLogLevel, LogSinks, redactText, SecretValues } from "../../../src/plugin/HostLogger.js"

const capture = () => {
  const lines: Array<string> = []
  const sink = {
    debug: (m: string) => void lines.push(`debug ${m}`),
    info: (m: string) => void lines.push(`info ${m}`),
    warn: (m: string) => void lines.push(`warn ${m}`),
    error: (m: string) => void lines.push(`error ${m}`)
  }
  return { lines, sink }
}

describe("redactText", () => {
  it("masks secret values in JSON, query strings and headers", () => {
    const text = [
      `{"bot_token":"bt-123","context_token": "ctx-456","text":"hello"}`,
      `url?typing_ticket=tt-789&x=1`,
      `Authorization: Bearer abc.def-ghi`,
      `{\\"aes_key\\":\\"k-000\\"} upload_param=up-111 aeskey=ak-222`
    ].join("\n")
    const out = redactText(text)
    for (const secret of ["bt-123", "ctx-456", "tt-789", "abc.def-ghi", "k-000", "up-111", "ak-222"]) {
      expect(out).not.toContain(secret)
    }
    expect(out).toContain(`"text":"hello"`)
    expect(out).toContain("x=1")
  })

  it("masks registered secret values wherever they appear", () => {
    const secrets = new SecretValues()
    secrets.remember("s3cr3t-token-value")
    secrets.remember("abc") // too short to mask safely; ignored
    expect(redactText("failed with s3cr3t-token-value in the middle", secrets)).toBe("failed with <redacted> in the middle")
    expect(redactText("abc", secrets)).toBe("abc")
  })
})

describe("host logger", () => {
  it.effect("routes lines to the account's sink by annotation, else to the plugin logger, by level", () => {
    const sinks = new LogSinks()
    const fallback = capture()
    const account = capture()
    sinks.fallback = fallback.sink
    sinks.bindAccount("a-im-bot", account.sink)
    return Effect.gen(function*() {
      yield* Effect.logInfo("plugin line")
      yield* Effect.logWarning("account line").pipe(Effect.annotateLogs({ accountId: "a-im-bot" }))
      yield* Effect.logError("other account").pipe(Effect.annotateLogs({ accountId: "b-im-bot" }))
      yield* Effect.logDebug("dropped below Info")
      expect(fallback.lines).toEqual(["info plugin line", "error [b-im-bot] other account"])
      expect(account.lines).toEqual(["warn [a-im-bot] account line"])
    }).pipe(Effect.provide(hostLoggingLayer(sinks, undefined, LogLevel.Info)))
  })

  it.effect("forwards debug lines when the level allows them", () => {
    const sinks = new LogSinks()
    const out = capture()
    sinks.fallback = out.sink
    return Effect.logDebug("detail").pipe(
      Effect.provide(hostLoggingLayer(sinks, undefined, LogLevel.Debug)),
      Effect.tap(() => expect(out.lines).toEqual(["debug detail"]))
    )
  })

  it("runs at the host's OPENCLAW_LOG_LEVEL: debug lets debug lines through; unset or unknown is info", () => {
    expect(hostLogLevel({ OPENCLAW_LOG_LEVEL: "debug" })).toBe(LogLevel.Debug)
    expect(hostLogLevel({ OPENCLAW_LOG_LEVEL: " TRACE " })).toBe(LogLevel.Trace)
    expect(hostLogLevel({ OPENCLAW_LOG_LEVEL: "warn" })).toBe(LogLevel.Warning)
    expect(hostLogLevel({ OPENCLAW_LOG_LEVEL: "silent" })).toBe(LogLevel.None)
    expect(hostLogLevel({ OPENCLAW_LOG_LEVEL: "loud" })).toBe(LogLevel.Info)
    expect(hostLogLevel({})).toBe(LogLevel.Info)
  })

  it.effect("without a level given, takes it from OPENCLAW_LOG_LEVEL", () => {
    const sinks = new LogSinks()
    const out = capture()
    sinks.fallback = out.sink
    const before = process.env["OPENCLAW_LOG_LEVEL"]
    process.env["OPENCLAW_LOG_LEVEL"] = "debug"
    const layer = hostLoggingLayer(sinks)
    if (before === undefined) delete process.env["OPENCLAW_LOG_LEVEL"]
    else process.env["OPENCLAW_LOG_LEVEL"] = before
    return Effect.logDebug("detail").pipe(
      Effect.provide(layer),
      Effect.tap(() => expect(out.lines).toEqual(["debug detail"]))
    )
  })

  it.effect("redacts messages and annotations, and masks secret-named annotations whole", () =>
    Effect.gen(function*() {
      const out = capture()
      const sinks = new LogSinks()
      sinks.fallback = out.sink
      yield* Effect.logInfo(`request body {"context_token":"ctx-secret-1"}`, Redacted.make("never-shown")).pipe(
        Effect.annotateLogs({ token: "tok-secret-2", peer: "u@im.wechat", note: "Bearer tok-secret-3" }),
        Effect.provide(hostLoggingLayer(sinks))
      )
      const line = out.lines.join("\n")
      for (const secret of ["ctx-secret-1", "never-shown", "tok-secret-2", "tok-secret-3"]) expect(line).not.toContain(secret)
      expect(line).toContain("peer=u@im.wechat")
    }))
})

