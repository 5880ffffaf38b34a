import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import { smallJson } from "../canonical-json/arbitraries.ts";
import { ALL_VERSIONS, version } from "../fixtures/room-versions.ts";

// Written out from the spec's lists, independently of the implementation's tables.
// rooms/fragments/v1-redactions.md (and v6, v8, v9: the same top-level list).
const TOP_LEVEL_V1 = [
  "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth",
  "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts", "membership",
];
// rooms/fragments/v11-redactions.md: no origin, membership, prev_state.
const TOP_LEVEL_V11 = [
  "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures", "depth",
  "prev_events", "auth_events", "origin_server_ts",
];

function topLevelKept(id: string): string[] {
  return Number(id) >= 11 ? TOP_LEVEL_V11 : TOP_LEVEL_V1;
}

const PL_OLD = ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"];

/** Content keys kept, per room version and event type (undefined: none kept). */
function contentKept(id: string, type: string): string[] | "all" {
  const n = Number(id);
  switch (type) {
    case "m.room.member":
      if (n >= 11) return ["membership", "join_authorised_via_users_server", "third_party_invite"];
      return n >= 9 ? ["membership", "join_authorised_via_users_server"] : ["membership"];
    case "m.room.create":
      return n >= 11 ? "all" : ["creator"];
    case "m.room.join_rules":
      return n >= 8 ? ["join_rule", "allow"] : ["join_rule"];
    case "m.room.power_levels":
      return n >= 11 ? [...PL_OLD, "invite"] : PL_OLD;
    case "m.room.aliases":
      return n <= 5 ? ["aliases"] : [];
    case "m.room.history_visibility":
      return ["history_visibility"];
    case "m.room.redaction":
      return n >= 11 ? ["redacts"] : [];
    default:
      return [];
  }
}

const EVERY_CONTENT_KEY: JsonObject = {
  membership: "join",
  join_authorised_via_users_server: "@u:example.org",
  third_party_invite: { display_name: "alice", signed: { mxid: "@a:example.org", token: "t", signatures: {} } },
  displayname: "Alice",
  avatar_url: "mxc://example.org/a",
  creator: "@a:example.org",
  room_version: "9",
  "m.federate": false,
  predecessor: { room_id: "!old:example.org" },
  additional_creators: ["@b:example.org"],
  join_rule: "restricted",
  allow: [{ type: "m.room_membership", room_id: "!space:example.org" }],
  ban: 50,
  events: { "m.room.name": 50 },
  events_default: 0,
  invite: 0,
  kick: 50,
  redact: 50,
  state_default: 50,
  users: { "@a:example.org": 100 },
  users_default: 0,
  notifications: { room: 50 },
  aliases: ["#a:example.org"],
  history_visibility: "shared",
  redacts: "$target",
  reason: "spam",
  body: "hello",
  other: 1,
};

const EVERY_TOP_LEVEL_KEY: JsonObject = {
  event_id: "$e:example.org",
  type: "m.room.message",
  room_id: "!r:example.org",
  sender: "@a:example.org",
  state_key: "",
  content: {},
  hashes: { sha256: "abc" },
  signatures: { "example.org": { "ed25519:1": "sig" } },
  depth: 5,
  prev_events: ["$p"],
  prev_state: [],
  auth_events: ["$a"],
  origin: "example.org",
  origin_server_ts: 1234,
  membership: "join",
  unsigned: { age: 4612, redacted_because: { type: "m.room.redaction" } },
  redacts: "$old",
  age_ts: 99,
  outlier: true,
  custom: { nested: [1] },
};

const TYPES = [
  "m.room.member", "m.room.create", "m.room.join_rules", "m.room.power_levels", "m.room.aliases",
  "m.room.history_visibility", "m.room.redaction", "m.room.message", "m.room.name", "m.room.topic",
];

describe("redactEvent: top-level keys", () => {
  for (const id of ALL_VERSIONS) {
    it(`room version ${id} keeps exactly its list`, () => {
      const redacted = redactEvent(EVERY_TOP_LEVEL_KEY, version(id));
      assert.deepEqual(Object.keys(redacted).sort(), [...topLevelKept(id)].sort());
      for (const key of topLevelKept(id)) {
        if (key !== "content") assert.deepEqual(redacted[key], EVERY_TOP_LEVEL_KEY[key], key);
      }
    });
  }

  it("drops unsigned entirely (redacted_because included) in every version", () => {
    for (const id of ALL_VERSIONS) assert.equal("unsigned" in redactEvent(EVERY_TOP_LEVEL_KEY, version(id)), false);
  });

  it("drops origin, membership and prev_state from v11 only", () => {
    for (const id of ALL_VERSIONS) {
      const redacted = redactEvent(EVERY_TOP_LEVEL_KEY, version(id));
      for (const key of ["origin", "membership", "prev_state"]) assert.equal(key in redacted, Number(id) < 11, `${key} in v${id}`);
    }
  });

  it("drops a top-level redacts in every version, v11 keeps content.redacts", () => {
    const redaction: JsonObject = { ...EVERY_TOP_LEVEL_KEY, type: "m.room.redaction", content: { redacts: "$x", reason: "r" } };
    for (const id of ALL_VERSIONS) {
      const redacted = redactEvent(redaction, version(id));
      assert.equal("redacts" in redacted, false);
      assert.deepEqual(redacted["content"], Number(id) >= 11 ? { redacts: "$x" } : {});
    }
  });

  it("does not add keys the event lacks", () => {
    assert.deepEqual(redactEvent({ type: "m.room.message", body: "x" }, version("12")), { type: "m.room.message" });
  });
});

describe("redactEvent: content keys per event type", () => {
  for (const id of ALL_VERSIONS) {
    for (const type of TYPES) {
      it(`v${id} ${type}`, () => {
        const event: JsonObject = { type, content: EVERY_CONTENT_KEY, sender: "@a:example.org" };
        const content = redactEvent(event, version(id))["content"] as JsonObject;
        const kept = contentKept(id, type);
        if (kept === "all") {
          assert.deepEqual(content, EVERY_CONTENT_KEY);
          return;
        }
        assert.deepEqual(Object.keys(content).sort(), [...kept].sort());
        for (const key of kept) {
          if (key === "third_party_invite") continue;
          assert.deepEqual(content[key], EVERY_CONTENT_KEY[key], key);
        }
      });
    }
  }

  it("v11+ keeps only the signed key of a member's third_party_invite", () => {
    for (const id of ["11", "12"]) {
      const content = redactEvent({ type: "m.room.member", content: EVERY_CONTENT_KEY }, version(id))["content"] as JsonObject;
      assert.deepEqual(content["third_party_invite"], {
        signed: { mxid: "@a:example.org", token: "t", signatures: {} },
      });
    }
    const noSigned = redactEvent(
      { type: "m.room.member", content: { membership: "invite", third_party_invite: { display_name: "x" } } },
      version("11"),
    );
    assert.deepEqual(noSigned["content"], { membership: "invite", third_party_invite: {} });
    const notObject = redactEvent(
      { type: "m.room.member", content: { membership: "invite", third_party_invite: "x" } },
      version("11"),
    );
    assert.deepEqual(notObject["content"], { membership: "invite" });
  });

  it("before v11 a member's third_party_invite goes entirely", () => {
    for (const id of ["1", "6", "9", "10"]) {
      const content = redactEvent({ type: "m.room.member", content: EVERY_CONTENT_KEY }, version(id))["content"] as JsonObject;
      assert.equal("third_party_invite" in content, false);
    }
  });

  it("an event without a string type keeps no content", () => {
    assert.deepEqual(redactEvent({ content: { membership: "join" } }, version("1")), { content: {} });
  });

  it("does not modify its input", () => {
    const event = structuredClone(EVERY_TOP_LEVEL_KEY);
    event["content"] = structuredClone(EVERY_CONTENT_KEY);
    const before = structuredClone(event);
    for (const id of ALL_VERSIONS) redactEvent(event, version(id));
    assert.deepEqual(event, before);
  });

  it("treats a content key named __proto__ as an ordinary key", () => {
    const event = JSON.parse('{"type":"m.room.member","content":{"__proto__":{"x":1},"membership":"join"}}') as JsonObject;
    const content = redactEvent(event, version("9"))["content"] as JsonObject;
    assert.deepEqual(Object.keys(content), ["membership"]);
    assert.equal(Object.getPrototypeOf(content), Object.prototype);
  });
});

// Random events: arbitrary extra keys at the top level and in content, a type drawn from the
// ones with special rules.
const json = smallJson();
const keyName = fc.oneof(fc.constantFrom(...Object.keys(EVERY_TOP_LEVEL_KEY), ...Object.keys(EVERY_CONTENT_KEY)), fc.string());
const objectOf = fc.dictionary(keyName, json, { maxKeys: 12 });
const randomEvent = fc
  .record({ base: objectOf, type: fc.constantFrom(...TYPES), content: objectOf })
  .map(({ base, type, content }): JsonObject => ({ ...base, type, content }));

describe("redactEvent: properties", () => {
  it("is idempotent in every room version", () => {
    fc.assert(
      fc.property(randomEvent, fc.constantFrom(...ALL_VERSIONS), (event, id) => {
        const once = redactEvent(event, version(id));
        assert.deepEqual(redactEvent(once, version(id)), once);
      }),
    );
  });

  it("keeps exactly the protected keys that are present", () => {
    fc.assert(
      fc.property(randomEvent, fc.constantFrom(...ALL_VERSIONS), (event, id) => {
        const redacted = redactEvent(event, version(id));
        const expectedTop = Object.keys(event).filter((k) => topLevelKept(id).includes(k));
        assert.deepEqual(Object.keys(redacted).sort(), expectedTop.sort());
        const content = event["content"] as JsonObject;
        const kept = contentKept(id, event["type"] as string);
        const expectedContent = kept === "all" ? Object.keys(content) : Object.keys(content).filter((k) => kept.includes(k));
        const redactedContent = redacted["content"] as JsonObject;
        // v11 keeps a member event's third_party_invite only when it is an object (then reduced to `signed`).
        const memberInV11 = event["type"] === "m.room.member" && version(id).redaction === "v11";
        const withoutInvite = (keys: string[]): string[] =>
          keys.filter((k) => !(memberInV11 && k === "third_party_invite" && !isObject(content[k]))).sort();
        assert.deepEqual(Object.keys(redactedContent).sort(), withoutInvite(expectedContent));
      }),
    );
  });
});

function isObject(v: JsonValue | undefined): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
