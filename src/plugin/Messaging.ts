/**
 * `messaging`: how the host turns a user-typed target into a WeChat user id. Prefixes (`user:`,
 * `openclaw-weixin:`) and surrounding spaces are dropped; the id keeps its case, because the server
 * rejects a re-cased id (src/domain/PeerId.ts). Ids ending in `@im.wechat` are taken as ids without a
 * directory lookup (there is no directory of WeChat users).
 */
import { Either } from "effect"
import { looksLikeWeixinUserId, normalizePeerId } from "../domain/PeerId.js"
import type { WeixinMessagingAdapter } from "./SdkTypes.js"

export const normalizeTarget = (raw: string): string | undefined =>
  Either.match(normalizePeerId(raw), { onLeft: () => undefined, onRight: (peer) => peer.id })

export const messagingAdapter: WeixinMessagingAdapter = {
  normalizeTarget,
  targetResolver: {
    looksLikeId: (raw, normalized) => looksLikeWeixinUserId(normalized ?? raw),
    hint: "a WeChat user id such as o9cq8abc@im.wechat (the sender id of a message the user sent the bot)"
  }
}
