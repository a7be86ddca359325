/**
 * Every default of the channel, in one place (docs/ARCHITECTURE.md "config"): what a user can set in
 * `channels.openclaw-weixin`, and what a test or a benchmark tunes (`ActorTuning`, `RestartTuning`).
 * Protocol facts that are not ours to choose (the reply budget, the 24 h reply window) are here too, so
 * every number the running code uses can be found in one file.
 */
import { DEFAULT_CHUNK_LIMIT } from "../domain/Chunker.js"

// ---- where the account connects ----------------------------------------------------------------------

/** The fixed host of QR login and the default API base URL (docs/PROTOCOL.md §1.1). */
export const DEFAULT_ILINK_BASE_URL = "https://ilinkai.weixin.qq.com"

/** Where media is fetched from and uploaded to when neither the account nor the section names a CDN. */
export const DEFAULT_CDN_BASE_URL = "https://novac2c.cdn.weixin.qq.com/c2c"

/**
 * The iLink protocol level this plugin speaks, announced in `iLink-App-ClientVersion` and
 * `base_info.channel_version` (PROTOCOL §1.3, §1.4): the official plugin's 2.4.9, whose behaviour we follow
 * (PROTOCOL App. A). The server may gate features on it, so it is not our own package version.
 */
export const DEFAULT_PROTOCOL_VERSION = "2.4.9"

// ---- the channel section (`channels.openclaw-weixin`) ------------------------------------------------

/** Agent turns of different WeChat users one account runs at once (`dispatchConcurrency`). */
export const DEFAULT_DISPATCH_CONCURRENCY = 8

/** Longest text sent as one WeChat message (`textChunkLimit`); the Chunker's own limit. */
export const DEFAULT_TEXT_CHUNK_LIMIT = DEFAULT_CHUNK_LIMIT

/** Largest media file, in MB, received or sent (`mediaMaxMb`, the host's channel convention). */
export const DEFAULT_MEDIA_MAX_MB = 100
/** The highest `mediaMaxMb` accepted: 2 GB, far above what WeChat carries. */
export const MAX_MEDIA_MAX_MB = 2_048
/** media items of one inbound message fetched for its turn (a quote's media comes on top) */
export const MAX_INBOUND_MEDIA_ITEMS = 8
/** stored inbound media remembered per process, so a re-dispatched turn does not download again */
export const INBOUND_MEDIA_MEMORY = 512

// ---- the account actor --------------------------------------------------------------------------------

/** Client timeout of the first getupdates; later ones follow the server's `longpolling_timeout_ms` (§2). */
export const DEFAULT_INITIAL_POLL_TIMEOUT_MS = 35_000
/** First backoff after a failed poll; it doubles, with jitter, up to the cap. */
export const DEFAULT_POLL_BACKOFF_BASE_MS = 1_000
export const DEFAULT_POLL_BACKOFF_CAP_MS = 30_000
/** How long a stop waits for `notifystop`, so the whole stop stays under a second. */
export const DEFAULT_NOTIFY_STOP_TIMEOUT_MS = 500
/** Claimed messages queued or running before polling is slowed down. */
export const DEFAULT_DISPATCH_CAPACITY = 64

// ---- the Outbox ---------------------------------------------------------------------------------------

/** Sends waiting for the sender fiber before `send` suspends. */
export const DEFAULT_OUTBOX_CAPACITY = 256
/** How long a stopping Outbox lets the send in flight finish before cutting it off. */
export const DEFAULT_SEND_STOP_GRACE_MS = 300
/** Retries of a send that provably never reached the server: 200 ms doubling, jittered, ≤ 2 s apart. */
export const DEFAULT_SEND_RETRY_BASE_MS = 200
export const DEFAULT_SEND_RETRY_CAP_MS = 2_000
export const DEFAULT_SEND_RETRIES = 4
/** Replies WeChat accepts per inbound message (PROTOCOL App. C). */
export const REPLY_BUDGET = 10
/** How long after a peer's last message WeChat accepts replies (PROTOCOL §4). */
export const REPLY_WINDOW_MS = 24 * 60 * 60_000

// ---- typing (PROTOCOL §5.6) ---------------------------------------------------------------------------

/** "typing…" is repeated this often while a turn runs. */
export const TYPING_KEEPALIVE_MS = 5_000
/** Upper bound of a good ticket's life; each ticket lives a random part of it. */
export const TYPING_TICKET_LIFETIME_MS = 24 * 60 * 60_000
/** After a failed getconfig: wait 2 s, then double per failure, up to 1 h. */
export const TYPING_RETRY_BASE_MS = 2_000
export const TYPING_RETRY_CAP_MS = 60 * 60_000
/** Peers whose typing ticket one account remembers; past it the oldest are forgotten first. */
export const TYPING_TICKET_CAPACITY = 1_000

// ---- the Supervisor -----------------------------------------------------------------------------------

/** Delay before the first restart after a crash; it doubles per crash, up to the cap. */
export const DEFAULT_RESTART_BASE_MS = 1_000
export const DEFAULT_RESTART_CAP_MS = 60_000
/** A run that lasted this long was healthy: the next crash restarts after the base delay again. */
export const DEFAULT_STABLE_AFTER_MS = 120_000

// ---- status -------------------------------------------------------------------------------------------

/** A poll that has not completed for this long means polling is stuck (long-polls end within 35 s). */
export const POLL_STALL_MS = 120_000
/** How often the published status is re-evaluated without a change (so a stalled poll shows up). */
export const STATUS_REFRESH_MS = 15_000

// ---- quote store (PROTOCOL §7.5; the official plugin's `quoteCache` defaults) ---------------------------
/** days a message is remembered for quotes */
export const DEFAULT_QUOTE_RETENTION_DAYS = 30
/** messages remembered per account; the oldest are forgotten first */
export const DEFAULT_QUOTE_MAX_MESSAGES = 10_000
/** days a remembered message's media stays attachable to a quote */
export const DEFAULT_QUOTE_MEDIA_RETENTION_DAYS = 7
/** bytes of media a quote may re-attach, per account; the oldest media are forgotten first */
export const DEFAULT_QUOTE_MAX_MEDIA_BYTES = 256 * 1024 * 1024
/** largest single media file remembered for quotes */
export const DEFAULT_QUOTE_MAX_SINGLE_MEDIA_BYTES = 25 * 1024 * 1024
/** replies of a turn kept back for the final answer: tool progress never spends them */
export const FINAL_REPLY_RESERVE = 2
/** below this many replies left, tool progress is collapsed to its results (no start items) */
export const PROGRESS_COLLAPSE_BELOW = 5
