import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson } from "../../../src/core/canonical-json/canonical-json.ts";
import { generateSigningKey } from "../../../src/core/crypto/ed25519.ts";
import { checkContentHash } from "../../../src/core/events/hashes.ts";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import { hashAndSignEvent, requiredSignatures, verifyEventSignature } from "../../../src/core/events/sign.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import { smallJson } from "../canonical-json/arbitraries.ts";
import { ALL_VERSIONS, version } from "../fixtures/room-versions.ts";
import {
  MINIMAL_EVENT,
  MINIMAL_EVENT_SIGNED,
  REDACTABLE_EVENT,
  REDACTABLE_EVENT_SIGNED,
  SPEC_KEY as KEY,
} from "../fixtures/spec-vectors.ts";

describe("hashAndSignEvent: the spec's event signing vectors", () => {
  // The vectors keep `origin` in the signed (redacted) form, as every redaction algorithm before
  // v11 does; v11 drops it, so there the signature differs while the hash does not.
  for (const id of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]) {
    it(`room version ${id}`, () => {
      assert.deepEqual(hashAndSignEvent(MINIMAL_EVENT, version(id), "domain", KEY), MINIMAL_EVENT_SIGNED);
      assert.deepEqual(hashAndSignEvent(REDACTABLE_EVENT, version(id), "domain", KEY), REDACTABLE_EVENT_SIGNED);
    });
  }

  for (const id of ["11", "12"]) {
    it(`room version ${id}: same hashes, a signature over the v11 redacted form`, () => {
      for (const [input, expected] of [
        [MINIMAL_EVENT, MINIMAL_EVENT_SIGNED],
        [REDACTABLE_EVENT, REDACTABLE_EVENT_SIGNED],
      ] as const) {
        const signed = hashAndSignEvent(input, version(id), "domain", KEY);
        assert.deepEqual(signed["hashes"], expected["hashes"]);
        assert.notDeepEqual(signed["signatures"], expected["signatures"]);
        assert.equal(verifyEventSignature(signed, version(id), "domain", "ed25519:1", KEY.publicKey), true);
        // The v1 signature does not hold in v11: it covered `origin`.
        assert.equal(verifyEventSignature(expected, version(id), "domain", "ed25519:1", KEY.publicKey), false);
      }
    });
  }

  it("does not modify its input", () => {
    const before = structuredClone(MINIMAL_EVENT);
    hashAndSignEvent(MINIMAL_EVENT, version("11"), "domain", KEY);
    assert.deepEqual(MINIMAL_EVENT, before);
  });

  it("keeps the signatures other servers already made", () => {
    const other = generateSigningKey("b");
    const v = version("9");
    const first = hashAndSignEvent(MINIMAL_EVENT, v, "other.example", other);
    const both = hashAndSignEvent(first, v, "domain", KEY);
    assert.equal(verifyEventSignature(both, v, "other.example", other.keyId, other.publicKey), true);
    assert.equal(verifyEventSignature(both, v, "domain", "ed25519:1", KEY.publicKey), true);
  });
});

describe("verifyEventSignature", () => {
  const v = version("1");

  it("accepts the spec's signed events, and their redacted copies", () => {
    assert.equal(verifyEventSignature(MINIMAL_EVENT_SIGNED, v, "domain", "ed25519:1", KEY.publicKey), true);
    assert.equal(verifyEventSignature(REDACTABLE_EVENT_SIGNED, v, "domain", "ed25519:1", KEY.publicKey), true);
    const redacted = redactEvent(REDACTABLE_EVENT_SIGNED, v);
    assert.equal(verifyEventSignature(redacted, v, "domain", "ed25519:1", KEY.publicKey), true);
  });

  it("survives changes to what redaction strips, which the content hash catches", () => {
    const edited = { ...REDACTABLE_EVENT_SIGNED, content: { body: "edited" }, unsigned: { age: 1 } };
    assert.equal(verifyEventSignature(edited, v, "domain", "ed25519:1", KEY.publicKey), true);
    assert.equal(checkContentHash(edited, v), false);
    assert.equal(checkContentHash(REDACTABLE_EVENT_SIGNED, v), true);
  });

  it("refuses a wrong key, key ID or server name, and a changed protected key", () => {
    const other = generateSigningKey("1");
    assert.equal(verifyEventSignature(REDACTABLE_EVENT_SIGNED, v, "domain", "ed25519:1", other.publicKey), false);
    assert.equal(verifyEventSignature(REDACTABLE_EVENT_SIGNED, v, "domain", "ed25519:2", KEY.publicKey), false);
    assert.equal(verifyEventSignature(REDACTABLE_EVENT_SIGNED, v, "elsewhere", "ed25519:1", KEY.publicKey), false);
    const changes: JsonObject[] = [{ sender: "@v:domain" }, { origin_server_ts: 1 }, { hashes: { sha256: "x" } }, { event_id: "$1:domain" }];
    for (const change of changes) {
      assert.equal(verifyEventSignature({ ...REDACTABLE_EVENT_SIGNED, ...change }, v, "domain", "ed25519:1", KEY.publicKey), false);
    }
  });

  it("returns false rather than throwing on hostile input", () => {
    const v6 = version("6");
    const floaty = { ...MINIMAL_EVENT_SIGNED, depth: 1.5 };
    assert.equal(verifyEventSignature(floaty, v6, "domain", "ed25519:1", KEY.publicKey), false);
    const deep = JSON.parse("[".repeat(30000) + "]".repeat(30000)) as JsonValue;
    assert.equal(verifyEventSignature({ ...MINIMAL_EVENT_SIGNED, depth: deep }, v6, "domain", "ed25519:1", KEY.publicKey), false);
    assert.equal(verifyEventSignature({ ...MINIMAL_EVENT_SIGNED, signatures: "x" }, v6, "domain", "ed25519:1", KEY.publicKey), false);
    assert.equal(verifyEventSignature(null as unknown as JsonObject, v6, "domain", "ed25519:1", KEY.publicKey), false);
  });
});

describe("requiredSignatures", () => {
  const message: JsonObject = { type: "m.room.message", sender: "@a:one.example", content: {}, event_id: "$e:two.example" };

  it("the sender's server, and in v1-v2 the event ID's server", () => {
    assert.deepEqual(requiredSignatures(message, version("1")).sort(), ["one.example", "two.example"]);
    assert.deepEqual(requiredSignatures(message, version("2")).sort(), ["one.example", "two.example"]);
    for (const id of ["3", "4", "10", "11", "12"]) assert.deepEqual(requiredSignatures(message, version(id)), ["one.example"]);
    assert.deepEqual(requiredSignatures({ ...message, event_id: "$e:one.example" }, version("1")), ["one.example"]);
  });

  it("v8+: the server of join_authorised_via_users_server on a membership event", () => {
    const join: JsonObject = {
      type: "m.room.member",
      sender: "@a:one.example",
      state_key: "@a:one.example",
      content: { membership: "join", join_authorised_via_users_server: "@r:resident.example" },
    };
    for (const id of ["3", "7"]) assert.deepEqual(requiredSignatures(join, version(id)), ["one.example"]);
    for (const id of ["8", "9", "10", "11", "12"]) {
      assert.deepEqual(requiredSignatures(join, version(id)).sort(), ["one.example", "resident.example"]);
    }
    assert.deepEqual(requiredSignatures({ ...join, type: "m.room.message" }, version("9")), ["one.example"]);
    const sameServer = { ...join, content: { membership: "join", join_authorised_via_users_server: "@r:one.example" } };
    assert.deepEqual(requiredSignatures(sameServer, version("9")), ["one.example"]);
  });

  it("an invite from a third-party invite does not need the sender's server", () => {
    const invite: JsonObject = {
      type: "m.room.member",
      sender: "@a:one.example",
      state_key: "@b:two.example",
      content: { membership: "invite", third_party_invite: { display_name: "b", signed: {} } },
      event_id: "$e:three.example",
    };
    assert.deepEqual(requiredSignatures(invite, version("10")), []);
    assert.deepEqual(requiredSignatures(invite, version("1")), ["three.example"]);
    const plainInvite = { ...invite, content: { membership: "invite" } };
    assert.deepEqual(requiredSignatures(plainInvite, version("10")), ["one.example"]);
  });

  it("skips identifiers without a valid server name", () => {
    assert.deepEqual(requiredSignatures({ ...message, sender: "@nobody" }, version("10")), []);
    assert.deepEqual(requiredSignatures({ ...message, sender: 5 }, version("10")), []);
  });
});

// Properties: random events signed, then re-ordered or altered.
const json = smallJson();
const TYPES = ["m.room.message", "m.room.member", "m.room.create", "m.room.power_levels", "m.room.join_rules"];
const contentKeys = fc.oneof(
  fc.constantFrom("membership", "creator", "join_rule", "allow", "ban", "users", "invite", "body", "join_authorised_via_users_server"),
  fc.string(),
);
const eventArb = fc.record({
  type: fc.constantFrom(...TYPES),
  sender: fc.constant("@a:domain"),
  room_id: fc.constant("!r:domain"),
  event_id: fc.constant("$e:domain"),
  origin: fc.constant("domain"),
  origin_server_ts: fc.nat(),
  depth: fc.nat(),
  state_key: fc.string(),
  prev_events: fc.array(fc.string().map((s) => "$" + s), { maxLength: 3 }),
  auth_events: fc.array(fc.string().map((s) => "$" + s), { maxLength: 3 }),
  content: fc.dictionary(contentKeys, json, { maxKeys: 6 }),
  unsigned: fc.dictionary(fc.string(), json, { maxKeys: 2 }),
});

/** The same JSON with every object's keys in another order (reversed, then rotated). */
function reorder(value: JsonValue, rotate: number): JsonValue {
  if (Array.isArray(value)) return value.map((v) => reorder(v, rotate));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).reverse();
  const r = entries.length === 0 ? 0 : rotate % entries.length;
  return Object.fromEntries([...entries.slice(r), ...entries.slice(0, r)].map(([k, v]) => [k, reorder(v, rotate)]));
}

describe("signing properties", () => {
  it("verifies after re-ordering keys", () => {
    fc.assert(
      fc.property(eventArb, fc.constantFrom(...ALL_VERSIONS), fc.nat(), (event, id, rotate) => {
        const v = version(id);
        const signed = hashAndSignEvent(event, v, "domain", KEY);
        const shuffled = reorder(signed, rotate) as JsonObject;
        assert.equal(verifyEventSignature(shuffled, v, "domain", "ed25519:1", KEY.publicKey), true);
        assert.equal(checkContentHash(shuffled, v), true);
      }),
    );
  });

  it("fails after any change to a field redaction keeps", () => {
    fc.assert(
      fc.property(eventArb, fc.constantFrom(...ALL_VERSIONS), fc.nat(), json, (event, id, pick, value) => {
        const v = version(id);
        const signed = hashAndSignEvent(event, v, "domain", KEY);
        const redacted = redactEvent(signed, v);
        // Every protected leaf path: top-level keys other than signatures, and kept content keys.
        const paths: Array<[string] | ["content", string]> = [];
        for (const key of Object.keys(redacted)) {
          if (key === "signatures") continue;
          if (key === "content") for (const c of Object.keys(redacted["content"] as JsonObject)) paths.push(["content", c]);
          else paths.push([key]);
        }
        const path = paths[pick % paths.length] as [string] | ["content", string];
        let changed: JsonObject;
        if (path.length === 1) {
          fc.pre(canonicalJson(signed[path[0]] as JsonValue) !== canonicalJson(value));
          changed = { ...signed, [path[0]]: value };
        } else {
          const content = signed["content"] as JsonObject;
          fc.pre(canonicalJson(content[path[1]] as JsonValue) !== canonicalJson(value));
          changed = { ...signed, content: { ...content, [path[1]]: value } };
        }
        assert.equal(verifyEventSignature(changed, v, "domain", "ed25519:1", KEY.publicKey), false, JSON.stringify(path));
      }),
    );
  });
});
