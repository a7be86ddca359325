/**
 * Normalising the target of an outbound message (PROTOCOL §4, Appendix C).
 *
 * Hosts and users hand us targets like `openclaw-weixin:user:o9cq8Abc@im.wechat`. The server wants the bare
 * id in its original case (a different case gets `ret=-3`), while lookups (context tokens, pairing) must
 * not miss because of case or prefixes. So a normalised peer carries both: `id` to send, `key` to look up.
 *
 * @example
 * ```ts
 * normalizePeerId(" user:o9cq8Abc@im.wechat ") // Either.right({ id: "o9cq8Abc@im.wechat", key: "o9cq8abc@im.wechat" })
 * ```
 */
import { type Brand, Either, Schema } from "effect"

/** The lowercase form of a peer id, for map keys and comparisons only; never sent. Made only here. */
export type PeerKey = string & Brand.Brand<"PeerKey">

/**
 * One WeChat user as the channel knows it: made once where an id enters (the Inbox for inbound messages,
 * the outbound adapter for a host's target) and passed along as is, never normalised again.
 */
export interface Peer {
  /** the id exactly as the server knows it (original case, no prefixes) */
  readonly id: string
  readonly key: PeerKey
}

/** @deprecated the old name of {@link Peer} */
export type NormalizedPeerId = Peer

export class EmptyPeerIdError extends Schema.TaggedError<EmptyPeerIdError>()("EmptyPeerIdError", {
  /** the target as received, for the log line */
  raw: Schema.String
}) {
  override get message(): string {
    return `the message target ${JSON.stringify(this.raw)} names no WeChat user; ` +
      "use the sender id of an inbound message (it ends in @im.wechat)"
  }
}

/** Prefixes the host or a user may put in front of the id; each may appear once, in any case and order. */
const TARGET_PREFIX = /^(?:openclaw-weixin|user):/i

export const normalizePeerId = (raw: string): Either.Either<Peer, EmptyPeerIdError> => {
  let id = raw.trim()
  for (let match = TARGET_PREFIX.exec(id); match !== null; match = TARGET_PREFIX.exec(id)) {
    id = id.slice(match[0].length).trim()
  }
  if (id.length === 0) return Either.left(new EmptyPeerIdError({ raw }))
  return Either.right({ id, key: id.toLowerCase() as PeerKey })
}

const WEIXIN_USER_SUFFIX = "@im.wechat"

/** True when the target, once normalised, is a WeChat user id (`…@im.wechat`, any case). */
export const looksLikeWeixinUserId = (raw: string): boolean =>
  Either.match(normalizePeerId(raw), {
    onLeft: () => false,
    onRight: ({ key }) => key.endsWith(WEIXIN_USER_SUFFIX)
  })
