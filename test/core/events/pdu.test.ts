import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventFormatError } from "../../../src/core/events/event-format-error.ts";
import { MAX_AUTH_EVENTS, MAX_PREV_EVENTS, checkPduFormat } from "../../../src/core/events/format.ts";
import { redactsOf, toRoomEvent } from "../../../src/core/events/pdu.ts";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import { isJsonObject } from "../../../src/core/json.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import { smallJson } from "../canonical-json/arbitraries.ts";
import { ALL_VERSIONS, version } from "../fixtures/room-versions.ts";

// data/api/server-server/examples/components/*.json and pdu_v*.json, as the spec writes them.
const COMPONENTS: Record<string, JsonObject> = {
  "components/pdu_base.json": {
    room_id: "!UcYsUzyxTGDxLBEvLy:example.org",
    sender: "@alice:example.com",
    origin_server_ts: 1404838188000,
    depth: 12,
    type: "m.room.message",
    content: { key: "value" },
    hashes: { sha256: "thishashcoversallfieldsincasethisisredacted" },
    signatures: {
      "example.com": {
        "ed25519:key_version": "these86bytesofbase64signaturecoveressentialfieldsincludinghashessocancheckredactedpdus",
      },
    },
    unsigned: { age: 4612 },
  },
  "components/auth_events_prev_events_v4.json": {
    auth_events: ["$urlsafe_base64_encoded_eventid", "$a-different-event-id"],
    prev_events: ["$urlsafe_base64_encoded_eventid", "$a-different-event-id"],
  },
};
const EXAMPLES: Record<string, JsonObject> = {
  pdu_v1: {
    $ref: "components/pdu_base.json",
    event_id: "$a4ecee13e2accdadf56c1025:example.com",
    auth_events: [["$af232176:example.org", { sha256: "abase64encodedsha256hashshouldbe43byteslong" }]],
    prev_events: [["$af232176:example.org", { sha256: "abase64encodedsha256hashshouldbe43byteslong" }]],
  },
  pdu_v3: {
    $ref: "components/pdu_base.json",
    auth_events: ["$base64encodedeventid", "$adifferenteventid"],
    prev_events: ["$base64encodedeventid", "$adifferenteventid"],
    redacts: "$some/old+event",
  },
  pdu_v4: {
    allOf: [
      { $ref: "components/pdu_base.json" },
      { $ref: "components/auth_events_prev_events_v4.json" },
      { redacts: "$some-old_event" },
    ],
  },
  pdu_v4_join_membership: {
    $ref: "components/pdu_base.json",
    signatures: {
      "example.com": {
        "ed25519:key_version": "these86bytesofbase64signaturecoveressentialfieldsincludinghashessocancheckredactedpdus",
      },
      "resident.example.com": { "ed25519:other_key_version": "a different signature" },
    },
    auth_events: ["$urlsafe_base64_encoded_eventid", "$a-different-event-id"],
    prev_events: ["$urlsafe_base64_encoded_eventid", "$a-different-event-id"],
    type: "m.room.member",
    state_key: "@alice:example.com",
    content: { membership: "join", join_authorised_via_users_server: "@arbitrary:resident.example.com" },
  },
  pdu_v11: {
    allOf: [{ $ref: "components/pdu_base.json" }, { $ref: "components/auth_events_prev_events_v4.json" }],
  },
  pdu_v12: {
    allOf: [
      { $ref: "components/pdu_base.json" },
      { $ref: "components/auth_events_prev_events_v4.json" },
      { room_id: "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ" },
    ],
  },
  minimal_pdu: {
    type: "m.room.minimal_pdu",
    room_id: "!somewhere:example.org",
    content: { see_room_version_spec: "The event format changes depending on the room version." },
  },
};

/** Resolves the examples' `$ref` (siblings override the referenced object) and `allOf` (merged in order). */
function resolve(example: JsonObject): JsonObject {
  let out: JsonObject = {};
  for (const [key, value] of Object.entries(example)) {
    if (key === "$ref") out = { ...structuredClone(COMPONENTS[value as string] as JsonObject), ...out };
    else if (key === "allOf") for (const part of value as JsonObject[]) out = { ...out, ...resolve(part) };
    else out[key] = value;
  }
  return out;
}

function example(name: string): JsonObject {
  return resolve(EXAMPLES[name] as JsonObject);
}

/** Which room versions each example PDU is the format of (rooms/vN.md "Event format"). */
const EXAMPLE_VERSIONS: Array<[string, string[]]> = [
  ["pdu_v1", ["1", "2"]],
  ["pdu_v3", ["3"]],
  ["pdu_v4", ["4", "5", "6", "7", "8", "9", "10"]],
  ["pdu_v4_join_membership", ["4", "5", "6", "7", "8", "9", "10", "11"]],
  ["pdu_v11", ["11"]],
  ["pdu_v12", ["12"]],
];

function formatError(reason: string, key?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof EventFormatError, `expected an EventFormatError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (key !== undefined) assert.equal(err.key, key, err.message);
    return true;
  };
}

describe("toRoomEvent on the spec's example PDUs", () => {
  for (const [name, versions] of EXAMPLE_VERSIONS) {
    for (const id of versions) {
      it(`${name}.json in room version ${id}`, () => {
        const pdu = example(name);
        const event = toRoomEvent(pdu, version(id));
        assert.equal(event.sender, pdu["sender"]);
        assert.equal(event.roomId, pdu["room_id"]);
        assert.equal(event.type, pdu["type"]);
        assert.equal(event.depth, 12);
        assert.equal(event.originServerTs, 1404838188000);
        assert.deepEqual(event.content, pdu["content"]);
        assert.equal(event.roomVersion.id, id);
        assert.equal(event.pdu, pdu);
        assert.equal(event.stateKey, pdu["state_key"]);
      });
    }
  }

  it("pdu_v1.json: the event ID is read and the [id, hash] pairs are flattened", () => {
    const event = toRoomEvent(example("pdu_v1"), version("1"));
    assert.equal(event.eventId, "$a4ecee13e2accdadf56c1025:example.com");
    assert.deepEqual(event.prevEventIds, ["$af232176:example.org"]);
    assert.deepEqual(event.authEventIds, ["$af232176:example.org"]);
  });

  it("pdu_v3.json: the event ID is computed in standard base64", () => {
    const event = toRoomEvent(example("pdu_v3"), version("3"));
    assert.match(event.eventId, /^\$[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(event.prevEventIds, ["$base64encodedeventid", "$adifferenteventid"]);
    assert.equal(event.redacts, undefined, "redacts only means something on m.room.redaction");
  });

  it("pdu_v4.json onwards: the event ID is computed in URL-safe base64", () => {
    for (const id of ["4", "10", "11", "12"]) {
      const name = id === "12" ? "pdu_v12" : id === "11" ? "pdu_v11" : "pdu_v4";
      assert.match(toRoomEvent(example(name), version(id)).eventId, /^\$[A-Za-z0-9_-]{43}$/);
    }
  });

  it("minimal_pdu.json is not a whole PDU in any room version", () => {
    for (const id of ALL_VERSIONS) assert.throws(() => toRoomEvent(example("minimal_pdu"), version(id)), EventFormatError);
  });

  it("v1 references are refused in v3+ and v3+ references in v1-v2", () => {
    assert.throws(() => toRoomEvent(example("pdu_v1"), version("3")), formatError("bad_reference"));
    const v4 = example("pdu_v4");
    assert.throws(() => toRoomEvent({ ...v4, event_id: "$e:example.org" }, version("1")), formatError("bad_reference"));
  });

  it("v12 needs a hash room ID and older versions a room ID with a domain", () => {
    assert.throws(() => toRoomEvent(example("pdu_v11"), version("12")), formatError("bad_identifier", "room_id"));
    assert.throws(() => toRoomEvent(example("pdu_v12"), version("11")), formatError("bad_identifier", "room_id"));
  });
});

describe("toRoomEvent: redacts", () => {
  const redactionV4: JsonObject = { ...example("pdu_v4"), type: "m.room.redaction", content: { reason: "spam" } };

  it("v1-v10: the top-level redacts of an m.room.redaction", () => {
    for (const id of ["3", "4", "10"]) {
      const pdu = id === "3" ? { ...example("pdu_v3"), type: "m.room.redaction" } : redactionV4;
      assert.equal(toRoomEvent(pdu, version(id)).redacts, id === "3" ? "$some/old+event" : "$some-old_event");
    }
    const withContent = { ...redactionV4, content: { redacts: "$elsewhere" } };
    assert.equal(toRoomEvent(withContent, version("10")).redacts, "$some-old_event");
  });

  it("v1-v10: a redacted redaction has no redacts and is still valid", () => {
    const redacted = redactEvent(redactionV4, version("10"));
    assert.equal(toRoomEvent(redacted, version("10")).redacts, undefined);
  });

  it("v1-v10: a top-level redacts must be a string", () => {
    assert.throws(() => toRoomEvent({ ...redactionV4, redacts: 5 }, version("6")), formatError("wrong_type", "redacts"));
  });

  it("v11+: content.redacts, and a top-level redacts means nothing (rooms/v11.md)", () => {
    const base = { ...example("pdu_v11"), type: "m.room.redaction" };
    assert.equal(toRoomEvent({ ...base, content: { redacts: "$target" } }, version("11")).redacts, "$target");
    assert.equal(toRoomEvent({ ...base, content: {}, redacts: "$top" }, version("11")).redacts, undefined);
    assert.equal(toRoomEvent({ ...base, content: { redacts: 5 }, redacts: 5 }, version("11")).redacts, undefined);
    assert.equal(redactsOf({ ...base, content: { redacts: "$target" } }, version("11")), "$target");
  });

  it("is undefined for other event types", () => {
    assert.equal(toRoomEvent({ ...example("pdu_v11"), content: { redacts: "$x" } }, version("11")).redacts, undefined);
  });
});

// Malformed PDUs: each case breaks one thing in an otherwise valid PDU.
type Mutation = [description: string, mutate: (pdu: JsonObject) => JsonObject, reason: string, key?: string];

function without(pdu: JsonObject, key: string): JsonObject {
  return Object.fromEntries(Object.entries(pdu).filter(([k]) => k !== key));
}

const COMMON_MUTATIONS: Mutation[] = [
  ["no sender", (p) => without(p, "sender"), "missing_key", "sender"],
  ["numeric sender", (p) => ({ ...p, sender: 5 }), "wrong_type", "sender"],
  ["sender without server", (p) => ({ ...p, sender: "@alice" }), "bad_identifier", "sender"],
  ["sender without sigil", (p) => ({ ...p, sender: "alice:example.com" }), "bad_identifier", "sender"],
  ["sender with a bad server name", (p) => ({ ...p, sender: "@alice:exa mple.com" }), "bad_identifier", "sender"],
  ["no origin_server_ts", (p) => without(p, "origin_server_ts"), "missing_key", "origin_server_ts"],
  ["string origin_server_ts", (p) => ({ ...p, origin_server_ts: "1" }), "wrong_type", "origin_server_ts"],
  ["float origin_server_ts", (p) => ({ ...p, origin_server_ts: 1.5 }), "wrong_type", "origin_server_ts"],
  ["no type", (p) => without(p, "type"), "missing_key", "type"],
  ["null type", (p) => ({ ...p, type: null }), "wrong_type", "type"],
  ["numeric state_key", (p) => ({ ...p, state_key: 0 }), "wrong_type", "state_key"],
  ["no content", (p) => without(p, "content"), "missing_key", "content"],
  ["array content", (p) => ({ ...p, content: [] }), "wrong_type", "content"],
  ["string content", (p) => ({ ...p, content: "x" }), "wrong_type", "content"],
  ["no depth", (p) => without(p, "depth"), "missing_key", "depth"],
  ["string depth", (p) => ({ ...p, depth: "12" }), "wrong_type", "depth"],
  ["float depth", (p) => ({ ...p, depth: 1.5 }), "wrong_type", "depth"],
  ["negative depth", (p) => ({ ...p, depth: -1 }), "wrong_type", "depth"],
  ["no hashes", (p) => without(p, "hashes"), "missing_key", "hashes"],
  ["hashes without sha256", (p) => ({ ...p, hashes: {} }), "missing_key", "hashes.sha256"],
  ["numeric hashes.sha256", (p) => ({ ...p, hashes: { sha256: 1 } }), "wrong_type", "hashes.sha256"],
  ["array hashes", (p) => ({ ...p, hashes: ["x"] }), "wrong_type", "hashes"],
  ["no signatures", (p) => without(p, "signatures"), "missing_key", "signatures"],
  ["string signatures", (p) => ({ ...p, signatures: "x" }), "wrong_type", "signatures"],
  ["signatures of a server not an object", (p) => ({ ...p, signatures: { "example.com": "x" } }), "wrong_type"],
  ["a signature not a string", (p) => ({ ...p, signatures: { "example.com": { "ed25519:a": 1 } } }), "wrong_type"],
  ["string unsigned", (p) => ({ ...p, unsigned: "x" }), "wrong_type", "unsigned"],
  ["no room_id", (p) => without(p, "room_id"), "missing_key", "room_id"],
  ["numeric room_id", (p) => ({ ...p, room_id: 1 }), "wrong_type", "room_id"],
  ["room_id without sigil", (p) => ({ ...p, room_id: "abc:example.org" }), "bad_identifier", "room_id"],
  ["no prev_events", (p) => without(p, "prev_events"), "missing_key", "prev_events"],
  ["no auth_events", (p) => without(p, "auth_events"), "missing_key", "auth_events"],
  ["object prev_events", (p) => ({ ...p, prev_events: {} }), "wrong_type", "prev_events"],
  ["string auth_events", (p) => ({ ...p, auth_events: "$a" }), "wrong_type", "auth_events"],
  ["a numeric reference", (p) => ({ ...p, prev_events: [1] }), "bad_reference", "prev_events[0]"],
  ["a reference without $", (p) => ({ ...p, auth_events: ["abc"] }), "bad_reference", "auth_events[0]"],
  ["a 256-byte reference", (p) => ({ ...p, auth_events: ["$" + "a".repeat(255)] }), "bad_reference", "auth_events[0]"],
  ["21 prev_events", (p) => ({ ...p, prev_events: refsLike(p, MAX_PREV_EVENTS + 1) }), "too_many_references", "prev_events"],
  ["11 auth_events", (p) => ({ ...p, auth_events: refsLike(p, MAX_AUTH_EVENTS + 1) }), "too_many_references", "auth_events"],
];

/** n references in the format of the PDU's own prev_events. */
function refsLike(pdu: JsonObject, n: number): JsonValue[] {
  const first = (pdu["prev_events"] as JsonValue[])[0] as JsonValue;
  return Array.from({ length: n }, () => first);
}

const V1_MUTATIONS: Mutation[] = [
  ["no event_id", (p) => without(p, "event_id"), "missing_key", "event_id"],
  ["event_id without domain", (p) => ({ ...p, event_id: "$abc" }), "bad_identifier", "event_id"],
  ["a plain reference", (p) => ({ ...p, prev_events: ["$a:example.org"] }), "bad_reference", "prev_events[0]"],
  ["a 1-element pair", (p) => ({ ...p, prev_events: [["$a:example.org"]] }), "bad_reference", "prev_events[0]"],
  ["a 3-element pair", (p) => ({ ...p, prev_events: [["$a:example.org", { sha256: "x" }, 1]] }), "bad_reference"],
  ["a pair without hash", (p) => ({ ...p, auth_events: [["$a:example.org", {}]] }), "bad_reference", "auth_events[0]"],
  ["a pair with a string hash", (p) => ({ ...p, auth_events: [["$a:example.org", "h"]] }), "bad_reference"],
  ["a pair whose ID has no domain", (p) => ({ ...p, auth_events: [["$a", { sha256: "h" }]] }), "bad_reference"],
];

const V3_MUTATIONS: Mutation[] = [
  ["an [id, hash] pair", (p) => ({ ...p, prev_events: [["$a:example.org", { sha256: "x" }]] }), "bad_reference", "prev_events[0]"],
];

const EXAMPLE_FOR: Record<string, string> = {
  "1": "pdu_v1", "2": "pdu_v1", "3": "pdu_v3", "4": "pdu_v4", "5": "pdu_v4", "6": "pdu_v4", "7": "pdu_v4",
  "8": "pdu_v4", "9": "pdu_v4", "10": "pdu_v4", "11": "pdu_v11", "12": "pdu_v12",
};

describe("toRoomEvent rejects malformed PDUs", () => {
  for (const id of ALL_VERSIONS) {
    const mutations = [...COMMON_MUTATIONS, ...(Number(id) <= 2 ? V1_MUTATIONS : V3_MUTATIONS)];
    it(`room version ${id}: ${mutations.length} malformations`, () => {
      const valid = example(EXAMPLE_FOR[id] as string);
      toRoomEvent(valid, version(id));
      for (const [description, mutate, reason, key] of mutations) {
        assert.throws(() => toRoomEvent(mutate(structuredClone(valid)), version(id)), formatError(reason, key), description);
      }
    });
  }

  it("refuses what is not an object", () => {
    for (const value of [null, 1, "x", [], true]) {
      assert.throws(() => toRoomEvent(value as unknown as JsonObject, version("12")), formatError("wrong_type"));
      assert.throws(() => checkPduFormat(value, version("1")), formatError("wrong_type"));
    }
  });

  it("v6+: floats and out-of-range integers are not canonical JSON; v1-v5 accept them", () => {
    for (const content of [{ x: 1.5 }, { x: 2 ** 53 }, { x: -(2 ** 53) }]) {
      for (const id of ["4", "5"]) assert.ok(toRoomEvent({ ...example("pdu_v4"), content }, version(id)));
      for (const id of ["6", "10"]) {
        assert.throws(() => toRoomEvent({ ...example("pdu_v4"), content }, version(id)), formatError("not_canonical_json"));
      }
    }
    assert.throws(() => toRoomEvent({ ...example("pdu_v11"), depth: 2 ** 53 }, version("11")), formatError("not_canonical_json"));
  });

  it("refuses JSON nested too deeply, without a stack overflow", () => {
    const deep = JSON.parse("[".repeat(30000) + "]".repeat(30000)) as JsonValue;
    assert.throws(() => toRoomEvent({ ...example("pdu_v11"), content: { deep } }, version("11")), formatError("too_deeply_nested"));
    const fine = JSON.parse("[".repeat(100) + "]".repeat(100)) as JsonValue;
    assert.ok(toRoomEvent({ ...example("pdu_v11"), content: { fine } }, version("11")));
  });

  it("accepts historical user IDs and odd but valid server names", () => {
    for (const sender of ["@:example.com", "@Alice Ω!:example.com", "@a:1.2.3.4:8448", "@a:[1234:5678::abcd]:5678"]) {
      assert.equal(toRoomEvent({ ...example("pdu_v11"), sender }, version("11")).sender, sender);
    }
  });

  it("accepts extra top-level keys", () => {
    assert.ok(toRoomEvent({ ...example("pdu_v11"), origin: "example.com", outlier: { x: 1 } }, version("11")));
  });
});

// Hostile input: whatever the PDU, toRoomEvent returns or throws EventFormatError, nothing else.
const json = smallJson({ floats: true });
const PDU_KEYS = [
  "sender", "origin_server_ts", "type", "state_key", "content", "depth", "hashes", "signatures", "unsigned",
  "room_id", "event_id", "prev_events", "auth_events", "redacts",
];

function onlyEventFormatErrors(pdu: unknown, id: string): void {
  try {
    toRoomEvent(pdu as JsonObject, version(id));
  } catch (err) {
    assert.ok(err instanceof EventFormatError, `threw ${String(err)}`);
  }
}

describe("toRoomEvent never throws anything but EventFormatError", () => {
  it("on random JSON", () => {
    fc.assert(fc.property(json, fc.constantFrom(...ALL_VERSIONS), (value, id) => onlyEventFormatErrors(value, id)));
  });

  it("on valid PDUs with one key replaced or removed", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_VERSIONS),
        fc.constantFrom(...PDU_KEYS),
        fc.option(json),
        fc.constantFrom("prev_events", "auth_events", "content", "hashes", "signatures"),
        (id, key, value, nestedIn) => {
          const pdu = example(EXAMPLE_FOR[id] as string);
          const mutated = value === null ? without(pdu, key) : { ...pdu, [key]: value };
          onlyEventFormatErrors(mutated, id);
          const container = pdu[nestedIn];
          if (Array.isArray(container)) onlyEventFormatErrors({ ...pdu, [nestedIn]: [...container, value] }, id);
          if (isJsonObject(container)) onlyEventFormatErrors({ ...pdu, [nestedIn]: { ...container, [key]: value } }, id);
        },
      ),
    );
  });
});
