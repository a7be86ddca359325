/**
 * Defaults of the channel that more than one folder needs, in one place (docs/ARCHITECTURE.md "config").
 */

/** The fixed host of QR login and the default API base URL (docs/PROTOCOL.md §1.1). */
export const DEFAULT_ILINK_BASE_URL = "https://ilinkai.weixin.qq.com"

/** Where media is fetched from and uploaded to when neither the account nor the section names a CDN. */
export const DEFAULT_CDN_BASE_URL = "https://novac2c.cdn.weixin.qq.com/c2c"

/** Agent turns of different WeChat users one account runs at once (`dispatchConcurrency`). */
export const DEFAULT_DISPATCH_CONCURRENCY = 8
