import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { canonicalJson } from "../../../src/core/canonical-json/canonical-json.ts";
import { EventFormatError } from "../../../src/core/events/event-format-error.ts";
import { checkContentHash, computeContentHash, computeReferenceHash } from "../../../src/core/events/hashes.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import { smallJson } from "../canonical-json/arbitraries.ts";
import { ALL_VERSIONS, version } from "../fixtures/room-versions.ts";
import { MINIMAL_EVENT, MINIMAL_EVENT_HASH, REDACTABLE_EVENT, REDACTABLE_EVENT_HASH } from "../fixtures/spec-vectors.ts";

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

describe("computeContentHash", () => {
  it("matches the spec's event signing vectors in every room version", () => {
    for (const id of ALL_VERSIONS) {
      assert.equal(computeContentHash(MINIMAL_EVENT, version(id)), MINIMAL_EVENT_HASH);
      assert.equal(computeContentHash(REDACTABLE_EVENT, version(id)), REDACTABLE_EVENT_HASH);
    }
  });

  it("is the sha256 of the canonical JSON without unsigned, signatures and hashes", () => {
    const canonical =
      '{"auth_events":[],"content":{},"depth":3,"origin":"domain","origin_server_ts":1000000,' +
      '"prev_events":[],"room_id":"!x:domain","sender":"@a:domain","type":"X"}';
    assert.equal(computeContentHash(MINIMAL_EVENT, version("1")), sha256(canonical).toString("base64").replace(/=+$/, ""));
  });

  it("accepts floats before v6 and refuses them from v6 with an EventFormatError", () => {
    const floaty: JsonObject = { ...MINIMAL_EVENT, content: { ratio: 1.5 } };
    for (const id of ["1", "2", "3", "4", "5"]) assert.equal(typeof computeContentHash(floaty, version(id)), "string");
    for (const id of ["6", "7", "8", "9", "10", "11", "12"]) {
      assert.throws(
        () => computeContentHash(floaty, version(id)),
        (err: unknown) => err instanceof EventFormatError && err.reason === "not_canonical_json",
      );
    }
  });

  it("refuses absurdly deep JSON with an EventFormatError rather than a stack overflow", () => {
    const deep = JSON.parse("[".repeat(20000) + "]".repeat(20000)) as JsonValue;
    assert.throws(
      () => computeContentHash({ ...MINIMAL_EVENT, content: { deep } }, version("12")),
      (err: unknown) => err instanceof EventFormatError && err.reason === "too_deeply_nested",
    );
  });
});

describe("checkContentHash", () => {
  const v = version("10");
  const hashed: JsonObject = { ...REDACTABLE_EVENT, hashes: { sha256: REDACTABLE_EVENT_HASH } };

  it("accepts the right hash, padded or not", () => {
    assert.equal(checkContentHash(hashed, v), true);
    assert.equal(checkContentHash({ ...hashed, hashes: { sha256: `${REDACTABLE_EVENT_HASH}=` } }, v), true);
  });

  it("rejects a changed event, and absent or malformed hashes", () => {
    assert.equal(checkContentHash({ ...hashed, content: { body: "Here is the message content!" } }, v), false);
    assert.equal(checkContentHash({ ...hashed, origin_server_ts: 1000001 }, v), false);
    assert.equal(checkContentHash(REDACTABLE_EVENT, v), false);
    assert.equal(checkContentHash({ ...hashed, hashes: {} }, v), false);
    assert.equal(checkContentHash({ ...hashed, hashes: { sha256: 5 } }, v), false);
    assert.equal(checkContentHash({ ...hashed, hashes: "onLKD1bG" }, v), false);
    assert.equal(checkContentHash({ ...hashed, hashes: { sha256: "not base64!" } }, v), false);
    assert.equal(checkContentHash({ ...hashed, hashes: { sha256: "" } }, v), false);
  });

  it("does not care about unsigned or signatures", () => {
    assert.equal(checkContentHash({ ...hashed, unsigned: { age: 1 }, signatures: { x: { "ed25519:a": "b" } } }, v), true);
  });
});

describe("computeReferenceHash", () => {
  it("is the sha256 of the canonical redacted event without signatures and unsigned", () => {
    const event: JsonObject = {
      ...REDACTABLE_EVENT,
      hashes: { sha256: REDACTABLE_EVENT_HASH },
      signatures: { domain: { "ed25519:1": "sig" } },
    };
    const v1Form =
      '{"content":{},"event_id":"$0:domain","hashes":{"sha256":"onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"},' +
      '"origin":"domain","origin_server_ts":1000000,"room_id":"!r:domain","sender":"@u:domain","type":"m.room.message"}';
    const v11Form =
      '{"content":{},"event_id":"$0:domain","hashes":{"sha256":"onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"},' +
      '"origin_server_ts":1000000,"room_id":"!r:domain","sender":"@u:domain","type":"m.room.message"}';
    assert.deepEqual(Buffer.from(computeReferenceHash(event, version("1"))), sha256(v1Form));
    assert.deepEqual(Buffer.from(computeReferenceHash(event, version("11"))), sha256(v11Form));
  });

  it("ignores what redaction strips, and follows the hashes", () => {
    const v = version("9");
    const base: JsonObject = { ...MINIMAL_EVENT, hashes: { sha256: "abc" } };
    const ref = Buffer.from(computeReferenceHash(base, v));
    const same = [
      { ...base, content: { body: "anything" } },
      { ...base, unsigned: { age: 5 } },
      { ...base, signatures: { other: { "ed25519:x": "y" } } },
      { ...base, extra_key: true },
    ];
    for (const e of same) assert.deepEqual(Buffer.from(computeReferenceHash(e, v)), ref);
    assert.notDeepEqual(Buffer.from(computeReferenceHash({ ...base, hashes: { sha256: "abd" } }, v)), ref);
    assert.notDeepEqual(Buffer.from(computeReferenceHash({ ...base, depth: 4 }, v)), ref);
  });
});

// Properties over random events.
const json = smallJson();
const contentArb = fc.dictionary(fc.string(), json, { minKeys: 1, maxKeys: 6 });
const eventArb = fc.record({
  type: fc.constantFrom("m.room.message", "m.room.member", "m.room.create", "m.room.power_levels", "x.custom"),
  sender: fc.constant("@a:example.org"),
  room_id: fc.constant("!r:example.org"),
  origin_server_ts: fc.nat(),
  depth: fc.nat(),
  prev_events: fc.array(fc.string().map((s) => "$" + s), { maxLength: 3 }),
  auth_events: fc.array(fc.string().map((s) => "$" + s), { maxLength: 3 }),
  content: contentArb,
});

describe("content hash properties", () => {
  it("ignores unsigned, signatures and hashes", () => {
    fc.assert(
      fc.property(eventArb, json, json, json, fc.constantFrom(...ALL_VERSIONS), (event, u, s, h, id) => {
        const v = version(id);
        assert.equal(computeContentHash({ ...event, unsigned: u, signatures: s, hashes: h }, v), computeContentHash(event, v));
      }),
    );
  });

  it("changes with any change to content", () => {
    fc.assert(
      fc.property(eventArb, fc.nat(), json, fc.constantFrom(...ALL_VERSIONS), (event, pick, value, id) => {
        const v = version(id);
        const keys = Object.keys(event.content);
        const key = keys[pick % keys.length] as string;
        fc.pre(canonicalJson(event.content[key] as JsonValue) !== canonicalJson(value));
        const changed = { ...event, content: { ...event.content, [key]: value } };
        assert.notEqual(computeContentHash(changed, v), computeContentHash(event, v));
        const removed = Object.fromEntries(Object.entries(event.content).filter(([k]) => k !== key));
        assert.notEqual(computeContentHash({ ...event, content: removed }, v), computeContentHash(event, v));
      }),
    );
  });
});
