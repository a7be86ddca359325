/**
 * `agentPrompt`: short hints the host adds to the agent's message tool description. Our own wording.
 */
import type { WeixinAgentPromptAdapter } from "./SdkTypes.js"

export const MESSAGE_TOOL_HINTS: ReadonlyArray<string> = [
  "A WeChat user is addressed by their user id, which ends in @im.wechat (the sender id of their messages); " +
    "keep its exact spelling and case.",
  "WeChat only delivers a bot's message to a user who has written to the bot recently; if a send is refused, " +
    "ask the user to write first.",
  "Scheduled (cron) deliveries to WeChat must set both delivery.to (the @im.wechat user id) and " +
    "delivery.accountId (the bot account), e.g. { mode: 'announce', channel: 'openclaw-weixin', to, accountId }.",
  "Before a scheduled (cron) or other unprompted send to WeChat, check the user is reachable: " +
    "`openclaw directory peers list --channel openclaw-weixin --account <accountId> --json` lists every user the " +
    "account can reach; send only to an entry whose raw.sendable is true (raw.windowClosesAt says until when). " +
    "Otherwise the send is refused until the user writes again."
]

export const agentPromptAdapter: WeixinAgentPromptAdapter = {
  messageToolHints: () => [...MESSAGE_TOOL_HINTS]
}
