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
import { Chunk, Clock, Duration, Effect, Option, Stream } from "effect"

export interface IdleBodyOptions<E> {
  /** the longest wait for a chunk */
  readonly idle: Duration.DurationInput
  /** the error when a read waited `idle` */
  readonly onIdle: () => E
  /** the error when the body broke off */
  readonly onError: (cause: unknown) => E
  /**
   * bytes to gather in one pull (several reads in one stream chunk), asked before each pull; absent: one
   * read per pull
   */
  readonly batchBytes?: (() => number) | undefined
}

/** How a read ended without a chunk: the body's end, or a failure, made when it is raised (see `pull`). */
type End<E> = Option.Option<() => E>
type Resume<E> = (effect: Effect.Effect<Option.Option<Uint8Array>, End<E>>) => void

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
      Effect.async<Option.Option<Uint8Array>, End<E>>((resume) => {
        const current = { since, resume }
        waiting = current
        const settle = (effect: Effect.Effect<Option.Option<Uint8Array>, End<E>>) => {
          if (waiting !== current) return
          waiting = undefined
          resume(effect)
        }
        reader.read().then(
          (result) => settle(Effect.succeed(result.done ? Option.none() : Option.some(result.value))),
          (cause: unknown) => settle(Effect.fail(Option.some(() => options.onError(cause))))
        )
      })

    yield* Effect.forkScoped(Effect.gen(function*() {
      while (!ended) {
        const now = yield* Clock.currentTimeMillis
        const current = waiting
        if (current !== undefined && now - current.since >= idleMs) {
          waiting = undefined
          return current.resume(Effect.fail(Option.some(options.onIdle)))
        }
        yield* Effect.sleep(Duration.millis(current === undefined ? idleMs : idleMs - (now - current.since)))
      }
    }))

    const readOne = Effect.flatMap(Clock.currentTimeMillis, read)
    // One pull reads until the batch is full (or the body ends): the stream's per-pull work is paid once
    // per batch, not once per socket read. A failure after some reads ends the batch and is raised by the
    // next pull, its error made then, once the consumer has counted the batch.
    let bodyEnd: End<E> | undefined
    const raise = (end: End<E>) => Effect.fail(Option.map(end, (make) => make()))
    const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>> = Effect.suspend(() => {
      if (bodyEnd !== undefined) return raise(bodyEnd)
      const limit = Math.max(1, options.batchBytes?.() ?? 0)
      const batch: Array<Uint8Array> = []
      let bytes = 0
      const done = (end: End<E>) => {
        if (batch.length === 0) return raise(end)
        bodyEnd = end
        return Effect.succeed(Chunk.unsafeFromArray(batch))
      }
      const more: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>> = readOne.pipe(
        Effect.matchEffect({
          onFailure: done,
          onSuccess: (next) => {
            if (Option.isNone(next)) return done(Option.none())
            batch.push(next.value)
            bytes += next.value.byteLength
            return bytes >= limit ? Effect.succeed(Chunk.unsafeFromArray(batch)) : more
          }
        })
      )
      return more
    })
    return Stream.repeatEffectChunkOption(pull)
  }))
