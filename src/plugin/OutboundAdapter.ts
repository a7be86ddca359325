/**
 * `outbound`: proactive sends from the host (cron deliveries, the message tool, `openclaw message send`),
 * text (`sendText`) and files with a caption (`sendMedia`, loaded by src/host/MediaLoader.ts).
 *
 * The host's target is normalised here, once, into the `Peer` the Outbox sends to. In the gateway the
 * account's running actor sends (`Supervisor.send`; its Outbox keeps per-peer order). An account the
 * Supervisor has parked has no actor any more; its sends fail at once with what to do (log in again)
 * instead of trying the expired token through the actor-less path. In the CLI process
 * (`message send`, registration mode `discovery`) no actor runs: the account and its context tokens are
 * loaded from the state dir and the message goes through a short-lived Outbox with the same rules
 * (refusals, chunking under `textChunkLimit`, receipts, never-reached retries only); a −14 from the
 * server there becomes the same "log in again" error.
 *
 * Without `ctx.accountId` the account is inferred as PROTOCOL §4 describes: none → log in first; one → it;
 * several → the one whose context tokens know the recipient, an error naming them when that is not one.
 */
import { Effect, Either, Option } from "effect"
import { ContextTokens } from "../account/ContextTokens.js"
import { Outbox, type SendRequest } from "../account/Outbox.js"
import { AccountAuthExpired, type Receipt, type SendFailed } from "../account/Receipt.js"
import { Supervisor } from "../account/Supervisor.js"
import { normalizeAccountId, WEIXIN_CHANNEL_ID } from "../domain/AccountId.js"
import { filterMarkdown } from "../domain/MarkdownFilter.js"
import { type Peer, normalizePeerId } from "../domain/PeerId.js"
import { MediaLoader } from "../host/MediaLoader.js"
import { CdnUpload } from "../ilink/CdnUpload.js"
import { ILinkConnection } from "../ilink/ILinkConnection.js"
import { ILinkSettings } from "../ilink/ILinkSettings.js"
import { AccountStore } from "../state/AccountStore.js"
import { ContextTokenStore } from "../state/ContextTokenStore.js"
import { type ChannelConfig, channelConfigFromHostConfig } from "../config/ChannelConfig.js"
import {
  AccountNotConfigured,
  AmbiguousAccount,
  NoAccountForRecipient,
  NoAccountsRegistered,
  UnknownAccount
} from "./PluginErrors.js"
import type { PluginDeps } from "./PluginDeps.js"
import { resolveWeixinAccount } from "../config/ResolvedAccount.js"
import type { OutboundContext, OutboundResult, WeixinOutboundAdapter } from "./SdkTypes.js"

/** Which account sends to `peer` when the host did not say (PROTOCOL §4 "Outbound account inference"). */
export const inferSendingAccount = Effect.fn("Outbound.inferSendingAccount")(function*(peer: Peer) {
  const accounts = yield* AccountStore
  const tokenStore = yield* ContextTokenStore
  const ids = yield* accounts.list()
  const [only, ...others] = ids
  if (only === undefined) return yield* new NoAccountsRegistered()
  if (others.length === 0) return only
  const knowing: Array<string> = []
  for (const id of ids) {
    const tokens = yield* tokenStore.loadTokens(id)
    // stored ids are read from disk: compared by their key, the way the Inbox keys a sender
    const keys = Object.keys(tokens).map((userId) => Either.map(normalizePeerId(userId), (stored) => stored.key))
    if (keys.some((key) => Either.isRight(key) && key.right === peer.key)) knowing.push(id)
  }
  const [chosen, ...rest] = knowing
  if (chosen === undefined) return yield* new NoAccountForRecipient({ to: peer.id, accountIds: ids })
  if (rest.length > 0) return yield* new AmbiguousAccount({ to: peer.id, accountIds: knowing })
  return chosen
})

/** One send in a process without a running actor: stored login + stored context tokens + an Outbox. */
export const sendWithoutActor = Effect.fn("Outbound.sendWithoutActor")(
  function*(accountId: string, config: ChannelConfig, request: SendRequest) {
    const accounts = yield* AccountStore
    const stored = yield* accounts.load(accountId)
    if (Option.isNone(stored)) {
      const known = yield* accounts.list()
      if (!known.includes(accountId)) return yield* new UnknownAccount({ accountId, known })
    }
    const account = resolveWeixinAccount(config, accountId, stored)
    if (account.token === undefined) return yield* new AccountNotConfigured({ accountId })
    const connection = yield* ILinkConnection.make({ baseUrl: account.baseUrl, token: account.token, accountId })
    return yield* Effect.gen(function*() {
      const contextTokens = yield* ContextTokens.make({ accountId })
      const outbox = yield* Outbox.make({
        accountId,
        connection,
        contextTokens,
        chunkLimit: account.actor.chunkLimit,
        media: { cdn: yield* CdnUpload, cdnBaseUrl: account.cdnBaseUrl }
      })
      return yield* outbox.send(request).pipe(
        // this process cannot see the gateway's parked state; the server's −14 says the same thing
        Effect.catchTag("SendFailed", (error): Effect.Effect<never, SendFailed | AccountAuthExpired> =>
          error.ret === -14 && error.sentBefore.length === 0
            ? Effect.fail(new AccountAuthExpired({ accountId, reason: "the server says the session expired (ret=-14)" }))
            : Effect.fail(error))
      )
    }).pipe(
      Effect.scoped,
      Effect.provideService(ILinkSettings, account.http)
    )
  }
)

export const toDeliveryResult = (receipt: Receipt): OutboundResult => ({
  channel: WEIXIN_CHANNEL_ID,
  messageId: receipt.clientId,
  target: { kind: "chat", id: receipt.to },
  meta: {
    status: receipt.status,
    serverMessageIds: receipt.chunks.flatMap((chunk) => (chunk._tag === "Delivered" ? [chunk.messageId] : []))
  }
})

/** The config, the recipient (the one place a host's target becomes a Peer) and the sending account. */
const sendTarget = Effect.fn("Outbound.sendTarget")(function*(ctx: Pick<OutboundContext, "cfg" | "to" | "accountId">) {
  const config = yield* channelConfigFromHostConfig(ctx.cfg)
  const peer = yield* normalizePeerId(ctx.to)
  const accountId = ctx.accountId !== undefined && ctx.accountId !== null && ctx.accountId.trim() !== ""
    ? normalizeAccountId(ctx.accountId)
    : yield* inferSendingAccount(peer)
  return { config, peer, accountId }
})

/** Through the running account's actor, else (CLI process) a short-lived Outbox; logged, as a host result. */
const deliver = (accountId: string, config: ChannelConfig, request: SendRequest) =>
  Effect.gen(function*() {
    const supervisor = yield* Supervisor
    // a parked account fails here at once: its token is known not to work
    const receipt = yield* supervisor.send(accountId, request).pipe(
      Effect.catchTag("NotRunningHere", () => sendWithoutActor(accountId, config, request))
    )
    yield* Effect.logInfo(`sent to ${receipt.to}: ${receipt.status} (${receipt.chunks.length} message(s))`).pipe(
      Effect.annotateLogs({ accountId })
    )
    return toDeliveryResult(receipt)
  })

/** `outbound.sendText` as an effect. */
export const sendText = Effect.fn("Outbound.sendText")(
  function*(ctx: Pick<OutboundContext, "cfg" | "to" | "text" | "accountId">) {
    const { config, peer, accountId } = yield* sendTarget(ctx)
    return yield* deliver(accountId, config, { to: peer, text: ctx.text })
  }
)

type MediaContext = Pick<
  OutboundContext,
  "cfg" | "to" | "text" | "accountId" | "mediaUrl" | "mediaAccess" | "mediaLocalRoots" | "mediaReadFile" | "forceDocument"
>

/**
 * `outbound.sendMedia` as an effect: the file loaded with what the host's context grants (its local
 * roots or reader) under the account's `mediaMaxMb`, then the caption and the file through the Outbox.
 * A file that cannot be loaded or uploaded fails typed (MediaLoadFailed, MediaUploadFailed) and sends nothing.
 */
export const sendMedia = Effect.fn("Outbound.sendMedia")(function*(ctx: MediaContext) {
  const ref = ctx.mediaUrl?.trim() ?? ""
  if (ref === "") return yield* sendText(ctx)
  const { config, peer, accountId } = yield* sendTarget(ctx)
  const account = resolveWeixinAccount(config, accountId, yield* (yield* AccountStore).load(accountId))
  const loader = yield* MediaLoader
  return yield* Effect.gen(function*() {
    const media = yield* loader.load({
      ref,
      access: {
        _tag: "Context",
        localRoots: ctx.mediaAccess?.localRoots ?? ctx.mediaLocalRoots,
        readFile: ctx.mediaAccess?.readFile ?? ctx.mediaReadFile,
        workspaceDir: ctx.mediaAccess?.workspaceDir
      },
      maxBytes: account.mediaMaxBytes,
      asFile: ctx.forceDocument
    })
    return yield* deliver(accountId, config, { to: peer, text: ctx.text, media: [media] })
  }).pipe(
    Effect.scoped,
    Effect.tapError((error) => Effect.logWarning(`media to ${peer.id} was not sent: ${error.message}`)),
    Effect.annotateLogs({ accountId })
  )
})

export const makeOutboundAdapter = (deps: PluginDeps, textChunkLimit: number): WeixinOutboundAdapter => ({
  deliveryMode: "direct",
  textChunkLimit,
  sendText: (ctx) => deps.runtime.run(sendText(ctx), ctx.signal),
  // a markdown image in a reply becomes a picture (the host turns it into media, before it sanitizes)
  extractMarkdownImages: true,
  // the host runs every proactive send through this (cron, the message tool, `openclaw message send`): the
  // same WeChat filter as agent replies (src/host/ChannelAgentTurns.ts), so all sends read alike
  sanitizeText: ({ text }) => filterMarkdown(text),
  sendMedia: (ctx) => deps.runtime.run(sendMedia(ctx), ctx.signal)
})
