/**
 * Names and types of inbound media (PROTOCOL §6.3, §6.5): the file name a sender chose, made safe to hand
 * to a media store, and the MIME type its extension implies.
 *
 * `file_item.file_name` comes from the other side of the chat: it may carry path separators, `..`,
 * control characters or nothing at all. {@link safeFileName} keeps the last path segment only, so a name
 * can never steer where a file lands; the store (the host's) adds its own unique id.
 *
 * @example
 * ```ts
 * safeFileName("../../etc/passwd") // "passwd"
 * safeFileName("..") // undefined
 * mimeFromFileName("Report.PDF") // "application/pdf"
 * ```
 */

const MAX_NAME_CHARS = 200

/** The last path segment of `raw`, without control characters or leading dots; undefined when nothing is left. */
export const safeFileName = (raw: string | undefined): string | undefined => {
  if (raw === undefined) return undefined
  // eslint-disable-next-line no-control-regex
  const cleaned = raw.replace(/[\u0000-\u001f\u007f]/g, "")
  const last = cleaned.split(/[/\\]/).pop() ?? ""
  const name = last.trim().replace(/^\.+/, "").trim()
  if (name === "") return undefined
  return [...name].slice(-MAX_NAME_CHARS).join("")
}

/** Extension → MIME, the table of PROTOCOL §6.5. */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  pdf: "application/pdf",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ppt: "application/vnd.ms-powerpoint",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  txt: "text/plain",
  csv: "text/csv",
  zip: "application/zip",
  tar: "application/x-tar",
  gz: "application/gzip",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  wav: "audio/wav",
  mp4: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  avi: "video/x-msvideo",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp"
}

/**
 * The MIME type of a file name by its last extension (any case), or undefined when the table of PROTOCOL
 * §6.5 does not know it. The host's own helpers decide in production; this is the in-memory store's rule.
 */
export const mimeFromFileName = (name: string | undefined): string | undefined => {
  const match = /\.([^.]+)$/.exec(name ?? "")
  return match === null ? undefined : MIME_BY_EXTENSION[(match[1] ?? "").toLowerCase()]
}
