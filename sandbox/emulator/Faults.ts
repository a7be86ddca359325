/**
 * Fault plans: per endpoint, what goes wrong for the next N requests (or until cleared).
 * Faults are checked before any normal handling, in the order they were set.
 */
import { Schema } from "effect"
import { type EndpointName, endpointNames } from "./Records.js"

const kind = <K extends string, F extends Schema.Struct.Fields>(name: K, fields: F) =>
  Schema.Struct({ kind: Schema.Literal(name), ...fields })

/** Every fault the emulator can produce. A Schema, so the admin API decodes plans instead of trusting them. */
export const Fault = Schema.Union(
  /** Answer with this HTTP status (and body, default a short text). */
  kind("http", {
    status: Schema.Int.pipe(Schema.between(100, 599)),
    body: Schema.optional(Schema.String),
    errorMessageHeader: Schema.optional(Schema.String)
  }),
  /** Answer 200 with `{ret, errcode, errmsg}` as given. */
  kind("ret", { ret: Schema.optional(Schema.Number), errcode: Schema.optional(Schema.Number), errmsg: Schema.optional(Schema.String) }),
  /** Wait this long, then handle the request normally. */
  kind("delay", { ms: Schema.NonNegative }),
  /** Never answer; the request is released when the client gives up or the emulator closes. */
  kind("hang", {}),
  /** Destroy the socket after reading the request. */
  kind("reset", {}),
  /** 200 with a body that is not JSON at all. */
  kind("malformed_json", {}),
  /** 200 with the normal answer cut in half (the normal side effects still happen). */
  kind("truncated_json", {}),
  /** 200 with an HTML error page (what a misbehaving proxy returns). */
  kind("html_error", {}),
  /** 200 with a JSON body of roughly this many bytes (default 8 MiB). */
  kind("huge_body", { bytes: Schema.optional(Schema.Int.pipe(Schema.positive())) }),
  /** 200 with the endpoint's fields in the wrong types (numbers for strings and so on). */
  kind("wrong_shape", {}),
  /** Session expired: `ret: -14` (via "ret", default) or `errcode: -14` (via "errcode"). */
  kind("session_expired", { via: Schema.optional(Schema.Literal("ret", "errcode")) }),
  /** sendmessage only: `{ret: 0}` without `message_id` (accepted, not delivered). */
  kind("no_message_id", {}),
  /** sendmessage only: `ret: -2, errmsg: "rate limited"`. */
  kind("rate_limited", {}),
  /** cdn_upload only: 200 without the `x-encrypted-param` header. */
  kind("missing_encrypted_param", {}),
  /**
   * cdn_download only: the stored media, served wrong. `truncated`: the full length declared, half sent, the
   * connection closed; `stall`: half sent, then silence; `unaligned`: 5 bytes short of whole blocks (honest
   * length); `bad_padding`: whole blocks whose last one is not PKCS#7 padding under the item's key;
   * `wrong_key`: the plaintext under another key (the padding check fails); `wrong_content`: other bytes of
   * the same length under the item's key (decrypts cleanly, fails the item's MD5).
   */
  kind("cdn_body", { defect: Schema.Literal("truncated", "stall", "unaligned", "bad_padding", "wrong_key", "wrong_content") }),
  /** cdn_download only: a body of `bytes` random bytes instead of the media, its length declared unless `chunked`. */
  kind("oversize", { bytes: Schema.Int.pipe(Schema.positive()), chunked: Schema.optional(Schema.Boolean) })
)
export type Fault = typeof Fault.Type

export const FaultPlan = Schema.Struct({
  endpoint: Schema.Literal(...endpointNames),
  fault: Fault,
  /** How many requests it applies to; absent = until cleared. */
  times: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Only requests authenticated as this bot (for multi-account isolation tests); absent = any caller. */
  botId: Schema.optional(Schema.String)
})
export type FaultPlan = typeof FaultPlan.Type

interface ActivePlan {
  readonly plan: FaultPlan
  remaining: number
}

export class FaultBook {
  private plans: Array<ActivePlan> = []

  set(plan: FaultPlan): void {
    if (plan.times !== undefined && (!Number.isInteger(plan.times) || plan.times < 1)) {
      throw new Error(`fault plan "times" must be a positive integer, got ${plan.times}`)
    }
    this.plans.push({ plan, remaining: plan.times ?? Number.POSITIVE_INFINITY })
  }

  clear(endpoint?: EndpointName): void {
    this.plans = endpoint === undefined ? [] : this.plans.filter((p) => p.plan.endpoint !== endpoint)
  }

  /** Takes the fault for one request to `endpoint` by `botId` (if known), consuming one use of its plan. */
  take(endpoint: EndpointName, botId: string | undefined): Fault | undefined {
    const active = this.plans.find((p) =>
      p.plan.endpoint === endpoint && p.remaining > 0 && (p.plan.botId === undefined || p.plan.botId === botId)
    )
    if (active === undefined) return undefined
    active.remaining -= 1
    if (active.remaining <= 0) this.plans = this.plans.filter((p) => p !== active)
    return active.plan.fault
  }

  list(): ReadonlyArray<FaultPlan & { readonly remaining: number | null }> {
    return this.plans.map((p) => ({ ...p.plan, remaining: Number.isFinite(p.remaining) ? p.remaining : null }))
  }
}
