/**
 * What the fake model answers in `npm start` (the phone): the sandbox echo, plus what a user tries first.
 *
 * - "send me a picture" (draw / make / generate, picture / photo / image): it draws a small PNG into the
 *   agent's media folder and answers with a `MEDIA:` line naming it, which the plugin uploads to the CDN
 *   and sends as an IMAGE; "send me a file" does the same with a text file, sent as a FILE.
 * - "use a tool": it calls the host's `ls` tool (list the agent's workspace); in verbose mode (`/verbose
 *   on`) the host reports the tool's events and the plugin sends them as progress items. Once the tool's
 *   result comes back it answers "I used the ls tool".
 * - A message that quotes another: the echo says what was quoted, as the host handed it to the model
 *   (its "Reply target of current user message" block), so a quote by id only shows that the plugin
 *   found the quoted text.
 * - A picture: the model is declared to read images, so the host hands it the picture itself; it answers
 *   with the picture's format, pixel size and byte count, read from the bytes it received.
 *
 * The files go to `<state>/media/tool-phone/`: a folder the host already manages, so it hands the file to
 * the channel as it is (docs/HOST-NOTES.md "Reply media"; a workspace file would be copied first).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Zlib from "node:zlib"
import type { FakeModelAnswer, FakeModelReplyInput } from "../fakeModel.js"
import { sandboxReply, typedTextOf } from "../sandbox.js"

const INTERNAL_CONTEXT_MARKER = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"

export const PICTURE_WIDTH = 96
export const PICTURE_HEIGHT = 64

const PICTURE_REQUEST = /\b(send|draw|make|generate)\b.*\b(picture|photo|image)\b/i
const FILE_REQUEST = /\bsend\b.*\bfile\b/i
const TOOL_REQUEST = /\buse a tool\b/i
/** a tool every agent of the sandbox has, harmless, with no required argument */
export const PHONE_TOOL = "ls"
const REPLY_TARGET = /Reply target of current user message[^\n]*\n```json\n([\s\S]*?)\n```/

const crcChunk = (type: string, data: Buffer): Buffer => {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, "ascii"), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(Zlib.crc32(body))
  return Buffer.concat([length, body, crc])
}

/** The pixel size of a PNG, GIF or JPEG from its header; undefined for anything else. */
export const pictureSize = (bytes: Uint8Array): { readonly format: string; readonly width: number; readonly height: number } | undefined => {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString("ascii", 12, 16) === "IHDR") {
    return { format: "PNG", width: b.readUInt32BE(16), height: b.readUInt32BE(20) }
  }
  if (b.length >= 10 && b.toString("ascii", 0, 4) === "GIF8") return { format: "GIF", width: b.readUInt16LE(6), height: b.readUInt16LE(8) }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // JPEG: walk the segments to the first start-of-frame (SOF0–SOF15 but DHT, JPG, DAC)
    for (let at = 2; at + 9 < b.length;) {
      if (b[at] !== 0xff) return undefined
      const marker = b[at + 1] ?? 0
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { format: "JPEG", width: b.readUInt16BE(at + 7), height: b.readUInt16BE(at + 5) }
      }
      at += 2 + b.readUInt16BE(at + 2)
    }
  }
  return undefined
}

/** A `width`×`height` RGB PNG: a colour gradient with a diagonal band whose place depends on `seed`. */
export const drawPicture = (seed: number, width = PICTURE_WIDTH, height = PICTURE_HEIGHT): Buffer => {
  const rows: Array<Buffer> = []
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3)
    for (let x = 0; x < width; x++) {
      const band = Math.abs(((x + y + seed * 17) % 48) - 24) < 4
      row[1 + x * 3] = band ? 255 : Math.round((x / width) * 255)
      row[2 + x * 3] = band ? 255 : Math.round((y / height) * 255)
      row[3 + x * 3] = band ? 255 : (seed * 53) % 256
    }
    rows.push(row)
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from("89504e470d0a1a0a", "hex"),
    crcChunk("IHDR", header),
    crcChunk("IDAT", Zlib.deflateSync(Buffer.concat(rows))),
    crcChunk("IEND", Buffer.alloc(0))
  ])
}

/** The body of the message the user quoted, as the host tells the model; undefined without a quote. */
export const quotedBodyOf = (userText: string): string | undefined => {
  const block = REPLY_TARGET.exec(userText)?.[1]
  if (block === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(block)
    const body = typeof parsed === "object" && parsed !== null ? (parsed as { body?: unknown }).body : undefined
    return typeof body === "string" && body !== "" ? body : undefined
  } catch {
    return undefined
  }
}

/**
 * Every text of the turn being answered (the messages after the last assistant message). The host puts
 * its context blocks in an internal-context message as JSON string lines ("Conversation data …:" then
 * `"…"`); those are decoded, so the blocks read as they were written.
 */
export const turnTextOf = ({ request }: FakeModelReplyInput): string => {
  const texts = request.messages.slice(request.messages.findLastIndex((message) => message.role === "assistant") + 1).map((message) =>
    typeof message.content === "string" ? message.content : (message.content ?? []).map((part) => part.text ?? "").join("\n")
  )
  const decoded = texts.flatMap((text) =>
    [...text.matchAll(/^"(?:[^"\\]|\\.)*"$/gm)].flatMap((line) => {
      try {
        const value: unknown = JSON.parse(line[0])
        return typeof value === "string" ? [value] : []
      } catch {
        return []
      }
    })
  )
  return [...texts, ...decoded].join("\n")
}

/** Whether the model already answered this turn (a tool call) after the user's message: then it must not call again. */
const toolUsedThisTurn = ({ request }: FakeModelReplyInput): boolean => {
  const typed = request.messages.findLastIndex((message) =>
    message.role === "user" && !JSON.stringify(message.content ?? "").includes(INTERNAL_CONTEXT_MARKER)
  )
  return request.messages.slice(typed + 1).some((message) => message.role === "tool" || message.role === "assistant")
}

/**
 * The phone's model reply. `mediaDir` gives the folder for made files once the gateway's state dir is
 * known (undefined before: the request is answered with the echo).
 */
export const makePhoneReply = (mediaDir: () => string | undefined) => {
  let made = 0
  const write = (name: string, bytes: Buffer): string | undefined => {
    const dir = mediaDir()
    if (dir === undefined) return undefined
    Fs.mkdirSync(dir, { recursive: true })
    const path = Path.join(dir, name)
    Fs.writeFileSync(path, bytes)
    return path
  }
  return (input: FakeModelReplyInput): FakeModelAnswer => {
    const typed = typedTextOf(input.spokenText)
    // the host asks again with the tool's result (and its context blocks after it): the turn's answer
    if (toolUsedThisTurn(input)) return `I used the ${PHONE_TOOL} tool`
    if (TOOL_REQUEST.test(typed)) return { toolCall: { name: PHONE_TOOL, arguments: {} } }
    if (PICTURE_REQUEST.test(typed)) {
      made += 1
      const path = write(`picture-${made}.png`, drawPicture(made))
      if (path !== undefined) return `Here is a picture I made (${PICTURE_WIDTH}×${PICTURE_HEIGHT})\n\nMEDIA:${path}`
    } else if (FILE_REQUEST.test(typed)) {
      made += 1
      const path = write(`notes-${made}.txt`, Buffer.from(`Notes from the sandbox model, number ${made}.\nYou asked: ${typed}\n`))
      if (path !== undefined) return `Here is the file\n\nMEDIA:${path}`
    }
    const picture = input.images[0]
    if (picture !== undefined) {
      const size = pictureSize(picture)
      const what = size === undefined ? "a picture" : `a ${size.format} picture of ${size.width}×${size.height} pixels`
      return `I see ${what} (${picture.length} bytes)${input.images.length > 1 ? ` and ${input.images.length - 1} more` : ""}`
    }
    const quoted = quotedBodyOf(turnTextOf(input))
    const echo = sandboxReply(input)
    return quoted === undefined ? echo : `${echo}\n(you quoted: "${quoted}")`
  }
}
