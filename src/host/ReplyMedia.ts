/**
 * The media of an agent's reply (`mediaUrl` / `mediaUrls`; the host also fills them from a standalone
 * `MEDIA:` line and, with `extractMarkdownImages`, from markdown images): loaded with the routed agent's
 * roots and the account's cap, then sent through the reply channel after the caption (PROTOCOL §5.1).
 *
 * Nothing the agent wrote is lost over a bad file: a file that cannot be loaded is left out, a batch that
 * cannot be uploaded falls back to the caption alone, and either way the log says why and the WeChat user
 * gets one short notice, at most one per peer per `NOTICE_INTERVAL` so a failing agent cannot flood them.
 */
import { Clock, Duration, Effect, Either } from "effect"
import type { InboundTurn, ReplyChannel } from "../account/AgentTurns.js"
import type { OutboundMedia } from "../account/OutboundMedia.js"
import type { OutboxError, Receipt } from "../account/Receipt.js"
import type { PeerKey } from "../domain/PeerId.js"
import type { MediaLoaderService } from "./MediaLoader.js"

/** What the user reads when a file of a reply could not be sent. */
export const MEDIA_FAILURE_NOTICE = "[文件发送失败 / A file in this reply could not be sent]"

/** What the user reads when a text of a reply was refused by WeChat (ChannelAgentTurns.ts decides when). */
export const REPLY_FAILURE_NOTICE = "[回复发送失败，请重发一次 / A reply could not be delivered; please send your message again]"

/** At most one notice per peer in this interval. */
export const NOTICE_INTERVAL = Duration.minutes(1)

/** The most peers whose last notice is remembered; the oldest are forgotten first. */
const NOTICE_MEMORY = 1024

/** Per peer, whether a notice may go out now (and if so, notes it). One per account. */
export const makeNoticeGate = () => {
  const last = new Map<PeerKey, number>()
  return (peer: PeerKey): Effect.Effect<boolean> =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const previous = last.get(peer)
      if (previous !== undefined && now - previous < Duration.toMillis(NOTICE_INTERVAL)) return false
      last.delete(peer)
      last.set(peer, now)
      if (last.size > NOTICE_MEMORY) last.delete(last.keys().next().value!)
      return true
    })
}

export type NoticeGate = ReturnType<typeof makeNoticeGate>

/** The distinct media references of a reply payload, in order. */
export const replyMediaRefs = (payload: { readonly mediaUrl?: string | undefined; readonly mediaUrls?: ReadonlyArray<string> | undefined }) =>
  [...new Set([...(payload.mediaUrl === undefined ? [] : [payload.mediaUrl]), ...(payload.mediaUrls ?? [])])]
    .filter((ref) => ref.trim() !== "")

export interface ReplyMediaParams {
  readonly turn: InboundTurn
  readonly reply: ReplyChannel
  readonly loader: MediaLoaderService
  readonly notice: NoticeGate
  readonly cfg: unknown
  readonly agentId: string
  readonly maxBytes: number
}

/**
 * Sends `caption` and the media `refs` of one reply payload. Succeeds with the receipt of what went out
 * (undefined when nothing did); fails only when the caption itself could not be sent.
 */
export const deliverReplyMedia = (
  params: ReplyMediaParams,
  caption: string,
  refs: ReadonlyArray<string>
): Effect.Effect<Receipt | undefined, OutboxError> =>
  Effect.gen(function*() {
    const { turn, reply } = params
    const loaded: Array<OutboundMedia> = []
    let failed = 0
    for (const ref of refs) {
      const result = yield* Effect.either(
        params.loader.load({ ref, access: { _tag: "Agent", cfg: params.cfg, agentId: params.agentId }, maxBytes: params.maxBytes })
      )
      if (Either.isRight(result)) loaded.push(result.right)
      else {
        failed++
        yield* Effect.logWarning(`a file of the reply to ${turn.peer.id} is left out: ${result.left.message}`)
      }
    }
    let receipt: Receipt | undefined
    if (loaded.length > 0) {
      const sent = yield* Effect.either(reply.sendMedia({ caption, media: loaded }))
      if (Either.isRight(sent)) receipt = sent.right
      else if (sent.left._tag === "MediaUploadFailed") {
        failed += loaded.length
        yield* Effect.logWarning(`the files of the reply to ${turn.peer.id} were not sent: ${sent.left.message}`)
        if (caption !== "") receipt = yield* reply.sendText(caption)
      } else return yield* Effect.fail(sent.left)
    } else if (caption !== "") receipt = yield* reply.sendText(caption)
    if (failed > 0 && (yield* params.notice(turn.peer.key))) {
      yield* reply.sendText(MEDIA_FAILURE_NOTICE).pipe(
        Effect.catchAll((error) => Effect.logWarning(`the failure notice to ${turn.peer.id} was not sent: ${error.message}`))
      )
    }
    return receipt
  }).pipe(Effect.scoped)
