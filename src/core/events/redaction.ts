import { isJsonObject } from "../json.ts";
import type { JsonObject, JsonValue } from "../json.ts";
import type { RedactionRules, RoomVersion } from "../room-versions/room-versions.ts";
import type { Pdu } from "./room-event.ts";

// The redaction algorithms of the room versions: rooms/fragments/v1-redactions.md (v1-v5),
// v6-redactions.md (v6-v7), v8.md "Redactions" (v8), v9-redactions.md (v9-v10) and
// v11-redactions.md (v11, and v12 which keeps it unchanged: rooms/v12.md "Unchanged from v11").

const TOP_LEVEL_BEFORE_V11: readonly string[] = [
  "event_id",
  "type",
  "room_id",
  "sender",
  "state_key",
  "content",
  "hashes",
  "signatures",
  "depth",
  "prev_events",
  "prev_state",
  "auth_events",
  "origin",
  "origin_server_ts",
  "membership",
];

// rooms/v11.md "Redactions": origin, membership and prev_state are no longer protected.
const TOP_LEVEL_V11: readonly string[] = TOP_LEVEL_BEFORE_V11.filter(
  (key) => key !== "origin" && key !== "membership" && key !== "prev_state",
);

/** The top-level keys a version's redaction algorithm keeps. */
export function redactionKeptTopLevelKeys(rules: RedactionRules): readonly string[] {
  return rules === "v11" ? TOP_LEVEL_V11 : TOP_LEVEL_BEFORE_V11;
}

const POWER_LEVELS_BEFORE_V11 = ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"];

type ContentRules = Readonly<Record<string, readonly string[] | "all">>;

const CONTENT_V1: ContentRules = {
  "m.room.member": ["membership"],
  "m.room.create": ["creator"],
  "m.room.join_rules": ["join_rule"],
  "m.room.power_levels": POWER_LEVELS_BEFORE_V11,
  "m.room.aliases": ["aliases"],
  "m.room.history_visibility": ["history_visibility"],
};

// rooms/fragments/v6-redactions.md: m.room.aliases loses its protection.
const CONTENT_V6: ContentRules = {
  "m.room.member": ["membership"],
  "m.room.create": ["creator"],
  "m.room.join_rules": ["join_rule"],
  "m.room.power_levels": POWER_LEVELS_BEFORE_V11,
  "m.room.history_visibility": ["history_visibility"],
};

// rooms/v8.md "Redactions": join rules keep `allow`.
const CONTENT_V8: ContentRules = { ...CONTENT_V6, "m.room.join_rules": ["join_rule", "allow"] };

// rooms/fragments/v9-redactions.md: members keep `join_authorised_via_users_server`.
const CONTENT_V9: ContentRules = { ...CONTENT_V8, "m.room.member": ["membership", "join_authorised_via_users_server"] };

// rooms/fragments/v11-redactions.md. The member's `third_party_invite` is handled on its own below.
const CONTENT_V11: ContentRules = {
  "m.room.member": ["membership", "join_authorised_via_users_server"],
  "m.room.create": "all",
  "m.room.join_rules": ["join_rule", "allow"],
  "m.room.power_levels": [...POWER_LEVELS_BEFORE_V11, "invite"],
  "m.room.history_visibility": ["history_visibility"],
  "m.room.redaction": ["redacts"],
};

const CONTENT_RULES: Readonly<Record<RedactionRules, ContentRules>> = {
  v1: CONTENT_V1,
  v6: CONTENT_V6,
  v8: CONTENT_V8,
  v9: CONTENT_V9,
  v11: CONTENT_V11,
};

/**
 * The content keys a version's redaction algorithm keeps for an event type: a list, or "all".
 * (v11's m.room.member also keeps `third_party_invite`, reduced to its `signed` key.)
 */
export function redactionKeptContentKeys(rules: RedactionRules, type: string): readonly string[] | "all" {
  return Object.hasOwn(CONTENT_RULES[rules], type) ? (CONTENT_RULES[rules][type] as readonly string[] | "all") : [];
}

function pick(object: JsonObject, keys: readonly string[]): JsonObject {
  const entries: Array<[string, JsonValue]> = [];
  for (const key of keys) {
    if (Object.hasOwn(object, key)) entries.push([key, object[key] as JsonValue]);
  }
  // fromEntries defines own properties, so a hostile "__proto__" key could never reach a prototype.
  return Object.fromEntries(entries);
}

function redactContent(content: JsonObject, type: JsonValue | undefined, rules: RedactionRules): JsonObject {
  if (typeof type !== "string") return {};
  const kept = redactionKeptContentKeys(rules, type);
  if (kept === "all") return content;
  const redacted = pick(content, kept);
  // rooms/v11.md "Event format": third_party_invite "will only contain the `signed` key after redaction".
  if (rules === "v11" && type === "m.room.member") {
    const invite = content["third_party_invite"];
    if (isJsonObject(invite)) {
      return { ...redacted, third_party_invite: pick(invite, ["signed"]) };
    }
  }
  return redacted;
}

/**
 * Redacts a PDU by its room version's algorithm: every top-level key outside the version's list
 * goes (so does `unsigned`: servers keep nothing of it), and `content` keeps only the keys its
 * event type protects. The input is not modified; kept nested values are shared with it.
 */
export function redactEvent(pdu: Pdu, version: RoomVersion): Pdu {
  const rules = version.redaction;
  const redacted = pick(pdu, redactionKeptTopLevelKeys(rules));
  const content = redacted["content"];
  if (isJsonObject(content)) {
    return { ...redacted, content: redactContent(content, pdu["type"], rules) };
  }
  return redacted;
}
