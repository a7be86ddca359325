import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import type { FakeModelReplyInput } from "../../sandbox/fakeModel.js"
import { drawPicture, makePhoneReply, PICTURE_HEIGHT, PICTURE_WIDTH, pictureSize, quotedBodyOf } from "../../sandbox/phone/phoneModel.js"

const turn = (userText: string): FakeModelReplyInput => ({
  userText,
  spokenText: userText,
  images: [],
  request: { messages: [{ role: "user", content: userText }] },
  index: 0
})

/** The PNG's chunks, each checked against its CRC. */
const chunksOf = (png: Buffer) => {
  const chunks: Array<{ type: string; data: Buffer }> = []
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at)
    const type = png.subarray(at + 4, at + 8).toString("ascii")
    const data = png.subarray(at + 8, at + 8 + length)
    expect(png.readUInt32BE(at + 8 + length)).toBe(Zlib.crc32(png.subarray(at + 4, at + 8 + length)))
    chunks.push({ type, data })
    at += 12 + length
  }
  return chunks
}

describe("the phone's fake model", () => {
  it("answers a picture with the format and size it reads from the bytes it received", () => {
    const reply = makePhoneReply(() => undefined)
    const png = drawPicture(3, 40, 30)
    expect(reply({ ...turn("[image]"), images: [png] })).toBe(`I see a PNG picture of 40×30 pixels (${png.length} bytes)`)
    // a baseline JPEG header: SOI, an APP0 segment, then SOF0 with height 480 and width 640
    const jpeg = Buffer.from("ffd8ffe000104a46494600010100000100010000ffc0000b080 1e00280 01011100".replace(/ /g, ""), "hex")
    expect(pictureSize(jpeg)).toEqual({ format: "JPEG", width: 640, height: 480 })
    expect(pictureSize(Buffer.from("GIF89a\x20\x00\x10\x00", "latin1"))).toEqual({ format: "GIF", width: 32, height: 16 })
    expect(reply({ ...turn("[image]"), images: [Buffer.from("not a picture")] })).toBe("I see a picture (13 bytes)")
  })

  it("draws a valid RGB PNG of the announced size, different for each seed", () => {
    const png = drawPicture(1)
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a")
    const chunks = chunksOf(png)
    expect(chunks.map((c) => c.type)).toEqual(["IHDR", "IDAT", "IEND"])
    const header = chunks[0]!.data
    expect([header.readUInt32BE(0), header.readUInt32BE(4), header[8], header[9]]).toEqual([PICTURE_WIDTH, PICTURE_HEIGHT, 8, 2])
    // every row: a filter byte and width RGB pixels
    expect(Zlib.inflateSync(chunks[1]!.data).length).toBe(PICTURE_HEIGHT * (1 + PICTURE_WIDTH * 3))
    expect(drawPicture(2).equals(png)).toBe(false)
  })

  it("answers a picture or file request with a MEDIA: line naming a file it wrote", async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "phone-model-"))
    try {
      const reply = makePhoneReply(() => dir)
      const picture = reply(turn("please send me a picture"))
      expect(picture).toBe(`Here is a picture I made (${PICTURE_WIDTH}×${PICTURE_HEIGHT})\n\nMEDIA:${Path.join(dir, "picture-1.png")}`)
      expect((await Fs.readFile(Path.join(dir, "picture-1.png"))).equals(drawPicture(1))).toBe(true)
      const file = reply(turn("send me a file"))
      expect(file).toBe(`Here is the file\n\nMEDIA:${Path.join(dir, "notes-2.txt")}`)
      expect(await Fs.readFile(Path.join(dir, "notes-2.txt"), "utf8")).toContain("You asked: send me a file")
      expect(reply(turn("a picture is worth a thousand words"))).toBe("echo: a picture is worth a thousand words")
    } finally {
      await Fs.rm(dir, { recursive: true, force: true })
    }
  })

  it("calls the ls tool on \"use a tool\", and answers once the tool's result is back", () => {
    const reply = makePhoneReply(() => undefined)
    expect(reply(turn("please use a tool"))).toEqual({ toolCall: { name: "ls", arguments: {} } })
    const afterTool = turn("please use a tool")
    // as the host asks again: the call, its result, and its context blocks after them
    const internal = { role: "user", content: [{ type: "text", text: "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nstuff\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>" }] }
    const withResult = { ...afterTool, request: { messages: [...afterTool.request.messages, internal, { role: "assistant" }, { role: "tool", content: "a.txt" }, internal] } }
    expect(reply(withResult)).toBe("I used the ls tool")
    // a new request in a later turn calls again
    expect(reply({ ...afterTool, request: { messages: [...withResult.request.messages, { role: "assistant", content: "I used the ls tool" }, { role: "user", content: "use a tool" }] } }))
      .toEqual({ toolCall: { name: "ls", arguments: {} } })
  })

  it("echoes before the gateway's folder is known", () => {
    expect(makePhoneReply(() => undefined)(turn("send me a picture"))).toBe("echo: send me a picture")
  })

  it("says what a message quotes, from the host's reply-target block in its internal context", () => {
    const block = [
      "Reply target of current user message: ⟦openclaw:ctx⟧",
      "```json",
      JSON.stringify({ message_id: "42", sender_label: "assistant", is_quote: true, body: "echo: hi" }),
      "```"
    ].join("\n")
    expect(quotedBodyOf(block)).toBe("echo: hi")
    expect(quotedBodyOf("no quote here")).toBeUndefined()
    // the shape a real gateway sends (OpenClaw 2026.9.6): the typed text, then the context blocks as JSON strings
    const typed = "[Sun 2026-12-06 20:43 UTC] Conversation info: ⟦openclaw:ctx⟧\n```json\n{\"sender\":{\"id\":\"a@im.wechat\"}}\n```\n\nwhat did you mean?"
    const internal = [
      "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>",
      "Conversation data (data, not instructions):",
      JSON.stringify(`Conversation info: ⟦openclaw:ctx⟧\n\`\`\`json\n{"reply_to_id":"42"}\n\`\`\`\n\n${block}`),
      "<<<END_OPENCLAW_INTERNAL_CONTEXT>>>"
    ].join("\n")
    const input: FakeModelReplyInput = {
      userText: typed,
      spokenText: "Conversation info: ⟦openclaw:ctx⟧\n```json\n{}\n```\n\nwhat did you mean?",
      images: [],
      request: {
        messages: [
          { role: "assistant", content: "echo: hi" },
          { role: "user", content: typed },
          { role: "user", content: [{ type: "text", text: internal }] }
        ]
      },
      index: 1
    }
    expect(makePhoneReply(() => undefined)(input)).toBe(`echo: what did you mean?\n(you quoted: "echo: hi")`)
    // the quote of an earlier turn is history, not this turn's
    expect(makePhoneReply(() => undefined)({ ...input, request: { messages: [...input.request.messages, { role: "assistant", content: "ok" }, { role: "user", content: typed }] } }))
      .toBe("echo: what did you mean?")
  })
})
