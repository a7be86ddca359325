/**
 * MediaLoader's URL path over a fake of the host's `loadWebMediaRaw` (the real one needs Node 24): what
 * we pass the host (cap, abort signal, idle bound, no local roots for a URL), how the host's failures map
 * to our typed `MediaLoadFailed` codes, and our own bound on a URL that hangs, in virtual time.
 *
 * The thrown errors copy the shapes of OpenClaw 2026.9.6 (dist/fetch-*.mjs, dist/ssrf-*.mjs): a
 * `MediaFetchError` (`name`, `code` "http_error" with `status`, "fetch_failed" with the cause, "max_bytes")
 * and the guard's `SsrFBlockedError`, which a redirect to a private address raises inside the fetch
 * and the host wraps as the `cause` of a "fetch_failed".
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Stream, TestClock } from "effect"
import { type HostMediaSdk, makeHostLoader, MEDIA_LOAD_TIMEOUT, MediaLoadFailed } from "../../../src/host/MediaLoader.js"

class MediaFetchError extends Error {
  readonly status: number | undefined
  constructor(readonly code: string, message: string, options?: { readonly status?: number; readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.status = options?.status
    this.name = "MediaFetchError"
  }
}

class SsrFBlockedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "SsrFBlockedError"
  }
}

type LoadWebMediaRaw = HostMediaSdk["web"]["loadWebMediaRaw"]
type Options = Exclude<Parameters<LoadWebMediaRaw>[1], number | undefined>

const fakeHost = (answer: (url: string, options: Options) => Promise<Awaited<ReturnType<LoadWebMediaRaw>>>) => {
  const calls: Array<{ readonly url: string; readonly options: Options }> = []
  const sdk: HostMediaSdk = {
    web: {
      loadWebMediaRaw: ((url: string, options: Options) => {
        calls.push({ url, options })
        return answer(url, options)
      }) as LoadWebMediaRaw
    },
    roots: { getAgentScopedMediaLocalRoots: () => ["/agent/workspace"] }
  }
  return { calls, loader: makeHostLoader(async () => sdk) }
}

const request = (ref: string) => ({ ref, access: { _tag: "Context" as const }, maxBytes: 5_000_000 })

const failureOf = (loader: ReturnType<typeof fakeHost>["loader"], ref: string) =>
  Effect.flip(Effect.scoped(loader.load(request(ref))))

describe("MediaLoader: remote URLs through the host's loader", () => {
  it.effect("passes the cap, an abort signal and the idle bound, and no local roots, for a URL", () =>
    Effect.gen(function*() {
      const host = fakeHost(async () => ({ buffer: Buffer.from("png bytes"), contentType: "image/png", kind: "image", fileName: "chart.png" }))
      const media = yield* Effect.scoped(host.loader.load(request("https://files.example.com/a/chart.png?token=secret")))
      const call = host.calls[0]!
      expect(call.url).toBe("https://files.example.com/a/chart.png?token=secret")
      expect(call.options.maxBytes).toBe(5_000_000)
      expect(call.options.requestInit?.signal).toBeInstanceOf(AbortSignal)
      expect(call.options.readIdleTimeoutMs).toBe(Duration.toMillis(MEDIA_LOAD_TIMEOUT))
      expect(call.options.localRoots).toBeUndefined()
      expect([media.contentType, media.fileName, media.source.size]).toEqual(["image/png", "chart.png", 9])
      const bytes = yield* Stream.runCollect(media.source.read)
      expect(Buffer.concat(Chunk.toArray(bytes)).toString()).toBe("png bytes")
    }))

  it.effect("a URL answering 404 is fetch-failed with the host's reason", () =>
    Effect.gen(function*() {
      const host = fakeHost(async () => {
        throw new MediaFetchError("http_error", "Failed to fetch media from https://files.example.com/gone.png: HTTP 404 Not Found", { status: 404 })
      })
      const error = yield* failureOf(host.loader, "https://files.example.com/gone.png?sig=abc")
      expect(error).toBeInstanceOf(MediaLoadFailed)
      expect([error.code, error.ref]).toEqual(["fetch-failed", "https://files.example.com/gone.png"])
      expect(error.reason).toContain("HTTP 404")
      expect(error.message).not.toContain("sig=abc")
    }))

  it.effect("a URL that redirects to a private address is url-blocked (the guard's error as the fetch's cause)", () =>
    Effect.gen(function*() {
      const host = fakeHost(async () => {
        const blocked = new SsrFBlockedError("Blocked: resolves to private/internal/special-use IP address")
        throw new MediaFetchError("fetch_failed", `Failed to fetch media from https://files.example.com/r: ${blocked.message}`, { cause: blocked })
      })
      const error = yield* failureOf(host.loader, "https://files.example.com/r")
      expect(error.code).toBe("url-blocked")
      expect(error.reason).toContain("private")
    }))

  it.effect("a URL the guard refuses outright is url-blocked; a network failure is fetch-failed", () =>
    Effect.gen(function*() {
      const refused = fakeHost(async () => {
        throw new SsrFBlockedError("Blocked hostname or private/internal/special-use IP address")
      })
      expect((yield* failureOf(refused.loader, "http://127.0.0.1/x.png")).code).toBe("url-blocked")
      const reset = fakeHost(async () => {
        throw new MediaFetchError("fetch_failed", "Failed to fetch media from https://files.example.com/x: socket hang up", {
          cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
        })
      })
      expect((yield* failureOf(reset.loader, "https://files.example.com/x")).code).toBe("fetch-failed")
    }))

  it.effect("a URL over the cap is too-large; an empty answer is empty", () =>
    Effect.gen(function*() {
      const big = fakeHost(async () => {
        throw new MediaFetchError("max_bytes", "Failed to fetch media from https://files.example.com/x: payload exceeds maxBytes 5000000")
      })
      expect((yield* failureOf(big.loader, "https://files.example.com/x")).code).toBe("too-large")
      const empty = fakeHost(async () => ({ buffer: Buffer.alloc(0), contentType: "image/png", kind: "image" }))
      expect((yield* failureOf(empty.loader, "https://files.example.com/x.png")).code).toBe("empty")
    }))

  it.effect("a URL that hangs fails as timeout after MEDIA_LOAD_TIMEOUT, not before, and the host's fetch is aborted", () =>
    Effect.gen(function*() {
      let aborted = false
      const host = fakeHost((_url, options) =>
        new Promise((_resolve, reject) => {
          options.requestInit?.signal?.addEventListener("abort", () => {
            aborted = true
            reject(new Error("aborted"))
          })
        })
      )
      const fiber = yield* Effect.fork(failureOf(host.loader, "https://files.example.com/slow.png"))
      yield* TestClock.adjust(Duration.subtract(MEDIA_LOAD_TIMEOUT, Duration.millis(1)))
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      const error = yield* Fiber.join(fiber)
      expect(error.code).toBe("timeout")
      expect(aborted).toBe(true)
    }))

  it.effect("the name comes from the host, else the URL's path, cleaned of control characters and separators", () =>
    Effect.gen(function*() {
      const named = fakeHost(async () => ({ buffer: Buffer.from("x"), contentType: "application/pdf", kind: "document", fileName: "re\u0007port\n.pdf" }))
      expect((yield* Effect.scoped(named.loader.load(request("https://files.example.com/a.pdf")))).fileName).toBe("report.pdf")
      const unnamed = fakeHost(async () => ({ buffer: Buffer.from("x"), contentType: "application/pdf", kind: "document" }))
      expect((yield* Effect.scoped(unnamed.loader.load(request("https://files.example.com/dir/q3%20plan.pdf?x=1")))).fileName)
        .toBe("q3%20plan.pdf")
    }))
})
