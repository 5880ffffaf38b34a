// Policy servers' configuration and signatures (server-server-api#policy-servers).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from "../../../src/core/crypto/base64.ts";
import { signingKeyFromSeed } from "../../../src/core/crypto/ed25519.ts";
import { signJson } from "../../../src/core/crypto/signing.ts";
import { eventJsonOptions } from "../../../src/core/events/event-json.ts";
import {
  POLICY_SERVER_KEY_ID,
  hasPolicySignature,
  needsPolicySignature,
  policyServerOf,
  withPolicySignature,
} from "../../../src/core/events/policy-server.ts";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import { hashAndSignEvent } from "../../../src/core/events/sign.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";

const found = getRoomVersion("12");
if (found === undefined) throw new Error("no room version 12");
const v12 = found;
const originKey = signingKeyFromSeed(new Uint8Array(32).fill(1), "a");
const policyKey = signingKeyFromSeed(new Uint8Array(32).fill(7), "policy_server");
const otherKey = signingKeyFromSeed(new Uint8Array(32).fill(8), "policy_server");

function message(body: string): Pdu {
  const pdu: Pdu = {
    room_id: "!room:origin.example",
    type: "m.room.message",
    sender: "@alice:origin.example",
    content: { msgtype: "m.text", body },
    origin_server_ts: 1_700_000_000_000,
    depth: 5,
    prev_events: ["$prev"],
    auth_events: ["$auth"],
  };
  return hashAndSignEvent(pdu, v12, "origin.example", originKey);
}

/** What a policy server answers (room_policy.yaml 200): its signature of the redacted event. */
function policyAnswer(pdu: Pdu, via: string, key = policyKey): JsonObject {
  const signed = signJson(redactEvent({ ...pdu, signatures: {} }, v12), via, key, eventJsonOptions(v12));
  return signed.signatures;
}

describe("policyServerOf: a valid m.room.policy (server-server-api#determining-if-a-policy-server-is-enabled-in-a-room)", () => {
  const publicKey = encodeUnpaddedBase64(policyKey.publicKey);

  it("reads via and the Ed25519 key", () => {
    const found = policyServerOf({ via: "policy.example.org", public_keys: { ed25519: publicKey } });
    assert.equal(found?.via, "policy.example.org");
    assert.deepEqual(found?.publicKey, policyKey.publicKey);
  });

  it("takes the key in URL-safe base64 too, as the spec's own example gives it", () => {
    const found = policyServerOf({ via: "policy.example.org", public_keys: { ed25519: encodeUnpaddedBase64Url(policyKey.publicKey) } });
    assert.deepEqual(found?.publicKey, policyKey.publicKey);
  });

  it("is none without a string via, a public_keys object or a string ed25519", () => {
    for (const content of [
      {},
      { via: "policy.example.org" },
      { public_keys: { ed25519: publicKey } },
      { via: 1, public_keys: { ed25519: publicKey } },
      { via: "policy.example.org", public_keys: publicKey },
      { via: "policy.example.org", public_keys: {} },
      { via: "policy.example.org", public_keys: { ed25519: 5 } },
      { via: "not a server name!", public_keys: { ed25519: publicKey } },
    ] as JsonObject[]) {
      assert.equal(policyServerOf(content), undefined, JSON.stringify(content));
    }
  });

  it("is one whose signatures never verify when the key is not 32 bytes of base64", () => {
    const found = policyServerOf({ via: "policy.example.org", public_keys: { ed25519: "not base64!" } });
    assert.equal(found?.via, "policy.example.org");
    assert.equal(found?.publicKey, undefined);
    const pdu = message("hi");
    assert.equal(hasPolicySignature(pdu, v12, found as NonNullable<typeof found>), false);
  });
});

describe("needsPolicySignature (room_policy.yaml)", () => {
  it("is every event but the m.room.policy state event with an empty state key", () => {
    assert.equal(needsPolicySignature("m.room.policy", ""), false);
    assert.equal(needsPolicySignature("m.room.policy", "other"), true);
    assert.equal(needsPolicySignature("m.room.policy", undefined), true);
    assert.equal(needsPolicySignature("m.room.member", "@a:b"), true);
    assert.equal(needsPolicySignature("m.room.message", undefined), true);
  });
});

describe("the policy server's signature", () => {
  const policy = { via: "policy.example.org", publicKey: policyKey.publicKey };

  it("verifies once added from the answer, and not before", () => {
    const pdu = message("hello");
    assert.equal(hasPolicySignature(pdu, v12, policy), false);
    const signed = withPolicySignature(pdu, policy.via, policyAnswer(pdu, policy.via));
    assert.ok(signed !== undefined);
    assert.equal(hasPolicySignature(signed, v12, policy), true);
    // The origin's signature is still there.
    assert.deepEqual((signed["signatures"] as JsonObject)["origin.example"], (pdu["signatures"] as JsonObject)["origin.example"]);
  });

  it("does not verify with another key, or on another event", () => {
    const pdu = message("hello");
    const byOther = withPolicySignature(pdu, policy.via, policyAnswer(pdu, policy.via, otherKey));
    assert.equal(hasPolicySignature(byOther as Pdu, v12, policy), false);
    const forOther = withPolicySignature(pdu, policy.via, policyAnswer(message("another"), policy.via));
    assert.equal(hasPolicySignature(forOther as Pdu, v12, policy), false);
  });

  it("still verifies on the redacted event (it covers what redaction keeps)", () => {
    const pdu = message("hello");
    const signed = withPolicySignature(pdu, policy.via, policyAnswer(pdu, policy.via)) as Pdu;
    assert.equal(hasPolicySignature(redactEvent(signed, v12), v12, policy), true);
  });

  it("keeps the origin's signatures when the policy server is the origin too (v1.19)", () => {
    const pdu = message("hello");
    const signed = withPolicySignature(pdu, "origin.example", policyAnswer(pdu, "origin.example")) as Pdu;
    const fromOrigin = (signed["signatures"] as JsonObject)["origin.example"] as JsonObject;
    assert.deepEqual(Object.keys(fromOrigin).sort(), ["ed25519:a", POLICY_SERVER_KEY_ID]);
  });

  it("is not found in an answer without it", () => {
    const pdu = message("hello");
    assert.equal(withPolicySignature(pdu, policy.via, {}), undefined);
    assert.equal(withPolicySignature(pdu, policy.via, { [policy.via]: { "ed25519:other": "x" } }), undefined);
    assert.equal(withPolicySignature(pdu, policy.via, { "elsewhere.example": { [POLICY_SERVER_KEY_ID]: "x" } }), undefined);
  });

  it("is added without losing or changing any signature the event had (property)", () => {
    const name = fc.constantFrom("origin.example", "policy.example.org", "third.example");
    const keyId = fc.constantFrom("ed25519:a", "ed25519:b", POLICY_SERVER_KEY_ID);
    const signatures = fc.dictionary(name, fc.dictionary(keyId, fc.string(), { maxKeys: 3 }), { maxKeys: 3 });
    fc.assert(
      fc.property(signatures, name, fc.string(), (existing, via, signature) => {
        const pdu: Pdu = { ...message("x"), signatures: existing };
        const out = withPolicySignature(pdu, via, { [via]: { [POLICY_SERVER_KEY_ID]: signature } }) as Pdu;
        const after = out["signatures"] as Record<string, Record<string, string>>;
        for (const [server, keys] of Object.entries(existing)) {
          for (const [id, value] of Object.entries(keys)) {
            if (server === via && id === POLICY_SERVER_KEY_ID) continue;
            assert.equal(after[server]?.[id], value);
          }
        }
        assert.equal(after[via]?.[POLICY_SERVER_KEY_ID], signature);
        assert.deepEqual(Object.keys(after).sort(), [...new Set([...Object.keys(existing), via])].sort());
      }),
    );
  });
});
