/**
 * The command a person runs to log a WeChat account in. Every message that asks for a new login quotes
 * this one text; it lives in the lowest folder so errors of every layer can name it.
 */
export const LOGIN_COMMAND = "openclaw channels login --channel openclaw-weixin"
