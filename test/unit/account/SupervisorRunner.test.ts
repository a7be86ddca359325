/**
 * AccountActorRunner: accounts that can never run (no stored token, a base URL that can never work) are
 * parked as AuthExpired with the reason, instead of crash-looping. Real state stores on a temp dir; no
 * request is ever made, so no server is needed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Layer, Option, Redacted } from "effect"
import { AccountActorRunner, Supervisor, SupervisorSettingsTag } from "../../../src/account/Supervisor.js"
import { ILinkApi } from "../../../src/ilink/ILinkApi.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { State } from "../../../src/state/State.js"
import { makeRecordingHost, makeTempDir, waitUntil } from "../../support/actorHarness.js"

const world = Effect.gen(function*() {
  const dir = yield* makeTempDir("ocw-runner-")
  const host = yield* makeRecordingHost()
  const base = Layer.mergeAll(ILinkApi.Default, State.layerAt(dir), host.layer)
  const supervisorLayer = Supervisor.Default.pipe(
    Layer.provide(AccountActorRunner()),
    Layer.provide(
      Layer.succeed(SupervisorSettingsTag, { restartBaseMs: 10, restartCapMs: 10, stableAfterMs: 1_000, jitter: false })
    )
  )
  const context = yield* Layer.build(Layer.provideMerge(supervisorLayer, base))
  return yield* Effect.all([Supervisor, AccountStore]).pipe(Effect.provide(context))
})

const parkedReason = (supervisor: Supervisor, id: string) =>
  Effect.map(supervisor.snapshot, (all) =>
    Option.flatMap(HashMap.get(all, id), (status) =>
      status.phase._tag === "AuthExpired" ? Option.some(status.phase.reason) : Option.none()))

describe("AccountActorRunner", () => {
  it.live("parks an account without stored credentials, telling to log in", () =>
    Effect.scoped(Effect.gen(function*() {
      const [supervisor] = yield* world
      yield* supervisor.start("ghost-im-bot")
      yield* waitUntil(Effect.map(parkedReason(supervisor, "ghost-im-bot"), Option.isSome), "ghost parked")
      yield* waitUntil(Effect.map(supervisor.isRunning("ghost-im-bot"), (running) => !running), "ghost stopped")
      expect(Option.getOrThrow(yield* parkedReason(supervisor, "ghost-im-bot"))).toMatch(
        /no credentials.*openclaw channels login --channel openclaw-weixin/
      )
    })))

  it.live("parks an account whose stored base URL can never work, naming the value", () =>
    Effect.scoped(Effect.gen(function*() {
      const [supervisor, store] = yield* world
      yield* store.save("bad-im-bot", { token: Redacted.make("t"), baseUrl: "ftp://nowhere.example" })
      yield* supervisor.start("bad-im-bot")
      yield* waitUntil(Effect.map(parkedReason(supervisor, "bad-im-bot"), Option.isSome), "bad parked")
      expect(Option.getOrThrow(yield* parkedReason(supervisor, "bad-im-bot"))).toMatch(/ftp:\/\/nowhere\.example/)
    })))
})
