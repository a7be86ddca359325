/**
 * A response body read as a `Stream` that fails once it falls silent: `idle` after a read began with no
 * chunk in answer (CdnTimeouts "idle"), exactly then and not a moment earlier. Time the consumer spends not
 * reading (a slow disk) is not silence.
 *
 * Reads the web body's own reader, and one watchdog fiber sleeps per quiet period. The obvious
 * `Stream.timeoutFail` races a timer fiber against every read: a 100 MB body is some 1,600 socket reads,
 * and those timers cost more than decrypting the body (bench/media-in.ts).
 *
 * @example
 * ```ts
 * const body = idleBody(webBodyOf(response), {
 *   idle: timeouts.idle,
 *   onIdle: () => new CdnTimeout({ ... }),
 *   onError: (cause) => new CdnTruncated({ ... })
 * })
 * ```
 */
import { Clock, Duration, Effect, Option, Stream } from "effect"

export interface IdleBodyOptions<E> {
  /** the longest wait for a chunk */
  readonly idle: Duration.DurationInput
  /** the error when a read waited `idle` */
  readonly onIdle: () => E
  /** the error when the body broke off */
  readonly onError: (cause: unknown) => E
}

type Resume<E> = (effect: Effect.Effect<Option.Option<Uint8Array>, Option.Option<E>>) => void

export const idleBody = <E>(body: ReadableStream<Uint8Array> | null, options: IdleBodyOptions<E>): Stream.Stream<Uint8Array, E> =>
  body === null ? Stream.empty : Stream.unwrapScoped(Effect.gen(function*() {
    const idleMs = Duration.toMillis(Duration.decode(options.idle))
    const reader = body.getReader()
    // a read in flight: when it began, and how to answer it
    let waiting: { readonly since: number; readonly resume: Resume<E> } | undefined
    let ended = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        ended = true
        // settles a read still in flight; its answer is dropped
        reader.cancel().catch(() => undefined)
      })
    )

    const read = (since: number) =>
      Effect.async<Option.Option<Uint8Array>, Option.Option<E>>((resume) => {
        const current = { since, resume }
        waiting = current
        const settle = (effect: Effect.Effect<Option.Option<Uint8Array>, Option.Option<E>>) => {
          if (waiting !== current) return
          waiting = undefined
          resume(effect)
        }
        reader.read().then(
          (result) => settle(Effect.succeed(result.done ? Option.none() : Option.some(result.value))),
          (cause: unknown) => settle(Effect.fail(Option.some(options.onError(cause))))
        )
      })

    yield* Effect.forkScoped(Effect.gen(function*() {
      while (!ended) {
        const now = yield* Clock.currentTimeMillis
        const current = waiting
        if (current !== undefined && now - current.since >= idleMs) {
          waiting = undefined
          return current.resume(Effect.fail(Option.some(options.onIdle())))
        }
        yield* Effect.sleep(Duration.millis(current === undefined ? idleMs : idleMs - (now - current.since)))
      }
    }))

    const pull = Effect.flatMap(Clock.currentTimeMillis, read).pipe(
      Effect.flatMap(Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed }))
    )
    return Stream.repeatEffectOption(pull)
  }))
