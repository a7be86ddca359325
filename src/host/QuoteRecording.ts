/**
 * Records an admitted inbound message in the account's quote store (PROTOCOL §7.5): its server ids
 * (`message_id` and every item `msg_id`, since a quote may name either), the sender, the Body of §7.3 and
 * the media the turn stored (the quote's own media excluded), so a later id-only quote finds it.
 */
import { Effect } from "effect"
import type { InboundTurn } from "../account/AgentTurns.js"
import type { TurnMedia } from "../account/InboundMedia.js"
import { inboundBody } from "../domain/InboundText.js"

export const recordInbound = (turn: InboundTurn, media: TurnMedia): Effect.Effect<void> => {
  if (turn.quotes === undefined) return Effect.void
  const message = turn.claimed.message
  const ids = [message.message_id, ...(message.item_list ?? []).map((item) => item.msg_id)]
    .map((id) => id?.trim())
    .filter((id): id is string => id !== undefined && id !== "")
  const own = media.received.filter((item) => !item.quoted)
  return turn.quotes.record({
    ids: [...new Set(ids)],
    peer: turn.peer.key,
    direction: "in",
    sender: turn.peer.id,
    text: inboundBody(message),
    ...(own.length === 0 ? {} : {
      media: own.map((item) => ({
        path: item.path,
        size: item.size,
        kind: item.kind,
        ...(item.contentType === undefined ? {} : { contentType: item.contentType }),
        ...(item.fileName === undefined ? {} : { fileName: item.fileName })
      }))
    })
  })
}
