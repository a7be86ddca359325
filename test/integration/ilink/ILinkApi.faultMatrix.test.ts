/**
 * Every emulator fault plan against every iLink endpoint, over real HTTP on 127.0.0.1: each pair ends in
 * the outcome the client promises (PROTOCOL §1.5–§1.7), and the emulator records no
 * violation. The list of faults is checked against the emulator's own Fault schema, so a new fault kind
 * cannot be added without deciding here what each endpoint does with it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { Fault } from "../../../sandbox/emulator/Faults.js"
import type { ILinkError } from "../../../src/wire/ILinkError.js"
import { allEndpoints, type EndpointName, failureWith, run } from "../../support/ILinkApiWorld.js"

/** One instance of every fault kind the emulator can plan. */
const faults: ReadonlyArray<Fault> = [
  { kind: "http", status: 503, body: "overloaded" },
  { kind: "ret", ret: -1, errmsg: "busy" },
  { kind: "delay", ms: 200 },
  { kind: "hang" },
  { kind: "reset" },
  { kind: "malformed_json" },
  { kind: "truncated_json" },
  { kind: "html_error" },
  { kind: "huge_body" },
  { kind: "wrong_shape" },
  { kind: "session_expired" },
  { kind: "no_message_id" },
  { kind: "rate_limited" },
  { kind: "missing_encrypted_param" },
  { kind: "cdn_body", defect: "truncated" },
  { kind: "oversize", bytes: 1024 }
]

const isQr = (endpoint: EndpointName) => endpoint === "get_bot_qrcode" || endpoint === "get_qrcode_status"
const pathOf = (endpoint: EndpointName) =>
  `ilink/bot/${endpoint === "notifystart" || endpoint === "notifystop" ? `msg/${endpoint}` : endpoint}`

/** One line per outcome: the error tag with the details a caller decides on (where, whether it reached the server). */
const describeOutcome = (result: Either.Either<unknown, ILinkError>): string => {
  if (Either.isRight(result)) return "ok"
  const e = result.left
  const where = `${e.endpoint} reached=${e.reachedServer}`
  switch (e._tag) {
    case "ILinkTransportError":
      return `${e._tag} ${e.kind} ${where}`
    case "ILinkHttpStatusError":
      return `${e._tag} ${e.status} ${where}`
    case "ILinkApiError":
    case "AuthExpired":
      return `${e._tag} ret=${e.ret} errcode=${e.errcode} ${where}`
    default:
      return `${e._tag} ${where}`
  }
}

/**
 * What the client makes of `fault` on `endpoint`, in the form of {@link describeOutcome}.
 * sendtyping never reads its body; QR answers without their required fields cannot be decoded.
 */
const expected = (endpoint: EndpointName, fault: Fault): string => {
  const at = (reached: string) => `${pathOf(endpoint)} reached=${reached}`
  const decodeError = `ILinkDecodeError ${at("yes")}`
  const apiError = (ret: number) => `ILinkApiError ret=${ret} errcode=undefined ${at("yes")}`
  switch (fault.kind) {
    case "http":
      return `ILinkHttpStatusError 503 ${at("yes")}`
    case "reset":
      // the request was written before the socket died: it may have been acted on
      return `ILinkTransportError reset ${at("maybe")}`
    case "hang":
      // a long-poll that gets no answer is an empty poll (PROTOCOL §1.7)
      return endpoint === "getupdates" ? "ok" : `ILinkTimeoutError ${at("maybe")}`
    case "delay":
      return "ok"
    case "malformed_json":
    case "truncated_json":
    case "html_error":
    case "huge_body":
    case "wrong_shape":
      return endpoint === "sendtyping" ? "ok" : decodeError
    case "ret":
      return endpoint === "sendtyping" ? "ok" : isQr(endpoint) ? decodeError : apiError(-1)
    case "session_expired":
      return endpoint === "getupdates"
        ? `AuthExpired ret=-14 errcode=undefined ${at("yes")}`
        : endpoint === "sendtyping" ? "ok" : isQr(endpoint) ? decodeError : apiError(-14)
    case "rate_limited":
      return endpoint === "sendmessage" ? apiError(-2) : "ok"
    // faults of another endpoint (sendmessage, CDN): the emulator answers normally
    case "no_message_id":
    case "missing_encrypted_param":
    case "cdn_body":
    case "oversize":
      return "ok"
  }
}

describe("ILinkApi × every emulator fault plan × every endpoint (real HTTP on 127.0.0.1)", () => {
  it("the matrix covers every fault kind the emulator defines", () => {
    const defined = Fault.members.map((member) => member.fields.kind.literals[0]).sort()
    expect(faults.map((f) => f.kind).sort()).toEqual(defined)
  })

  for (const fault of faults) {
    it.live(`${fault.kind}: every endpoint ends in its promised outcome, with no violation`, () =>
      run((w) =>
        Effect.gen(function*() {
          const outcomes: Array<string> = []
          for (const endpoint of allEndpoints) outcomes.push(`${endpoint}: ${describeOutcome(yield* failureWith(w, endpoint, fault))}`)
          expect(outcomes).toEqual(allEndpoints.map((endpoint) => `${endpoint}: ${expected(endpoint, fault)}`))
          // every plan was used up by its one request; none is left to leak into the next call
          expect(yield* w.emulator.faults).toEqual([])
        })
      ))
  }
})
