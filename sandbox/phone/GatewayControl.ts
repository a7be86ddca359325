/**
 * The page's gateway controls: `openclaw channels status --probe` as the user would run it, and a
 * restart of the gateway (same state dir and config, as after a crash or an upgrade). Both take seconds
 * to tens of seconds, so they run in the background and the page polls a snapshot.
 *
 * They run as fibers of the sandbox's scope: Ctrl-C interrupts a restart halfway, and the gateway's own
 * finalizer then stops whichever gateway process is current.
 */
import { Effect, type Scope } from "effect"
import type { RunningGateway } from "../gateway/Gateway.js"

export interface GatewaySnapshot {
  /** the gateway process running now */
  readonly pid: number
  readonly restarting: boolean
  /** what the last restart ended with */
  readonly restart: string | null
  readonly checking: boolean
  /** the output of the last `openclaw channels status --probe` */
  readonly status: string | null
}

export interface GatewayControl {
  readonly snapshot: () => GatewaySnapshot
  readonly checkStatus: () => void
  readonly restart: () => void
}

export const makeGatewayControl = (gateway: RunningGateway): Effect.Effect<GatewayControl, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    let snapshot: GatewaySnapshot = { pid: gateway.pid, restarting: false, restart: null, checking: false, status: null }
    const update = (change: Partial<GatewaySnapshot>) => {
      snapshot = { ...snapshot, ...change }
    }
    const inBackground = (effect: Effect.Effect<void>) => void Effect.runFork(Effect.forkIn(effect, scope))

    const checkStatus = () => {
      if (snapshot.checking) return
      update({ checking: true })
      inBackground(
        gateway.cli(["channels", "status", "--probe"], { timeoutMs: 90_000 }).pipe(
          Effect.map((result) => (result.stdout + result.stderr).trim()),
          Effect.catchAll((error) => Effect.succeed(`openclaw channels status did not answer: ${error.message}`)),
          Effect.flatMap((status) => Effect.sync(() => update({ status }))),
          Effect.ensuring(Effect.sync(() => update({ checking: false })))
        )
      )
    }

    const restart = () => {
      if (snapshot.restarting) return
      update({ restarting: true })
      inBackground(
        gateway.restart.pipe(
          Effect.map((restarted) => {
            update({ pid: restarted.pid })
            return `restarted: the old gateway stopped in ${(restarted.stopped.durationMs / 1000).toFixed(1)} s, ` +
              `the new one (pid ${restarted.pid}) was ready in ${(restarted.readyMs / 1000).toFixed(1)} s`
          }),
          Effect.catchAll((error) => Effect.succeed(`the restart failed: ${error.message}`)),
          Effect.flatMap((text) => Effect.sync(() => update({ restart: text }))),
          Effect.ensuring(Effect.sync(() => update({ restarting: false })))
        )
      )
    }

    return { snapshot: () => snapshot, checkStatus, restart }
  })
