/**
 * MediaLoader: turns a media reference of the host (a reply's `mediaUrl`, `sendMedia`'s `mediaUrl`) into
 * the bytes to send (ARCHITECTURE "Media", OutboundMedia in src/account), through the host's own loader
 * so the host's rules apply: `loadWebMediaRaw` (original bytes, never re-encoded) with the local roots of
 * the send (the context's `mediaAccess`, or on the reply path the routed agent's
 * `getAgentScopedMediaLocalRoots`), the `mediaMaxMb` cap, and for URLs the host's SSRF guard.
 *
 * A local file is not read into memory: our reader, handed to the host's loader after its access check,
 * opens the file, returns only its head for the host's MIME sniffing, and the upload then streams the
 * open file (MediaFile.ts). When the host brings its own reader (`mediaAccess.readFile`, a sandbox) or
 * the media is a URL, the host's bytes are used as they are, under the same cap.
 *
 * `layerHost` needs the running host (Node ≥ 24); `layerLocalFiles` serves tests on any Node with plain
 * files under given roots and the same checks and errors.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Context, Duration, Effect, Layer, type Scope } from "effect"
import type { OutboundMedia } from "../account/OutboundMedia.js"
import { UploadSource } from "../ilink/CdnUploadSource.js"
import {
  displayRef,
  fileSource,
  keepOpenFor,
  MediaFileProblem,
  type MediaLoadCode,
  MediaLoadFailed,
  openMediaFile,
  type OpenedMediaFile,
  sendableFileName
} from "./MediaFile.js"

export { MediaLoadFailed } from "./MediaFile.js"

type ReadFile = (filePath: string) => Promise<Buffer>

/** Whose local files a send may read. */
export type MediaAccessSpec =
  /** a reply within a turn: the routed agent's roots */
  | { readonly _tag: "Agent"; readonly cfg: unknown; readonly agentId: string | undefined }
  /** a host send (`outbound.sendMedia`): what its context grants */
  | {
    readonly _tag: "Context"
    readonly localRoots?: ReadonlyArray<string> | "any" | undefined
    readonly readFile?: ReadFile | undefined
    readonly workspaceDir?: string | undefined
  }

export interface MediaLoadRequest {
  readonly ref: string
  readonly access: MediaAccessSpec
  /** the account's `mediaMaxMb` in bytes */
  readonly maxBytes: number
  /** send as a FILE whatever the type (`forceDocument`) */
  readonly asFile?: boolean | undefined
}

export interface MediaLoaderService {
  /** The media, ready to upload; a local file stays open until the scope closes. */
  readonly load: (request: MediaLoadRequest) => Effect.Effect<OutboundMedia, MediaLoadFailed, Scope.Scope>
}

/** How long loading one media reference may take (a URL that hangs). */
export const MEDIA_LOAD_TIMEOUT = Duration.seconds(60)

const isUrl = (ref: string) => /^https?:\/\//i.test(ref.trim())

const codes: ReadonlySet<string> = new Set<MediaLoadCode>([
  "not-found",
  "not-file",
  "empty",
  "too-large",
  "path-not-allowed",
  "unsupported-url",
  "url-blocked",
  "fetch-failed",
  "timeout",
  "load-failed"
])

/** Whether the host's SSRF guard refused the request: its `SsrFBlockedError`, as thrown or as a cause. */
const blockedBySsrfGuard = (thrown: unknown, depth = 0): boolean => {
  if (thrown === null || typeof thrown !== "object" || depth > 4) return false
  const error = thrown as { readonly name?: unknown; readonly cause?: unknown }
  return error.name === "SsrFBlockedError" || blockedBySsrfGuard(error.cause, depth + 1)
}

/** Maps what the host's loader threw (LocalMediaAccessError, MediaFetchError, ours) to a typed error. */
const failureOf = (ref: string, thrown: unknown): MediaLoadFailed => {
  const error = thrown as { readonly code?: unknown; readonly message?: unknown; readonly name?: unknown }
  const reason = typeof error?.message === "string" ? error.message : String(thrown)
  const hostCode = typeof error?.code === "string" ? error.code : ""
  const code: MediaLoadCode = thrown instanceof MediaFileProblem
    ? thrown.code
    : blockedBySsrfGuard(thrown)
    ? "url-blocked"
    : codes.has(hostCode)
    ? hostCode as MediaLoadCode
    : hostCode === "invalid-path" || hostCode === "invalid-root" || hostCode === "network-path-not-allowed" ||
        hostCode === "unsafe-bypass" || hostCode === "invalid-file-url"
    ? "path-not-allowed"
    : hostCode === "max_bytes" || /exceeds .*limit/i.test(reason)
    ? "too-large"
    : hostCode === "http_error" || hostCode === "fetch_failed" || error?.name === "MediaFetchError"
    ? "fetch-failed"
    : "load-failed"
  return new MediaLoadFailed({ ref: displayRef(ref), code, reason: reason.slice(0, 400) })
}

const bounded = (ref: string) => <A>(effect: Effect.Effect<A, MediaLoadFailed, Scope.Scope>) =>
  effect.pipe(
    Effect.timeoutFail({
      duration: MEDIA_LOAD_TIMEOUT,
      onTimeout: () =>
        new MediaLoadFailed({ ref: displayRef(ref), code: "timeout", reason: `no answer within ${Duration.format(MEDIA_LOAD_TIMEOUT)}` })
    })
  )

/** An opened file as outbound media; its handle closes with the scope. */
const fromOpened = (opened: OpenedMediaFile, contentType: string | undefined, fileName: string, asFile: boolean | undefined) =>
  Effect.as(keepOpenFor(opened), { source: fileSource(opened), contentType, fileName, asFile } satisfies OutboundMedia)

/** The host functions the loader uses (openclaw/plugin-sdk/web-media and media-local-roots). */
export interface HostMediaSdk {
  readonly web: Pick<typeof import("openclaw/plugin-sdk/web-media"), "loadWebMediaRaw">
  readonly roots: Pick<typeof import("openclaw/plugin-sdk/media-local-roots"), "getAgentScopedMediaLocalRoots">
}

const importHostSdk = async (): Promise<HostMediaSdk> => ({
  web: await import("openclaw/plugin-sdk/web-media"),
  roots: await import("openclaw/plugin-sdk/media-local-roots")
})

/**
 * Over the host's loader, imported on first use. `loadSdk` is the import; tests of our side (the URL
 * path's signal and timeout, the mapping of the host's errors) pass a fake of the host's functions.
 */
export const makeHostLoader = (loadSdk: () => Promise<HostMediaSdk> = importHostSdk): MediaLoaderService => ({
  load: (request) =>
    Effect.gen(function*() {
      const { ref, maxBytes } = request
      const sdk = yield* Effect.tryPromise({
        try: loadSdk,
        catch: (error) => failureOf(ref, error)
      })
      const access = request.access
      const localRoots = access._tag === "Agent"
        ? sdk.roots.getAgentScopedMediaLocalRoots(access.cfg as never, access.agentId)
        : access.localRoots
      const hostReadFile = access._tag === "Context" ? access.readFile : undefined
      const workspaceDir = access._tag === "Context" ? access.workspaceDir : undefined
      const common = { maxBytes, ...(workspaceDir === undefined ? {} : { workspaceDir }) }

      if (isUrl(ref) || hostReadFile !== undefined) {
        // the host's bytes, bounded by the cap: a URL (SSRF-guarded by the host) or the host's own reader
        const loaded = yield* Effect.tryPromise({
          try: (signal) =>
            sdk.web.loadWebMediaRaw(ref, {
              ...common,
              requestInit: { signal },
              readIdleTimeoutMs: Duration.toMillis(MEDIA_LOAD_TIMEOUT),
              ...(localRoots === undefined ? {} : { localRoots: localRoots as ReadonlyArray<string> }),
              ...(hostReadFile === undefined ? {} : { readFile: hostReadFile, hostReadCapability: true })
            }),
          catch: (error) => failureOf(ref, error)
        })
        if (loaded.buffer.length === 0) return yield* new MediaLoadFailed({ ref: displayRef(ref), code: "empty", reason: "the media is empty" })
        const fallback = isUrl(ref) ? sendableFileName(new URL(ref.trim()).pathname) : "file"
        return {
          source: UploadSource.bytes(loaded.buffer),
          contentType: loaded.contentType,
          fileName: sendableFileName(loaded.fileName, fallback),
          asFile: request.asFile
        } satisfies OutboundMedia
      }

      // a local file: the host checks the path against the roots, then calls our reader, which opens it
      let opened: OpenedMediaFile | undefined
      const loaded = yield* Effect.tryPromise({
        try: () =>
          sdk.web.loadWebMediaRaw(ref, {
            ...common,
            ...(localRoots === undefined || localRoots === "any" ? {} : { localRoots: localRoots as ReadonlyArray<string> }),
            readFile: async (filePath: string) => {
              opened = await openMediaFile(filePath, maxBytes)
              return opened.head
            }
          }),
        catch: (error) => failureOf(ref, error)
      }).pipe(Effect.onError(() => Effect.promise(async () => void (await opened?.handle.close().catch(() => {})))))
      if (opened === undefined) {
        return yield* new MediaLoadFailed({ ref: displayRef(ref), code: "load-failed", reason: "the host's loader did not read the file" })
      }
      return yield* fromOpened(opened, loaded.contentType, sendableFileName(loaded.fileName ?? path.basename(ref)), request.asFile)
    }).pipe(bounded(request.ref), Effect.withSpan("MediaLoader.load"))
})

/** MIME types by extension for `layerLocalFiles` (PROTOCOL §6.5, the common ones). */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".mp4": "video/mp4",
  ".mov": "video/quicktime",
  ".pdf": "application/pdf",
  ".txt": "text/plain",
  ".mp3": "audio/mpeg",
  ".zip": "application/zip"
}

const realpathOr = async (p: string) => {
  try {
    return await fs.realpath(p)
  } catch {
    return path.resolve(p)
  }
}

/** Plain local files under `roots` (tests on Node 20, where the host cannot load): same checks and errors. */
const localFilesLoader = (roots: ReadonlyArray<string>): MediaLoaderService => ({
  load: (request) =>
    Effect.gen(function*() {
      const { ref, maxBytes } = request
      if (isUrl(ref) || /^[a-z][a-z0-9+.-]*:/i.test(ref.trim())) {
        return yield* new MediaLoadFailed({ ref: displayRef(ref), code: "unsupported-url", reason: "this loader reads local files only" })
      }
      const opened = yield* Effect.tryPromise({
        try: async () => {
          const real = await realpathOr(ref)
          const allowed = await Promise.all(roots.map(realpathOr))
          if (!allowed.some((root) => real === root || real.startsWith(`${root}${path.sep}`))) {
            throw new MediaFileProblem("path-not-allowed", `Local media path is not under an allowed directory: ${ref}`)
          }
          return await openMediaFile(ref, maxBytes)
        },
        catch: (error) => failureOf(ref, error)
      })
      const contentType = MIME_BY_EXTENSION[path.extname(ref).toLowerCase()] ?? "application/octet-stream"
      return yield* fromOpened(opened, contentType, sendableFileName(path.basename(ref)), request.asFile)
    }).pipe(bounded(request.ref))
})

export class MediaLoader extends Context.Tag("openclaw-weixin/MediaLoader")<MediaLoader, MediaLoaderService>() {
  /** The host's loader, its local roots and SSRF guard (needs the running host). */
  static layerHost: Layer.Layer<MediaLoader> = Layer.succeed(MediaLoader, makeHostLoader())
  /** Local files under `roots` only, for tests. */
  static layerLocalFiles = (roots: ReadonlyArray<string>): Layer.Layer<MediaLoader> =>
    Layer.succeed(MediaLoader, localFilesLoader(roots))
}
