/**
 * Fuzzed decoders: every decoder at a boundary (LosslessJson, the wire schemas, the stored files, the inbox
 * journal's replay, the channel config, AES key parsing), the markdown filter and the chunker, fed arbitrary
 * bytes, text and JSON. Each returns a typed result (an Either or a value) and never throws; the chunker
 * never loses or reorders a character. fast-check comes with `effect` (its `FastCheck` module), so no
 * extra dependency. Run counts keep each property to a few seconds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import { replay } from "../../../src/account/InboxRecords.js"
import { decodeChannelConfig } from "../../../src/config/ChannelConfig.js"
import { parseHexAesKey, parseMediaAesKey } from "../../../src/domain/AesKey.js"
import { chunkText, planChunks } from "../../../src/domain/Chunker.js"
import { filterMarkdown } from "../../../src/domain/MarkdownFilter.js"
import {
  AccountsIndexFile,
  ContextActivityFile,
  ContextTokensFile,
  indexEntries,
  LegacyCredentialsFile,
  StoredAccountFile,
  SyncFile
} from "../../../src/state/StoredFiles.js"
import {
  GetConfigResponse,
  GetUpdatesResponse,
  GetUploadUrlResponse,
  NotifyResponse,
  QrCodeResponse,
  QrStatusResponse,
  SendMessageResponse
} from "../../../src/wire/Api.js"
import { parseJson, parseLossless, rewriteIdIntegersAsStrings } from "../../../src/wire/LosslessJson.js"
import { WeixinMessage } from "../../../src/wire/Message.js"

const RUNS = { numRuns: 300 }

/** Text as it may arrive: any UTF-16 (lone surrogates included), bytes read as UTF-8, or JSON text. */
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 400 }),
  fc.fullUnicodeString({ maxLength: 400 }),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString("utf8")),
  fc.json({ maxDepth: 4 }),
  // ids above 2^53 in the places LosslessJson rewrites
  fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.constantFrom("message_id", "msg_id", "svr_id", "seq", "other"))
    .map(([id, key]) => `{"msgs":[{"${key}":${id},"item_list":[{"type":1,"ref_msg":{"svr_id":${id}}}]}]}`)
)

/** JSON values, and the near-misses of the wire shapes (right keys, any values). */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({
    ret: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    errcode: fc.oneof(fc.integer(), fc.string()),
    msgs: fc.array(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ message_id: fc.jsonValue(), item_list: fc.array(fc.jsonValue({ maxDepth: 2 })) }))),
    get_updates_buf: fc.jsonValue({ maxDepth: 1 }),
    token: fc.jsonValue({ maxDepth: 1 }),
    baseUrl: fc.jsonValue({ maxDepth: 1 })
  }, { requiredKeys: [] })
)

const decoders: ReadonlyArray<readonly [string, Schema.Schema<any, any, never>]> = [
  ["GetUpdatesResponse", GetUpdatesResponse],
  ["SendMessageResponse", SendMessageResponse],
  ["GetConfigResponse", GetConfigResponse],
  ["GetUploadUrlResponse", GetUploadUrlResponse],
  ["NotifyResponse", NotifyResponse],
  ["QrCodeResponse", QrCodeResponse],
  ["QrStatusResponse", QrStatusResponse],
  ["WeixinMessage", WeixinMessage],
  ["StoredAccountFile", StoredAccountFile],
  ["LegacyCredentialsFile", LegacyCredentialsFile],
  ["SyncFile", SyncFile],
  ["AccountsIndexFile", AccountsIndexFile],
  ["ContextTokensFile", ContextTokensFile],
  ["ContextActivityFile", ContextActivityFile]
]

describe("fuzzed decoders: a typed result, never a throw", () => {
  it("LosslessJson: parseLossless / parseJson / the id rewrite on arbitrary text", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const lossless = parseLossless(text)
        const plain = parseJson(text)
        expect(Either.isEither(lossless) && Either.isEither(plain)).toBe(true)
        expect(typeof rewriteIdIntegersAsStrings(text)).toBe("string")
        // the rewrite never turns valid JSON into invalid JSON
        if (Either.isRight(plain)) expect(Either.isRight(lossless)).toBe(true)
      }),
      { numRuns: 1_000 }
    )
  })

  it("LosslessJson: a 64-bit id survives as its exact decimal string", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (id) => {
        const parsed = parseLossless(`{"message_id":${id},"x":[{"svr_id":${id}}]}`)
        expect(parsed).toEqual(Either.right({ message_id: id.toString(), x: [{ svr_id: id.toString() }] }))
      }),
      RUNS
    )
  })

  for (const [name, schema] of decoders) {
    it(`${name}: decodeUnknownEither over arbitrary JSON and parsed arbitrary text`, () => {
      const decode = Schema.decodeUnknownEither(schema)
      fc.assert(
        fc.property(fc.oneof(anyJson, anyText.map((t) => Either.getOrElse(parseLossless(t), () => t))), (input) => {
          expect(Either.isEither(decode(input))).toBe(true)
        }),
        RUNS
      )
    })
  }

  it("the accounts index: entries of any JSON array are strings", () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 2 })), (index) => {
        expect(indexEntries(index).every((e) => typeof e === "string")).toBe(true)
      }),
      RUNS
    )
  })

  it("the inbox journal: replay of arbitrary lines counts what it skipped and never throws", () => {
    const line = fc.oneof(
      anyText,
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.record({ t: fc.constantFrom("claim", "done", "seen", "rejected", "x"), key: fc.string(), at: fc.oneof(fc.integer(), fc.string()), message: fc.jsonValue({ maxDepth: 2 }), peer: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })
        .map((r) => JSON.stringify(r))
    )
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const r = replay(lines)
        expect(r.records).toBeGreaterThanOrEqual(r.skipped)
        expect(r.records).toBe(lines.filter((l) => l.trim().length > 0).length)
      }),
      RUNS
    )
  })

  it("the channel config: any section decodes to a config or a ChannelConfigError naming paths", () => {
    const section = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        baseUrl: fc.oneof(fc.webUrl(), fc.string(), fc.integer()),
        dmPolicy: fc.oneof(fc.constantFrom("pairing", "allowlist", "open", "disabled"), fc.string()),
        allowFrom: fc.oneof(fc.array(fc.string()), fc.jsonValue({ maxDepth: 1 })),
        textChunkLimit: fc.oneof(fc.integer(), fc.double(), fc.string()),
        dispatchConcurrency: fc.jsonValue({ maxDepth: 1 }),
        mediaMaxMb: fc.oneof(fc.integer(), fc.double()),
        accounts: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }))
      }, { requiredKeys: [] })
    )
    fc.assert(
      fc.property(section, (s) => {
        const decoded = decodeChannelConfig(s)
        if (Either.isLeft(decoded)) expect(decoded.left.message.length).toBeGreaterThan(0)
      }),
      RUNS
    )
  })

  it("AES keys: any text parses to a 16-byte key or an AesKeyError", () => {
    const keyText = fc.oneof(
      anyText,
      fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => Buffer.from(b).toString("base64")),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(Buffer.from(b).toString("hex")).toString("base64")),
      fc.stringMatching(/^[0-9a-fA-F]{0,40}$/)
    )
    fc.assert(
      fc.property(keyText, (text) => {
        for (const parsed of [parseMediaAesKey(text), parseHexAesKey(text)]) {
          expect(Either.isEither(parsed)).toBe(true)
        }
      }),
      { numRuns: 1_000 }
    )
  })
})

describe("fuzzed text paths", () => {
  const markdownish = fc.oneof(
    anyText,
    fc.array(
      fc.oneof(
        fc.constantFrom("```", "```ts\n", "\n```\n", "| a | b |\n|---|---|\n| 1 | 2 |\n", "**", "__", "*", "# ", "> ", "- ", "1. ", "[x](http://e.x)", "![i](a.png)", "`", "\n\n", "\n", " ", "中文", "😀👍🏽", "\uD800", "\uDC00"),
        fc.string({ maxLength: 30 })
      ),
      { maxLength: 60 }
    ).map((parts) => parts.join(""))
  )

  it("the markdown filter: any text gives a string, never a throw", () => {
    fc.assert(fc.property(markdownish, (text) => void expect(typeof filterMarkdown(text)).toBe("string")), { numRuns: 1_000 })
  })

  it("the chunker never loses or reorders a character: each chunk is its source span plus added fence lines, spans in order, only whitespace between, none over the limit", () => {
    fc.assert(
      fc.property(markdownish, fc.integer({ min: 20, max: 400 }), (text, limit) => {
        const spans = planChunks(text, limit)
        expect(chunkText(text, limit)).toEqual(spans.map((s) => s.text))
        let at = 0
        for (const span of spans) {
          expect(span.text).toBe(span.reopen + text.slice(span.start, span.end) + span.close)
          expect(span.text.length).toBeLessThanOrEqual(limit)
          expect(span.text.length).toBeGreaterThan(0)
          expect(span.start).toBeGreaterThanOrEqual(at)
          expect(text.slice(at, span.start).trim()).toBe("")
          at = span.end
        }
        expect(text.slice(at).trim()).toBe("")
      }),
      { numRuns: 1_000 }
    )
  })
})
