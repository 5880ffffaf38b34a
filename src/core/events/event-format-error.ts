import { MatrixError } from "../errors.ts";

/**
 * Why a PDU failed the format checks of its room version (server-server-api "Checks performed on
 * receipt of a PDU", step 1: an invalid event is dropped).
 */
export type EventFormatErrorReason =
  /** A key the PDU schema requires is absent. */
  | "missing_key"
  /** A key holds a value of the wrong JSON type. */
  | "wrong_type"
  /** A `prev_events`/`auth_events` entry is not in the version's reference format. */
  | "bad_reference"
  /** A user, room, event ID or server name does not follow its grammar. */
  | "bad_identifier"
  /** More `prev_events` or `auth_events` than the PDU schema allows. */
  | "too_many_references"
  /** The event or one of its keys is over a size limit. */
  | "too_large"
  /** A value cannot be encoded as the version's canonical JSON (floats or huge integers from v6). */
  | "not_canonical_json"
  /** JSON nested deeper than we are willing to encode. */
  | "too_deeply_nested";

/**
 * A malformed PDU. Extends MatrixError so that the client-server API answers it as the spec's
 * M_BAD_JSON (or M_TOO_LARGE for size limits); the federation receiver drops the event.
 */
export class EventFormatError extends MatrixError {
  readonly reason: EventFormatErrorReason;
  /** The key (or key path such as `prev_events[1]`) at fault, when there is one. */
  readonly key: string | undefined;

  constructor(reason: EventFormatErrorReason, message: string, key?: string) {
    super(reason === "too_large" ? "M_TOO_LARGE" : "M_BAD_JSON", message, reason === "too_large" ? 413 : 400);
    this.name = "EventFormatError";
    this.reason = reason;
    this.key = key;
  }
}
