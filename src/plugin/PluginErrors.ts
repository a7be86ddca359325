/**
 * Typed errors the host-facing adapters answer with. Each message says what happened and what to do;
 * the host shows it to the user as is (a rejected adapter promise carries the error object itself).
 */
import { Schema } from "effect"
import { LOGIN_COMMAND } from "../wire/LoginCommand.js"


/** The account has no stored bot token: it never logged in, or logged out. */
export class AccountNotConfigured extends Schema.TaggedError<AccountNotConfigured>()("AccountNotConfigured", {
  accountId: Schema.String
}) {
  override get message(): string {
    return `WeChat account ${this.accountId} is not logged in; run \`${LOGIN_COMMAND}\` and scan the QR code`
  }
}

/** An adapter was called for an account this plugin has never seen (not in accounts.json, no login). */
export class UnknownAccount extends Schema.TaggedError<UnknownAccount>()("UnknownAccount", {
  accountId: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const known = this.known.length === 0 ? "none is logged in" : `logged-in accounts: ${this.known.join(", ")}`
    return `there is no WeChat account ${this.accountId} (${known}); run \`${LOGIN_COMMAND}\` to add one`
  }
}

/** The host started an account without the channel runtime the inbound path needs. */
export class ChannelRuntimeMissing extends Schema.TaggedError<ChannelRuntimeMissing>()("ChannelRuntimeMissing", {
  accountId: Schema.String
}) {
  override get message(): string {
    return `the host started WeChat account ${this.accountId} without ctx.channelRuntime, so inbound messages ` +
      `could not reach an agent; upgrade OpenClaw to 2026.9.6 or newer`
  }
}

export class NoAccountsRegistered extends Schema.TaggedError<NoAccountsRegistered>()("NoAccountsRegistered", {}) {
  override get message(): string {
    return `no WeChat account is logged in; run \`${LOGIN_COMMAND}\` first`
  }
}

/** Several accounts have talked to the recipient; the caller must say which one sends. */
export class AmbiguousAccount extends Schema.TaggedError<AmbiguousAccount>()("AmbiguousAccount", {
  to: Schema.String,
  accountIds: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.accountIds.length} WeChat accounts (${this.accountIds.join(", ")}) have talked to ${this.to}; ` +
      `set accountId on the send (for cron: delivery.accountId) to choose one`
  }
}

/** Several accounts exist and none has talked to the recipient. */
export class NoAccountForRecipient extends Schema.TaggedError<NoAccountForRecipient>()("NoAccountForRecipient", {
  to: Schema.String,
  accountIds: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `none of the ${this.accountIds.length} WeChat accounts (${this.accountIds.join(", ")}) has talked to ` +
      `${this.to}; set accountId on the send, or ask the user to write to the bot first`
  }
}

/** The terminal QR login ended without a connected account. */
export class LoginFailed extends Schema.TaggedError<LoginFailed>()("LoginFailed", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}
