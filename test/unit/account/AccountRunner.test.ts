/**
 * The production AccountRunner under the Supervisor, in virtual time: each terminal state parks the
 * account with what to do and never restarts it in a loop, and a saved login resumes it with the new
 * token. Real state stores on a temp dir; a scripted ILinkApi (no server).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, HashMap, Layer, Option, Queue, Redacted, Ref, Stream, TestClock } from "effect"
import { AgentTurns } from "../../../src/account/AgentTurns.js"
import type { HostBinding } from "../../../src/account/AccountRunner.js"
import { Supervisor } from "../../../src/account/Supervisor.js"
import { TestAgentTurns } from "../../../src/account/TestAgentTurns.js"
import { defaultChannelConfig } from "../../../src/config/ChannelConfig.js"
import { AccountStore } from "../../../src/state/AccountStore.js"
import { State } from "../../../src/state/State.js"
import { AuthExpired } from "../../../src/wire/ILinkError.js"
import { waitUntil } from "../../../sandbox/gateway/waitUntil.js"
import { makeTempDir, makeTestApi } from "../../support/actorHarness.js"
import { InboundMediaStore } from "../../../src/account/InboundMediaStore.js"

const world = Effect.gen(function*() {
  const dir = yield* makeTempDir("ocw-runner-")
  const api = yield* makeTestApi
  const host = yield* TestAgentTurns.make()
  const base = Layer.mergeAll(api.layer, State.layerAt(dir), Layer.succeed(AgentTurns, host), InboundMediaStore.layerMemory)
  const context = yield* Layer.build(Layer.provideMerge(Supervisor.layer, base))
  const [supervisor, store] = yield* Effect.all([Supervisor, AccountStore]).pipe(Effect.provide(context))
  const binding: HostBinding = { turns: host, config: defaultChannelConfig }
  /** every phase the account published, in order */
  const phases = (id: string) =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      yield* supervisor.changes.pipe(
        Stream.filterMap((all) => HashMap.get(all, id)),
        Stream.map((status) => status.phase._tag),
        Stream.changes,
        Stream.runForEach((phase) => Effect.sync(() => void seen.push(phase))),
        Effect.forkScoped
      )
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      return seen
    })
  const reasonOf = (id: string) =>
    Effect.map(supervisor.status(id), (status) =>
      Option.getOrUndefined(Option.map(status, (s) => (s.phase._tag === "Starting" || s.phase._tag === "Running" ? undefined : s.phase))))
  return { api, supervisor, store, binding, phases, reasonOf }
})

describe("AccountRunner", () => {
  it.scoped("parks an account without stored credentials as NotLoggedIn, telling to log in, and never restarts it", () =>
    Effect.gen(function*() {
      const w = yield* world
      const seen = yield* w.phases("ghost-im-bot")
      yield* w.supervisor.start("ghost-im-bot", w.binding)
      yield* waitUntil("ghost parked", Effect.map(w.supervisor.isRunning("ghost-im-bot"), (running) => !running))
      yield* TestClock.adjust(Duration.hours(1))
      expect(seen).toEqual(["Starting", "NotLoggedIn"])
      const status = Option.getOrThrow(yield* w.supervisor.status("ghost-im-bot"))
      expect(status.phase._tag).toBe("NotLoggedIn")
      expect(yield* Ref.get(w.api.notifyStarts)).toBe(0)
    }))

  it.scoped("parks an account whose stored base URL can never work as BadConfig, naming the value, and never restarts it", () =>
    Effect.gen(function*() {
      const w = yield* world
      yield* w.store.save("bad-im-bot", { token: Redacted.make("t"), baseUrl: "ftp://nowhere.example" })
      const seen = yield* w.phases("bad-im-bot")
      yield* w.supervisor.start("bad-im-bot", w.binding)
      yield* waitUntil("bad parked", Effect.map(w.supervisor.isRunning("bad-im-bot"), (running) => !running))
      yield* TestClock.adjust(Duration.hours(1))
      expect(seen).toEqual(["Starting", "BadConfig"])
      const phase = yield* w.reasonOf("bad-im-bot")
      expect(phase?._tag === "BadConfig" && phase.reason).toMatch(/ftp:\/\/nowhere\.example/)
    }))

  it.scoped("parks an account whose session expired as AuthExpired, polls no more, and resumes with the new token after a login", () =>
    Effect.gen(function*() {
      const w = yield* world
      yield* w.store.save("x-im-bot", { token: Redacted.make("old-token"), baseUrl: "http://127.0.0.1:9/" })
      const seen = yield* w.phases("x-im-bot")
      yield* w.supervisor.start("x-im-bot", w.binding)
      yield* waitUntil("the first poll", Ref.get(w.api.pollTokens), (tokens) => tokens.length === 1)
      yield* Queue.offer(w.api.poll.script, {
        fail: new AuthExpired({ endpoint: "ilink/bot/getupdates", reachedServer: "yes", ret: -14 })
      })
      yield* waitUntil("x parked", Effect.map(w.supervisor.isRunning("x-im-bot"), (running) => !running))
      yield* TestClock.adjust(Duration.hours(3))
      expect(seen).toEqual(["Starting", "AuthExpired"])
      expect(yield* Ref.get(w.api.notifyStarts)).toBe(1)
      expect(yield* Ref.get(w.api.pollTokens)).toEqual(["old-token"])

      // a new login is saved: the Supervisor runs it again with the binding it kept and the new token
      yield* w.store.save("x-im-bot", { token: Redacted.make("new-token"), baseUrl: "http://127.0.0.1:9/" })
      expect(yield* w.supervisor.loginSaved("x-im-bot")).toBe("restarted")
      yield* waitUntil("a poll with the new token", Ref.get(w.api.pollTokens), (tokens) => tokens.length === 2)
      expect(yield* Ref.get(w.api.pollTokens)).toEqual(["old-token", "new-token"])
      expect(yield* Ref.get(w.api.notifyStarts)).toBe(2)
      expect(seen.slice(2)).toEqual(["Starting"])
    }))
})
