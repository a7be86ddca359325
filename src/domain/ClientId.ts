/**
 * The `client_id` of an outbound message (PROTOCOL §5.3): `openclaw-weixin:<epoch ms>-<8 lowercase hex>`.
 * The format matches the official plugin so the server and log readers see familiar ids; time and
 * randomness come from `Clock` and `Random`, so tests can pin both.
 */
import { Clock, Effect, Random } from "effect"

export const CLIENT_ID_PREFIX = "openclaw-weixin:"

const hex4 = Random.nextIntBetween(0, 0x10000).pipe(Effect.map((n) => n.toString(16).padStart(4, "0")))

export const makeClientId: Effect.Effect<string> = Effect.gen(function*() {
  const millis = yield* Clock.currentTimeMillis
  const high = yield* hex4
  const low = yield* hex4
  return `${CLIENT_ID_PREFIX}${millis}-${high}${low}`
})

/** Recognises ids made by {@link makeClientId} (ours or the official plugin's). */
export const CLIENT_ID_PATTERN = /^openclaw-weixin:\d+-[0-9a-f]{8}$/
