import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalObject, canonicalValue, reorderKeys } from "../canonical-json/arbitraries.ts";
import { decodeBase64 } from "../../../src/core/crypto/base64.ts";
import { generateSigningKey } from "../../../src/core/crypto/ed25519.ts";
import { signableBytes, signaturesOf, signJson, verifyJsonSignature } from "../../../src/core/crypto/signing.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import {
  MINIMAL_EVENT,
  MINIMAL_EVENT_HASH,
  MINIMAL_EVENT_SIGNATURE,
  REDACTABLE_EVENT,
  REDACTABLE_EVENT_HASH,
  REDACTABLE_EVENT_SIGNATURE,
  SPEC_KEY as key,
} from "../fixtures/spec-vectors.ts";

// appendices "Cryptographic Test Vectors": SERVER_NAME "domain", KEY_ID "ed25519:1".
describe("signJson: the spec's test vectors", () => {
  it("signs {}", () => {
    assert.deepEqual(signJson({}, "domain", key), {
      signatures: {
        domain: {
          "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ",
        },
      },
    });
  });

  it('signs {"one":1,"two":"Two"}', () => {
    assert.deepEqual(signJson({ one: 1, two: "Two" }, "domain", key), {
      one: 1,
      signatures: {
        domain: {
          "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw",
        },
      },
      two: "Two",
    });
  });

  // "Event Signing": the signature covers the redacted event with its hashes, without
  // signatures and unsigned. This event has nothing redaction removes.
  it("signs the minimal event of the Event Signing vector", () => {
    const event: JsonObject = { ...MINIMAL_EVENT, hashes: { sha256: MINIMAL_EVENT_HASH } };
    const signed = signJson(event, "domain", key);
    assert.deepEqual(signed["signatures"], { domain: { "ed25519:1": MINIMAL_EVENT_SIGNATURE } });
    assert.deepEqual(signed["unsigned"], { age_ts: 1000000 });
  });

  it("signs the redacted form of the message event of the Event Signing vector", () => {
    // The message's content.body is removed by redaction before signing.
    const redacted: JsonObject = { ...REDACTABLE_EVENT, content: {}, hashes: { sha256: REDACTABLE_EVENT_HASH } };
    assert.deepEqual(signJson(redacted, "domain", key)["signatures"], {
      domain: { "ed25519:1": REDACTABLE_EVENT_SIGNATURE },
    });
  });
});

describe("signJson", () => {
  it("returns a new object, keeps other signatures and unsigned, and ignores both when signing", () => {
    const other = generateSigningKey("x");
    const original: JsonObject = {
      a: 1,
      unsigned: { age_ts: 5 },
      signatures: { "other.example": { "ed25519:z": "sig" }, domain: { "ed25519:0": "old" } },
    };
    const snapshot = structuredClone(original);
    const signed = signJson(original, "domain", key);
    assert.deepEqual(original, snapshot);
    assert.deepEqual(signed["unsigned"], { age_ts: 5 });
    const alone = signJson({ a: 1 }, "domain", key)["signatures"] as JsonObject;
    assert.deepEqual(signed["signatures"], {
      "other.example": { "ed25519:z": "sig" },
      domain: { "ed25519:0": "old", "ed25519:1": (alone["domain"] as JsonObject)["ed25519:1"] as string },
    });
    const twice = signJson(signed, "other2", other);
    assert.equal(verifyJsonSignature(twice, "domain", "ed25519:1", key.publicKey), true);
    assert.equal(verifyJsonSignature(twice, "other2", "ed25519:x", other.publicKey), true);
  });

  it("refuses to sign an object whose signatures are malformed", () => {
    assert.throws(() => signJson({ signatures: "x" }, "domain", key), TypeError);
    assert.throws(() => signJson({ signatures: { domain: [] } }, "domain", key), TypeError);
  });

  it("needs lenientNumbers for floats, and signs them then", () => {
    assert.throws(() => signJson({ a: 1.5 }, "domain", key));
    const signed = signJson({ a: 1.5 }, "domain", key, { lenientNumbers: true });
    assert.equal(verifyJsonSignature(signed, "domain", "ed25519:1", key.publicKey, { lenientNumbers: true }), true);
    assert.equal(verifyJsonSignature(signed, "domain", "ed25519:1", key.publicKey), false);
  });

  it("keeps a __proto__ member as data", () => {
    const object = JSON.parse('{"__proto__":{"x":1},"a":2}') as JsonObject;
    const signed = signJson(object, "domain", key);
    assert.ok(Object.hasOwn(signed, "__proto__"));
    assert.equal(verifyJsonSignature(signed, "domain", "ed25519:1", key.publicKey), true);
    const changed = JSON.parse(JSON.stringify(signed).replace('"x":1', '"x":2')) as JsonObject;
    assert.equal(verifyJsonSignature(changed, "domain", "ed25519:1", key.publicKey), false);
  });
});

describe("verifyJsonSignature", () => {
  const signed = signJson({ one: 1, two: "Two" }, "domain", key);

  it("accepts the spec's signed example whatever the unsigned data", () => {
    assert.equal(verifyJsonSignature(signed, "domain", "ed25519:1", key.publicKey), true);
    assert.equal(verifyJsonSignature({ ...signed, unsigned: { age: 3 } }, "domain", "ed25519:1", key.publicKey), true);
  });

  it("fails, without throwing, when the signature is missing, malformed or wrong", () => {
    const cases: JsonObject[] = [
      { one: 1, two: "Two" },
      { ...signed, signatures: null },
      { ...signed, signatures: [] },
      { ...signed, signatures: { domain: "x" } },
      { ...signed, signatures: { domain: { "ed25519:1": 5 } } },
      { ...signed, signatures: { domain: { "ed25519:1": "not base64!" } } },
      { ...signed, signatures: { domain: { "ed25519:1": "AAAA" } } },
      { ...signed, signatures: { other: (signed["signatures"] as JsonObject)["domain"] as JsonValue } },
      { ...signed, two: "two" },
      { ...signed, three: 3 },
      { ...signed, one: 2 ** 60 },
    ];
    for (const object of cases) assert.equal(verifyJsonSignature(object, "domain", "ed25519:1", key.publicKey), false);
    assert.equal(verifyJsonSignature(signed, "domain", "ed25519:2", key.publicKey), false);
    assert.equal(verifyJsonSignature(signed, "domain", "ed25519:1", generateSigningKey().publicKey), false);
    assert.equal(verifyJsonSignature(signed, "domain", "ed25519:1", new Uint8Array(3)), false);
    assert.equal(verifyJsonSignature(signed, "constructor", "ed25519:1", key.publicKey), false);
    assert.equal(verifyJsonSignature(signed, "__proto__", "ed25519:1", key.publicKey), false);
  });

  it("returns false for the placeholder key and signature of the spec's server_key.json example", () => {
    const serverKey: JsonObject = {
      server_name: "example.org",
      verify_keys: { "ed25519:abc123": { key: "VGhpcyBzaG91bGQgYmUgYSByZWFsIGVkMjU1MTkgcGF5bG9hZA" } },
      signatures: { "example.org": { "ed25519:abc123": "VGhpcyBzaG91bGQgYWN0dWFsbHkgYmUgYSBzaWduYXR1cmU" } },
      valid_until_ts: 1652262000000,
    };
    const placeholder = decodeBase64("VGhpcyBzaG91bGQgYmUgYSByZWFsIGVkMjU1MTkgcGF5bG9hZA") as Uint8Array;
    assert.equal(verifyJsonSignature(serverKey, "example.org", "ed25519:abc123", placeholder), false);
    assert.equal(verifyJsonSignature(serverKey, "example.org", "ed25519:abc123", placeholder.subarray(0, 32)), false);
  });

  it("ignores key IDs whose algorithm is not ed25519", () => {
    const sigs = (signed["signatures"] as JsonObject)["domain"] as JsonObject;
    const relabelled = { ...signed, signatures: { domain: { "curve25519:1": sigs["ed25519:1"] as string } } };
    assert.equal(verifyJsonSignature(relabelled, "domain", "curve25519:1", key.publicKey), false);
  });

  it("accepts padded base64 signatures, as the spec asks decoders to", () => {
    const sig = ((signed["signatures"] as JsonObject)["domain"] as JsonObject)["ed25519:1"] as string;
    const padded = { ...signed, signatures: { domain: { "ed25519:1": `${sig}==` } } };
    assert.equal(verifyJsonSignature(padded, "domain", "ed25519:1", key.publicKey), true);
  });
});

describe("signaturesOf", () => {
  it("lists well-formed signatures and skips malformed entries", () => {
    const listed = signaturesOf({
      signatures: { a: { "ed25519:1": "x", "ed25519:2": 3 }, b: "y", c: { "ed25519:k": "z" }, d: {} },
    });
    assert.deepEqual(
      [...listed].map(([name, ids]) => [name, [...ids]]),
      [
        ["a", [["ed25519:1", "x"]]],
        ["c", [["ed25519:k", "z"]]],
      ],
    );
    assert.equal(signaturesOf({}).size, 0);
    assert.equal(signaturesOf({ signatures: [] }).size, 0);
  });
});

describe("signature properties", () => {
  const testKey = generateSigningKey("prop");

  it("a signature verifies after any re-ordering of keys", () => {
    fc.assert(
      fc.property(canonicalObject, fc.nat(), (object, seed) => {
        const signed = signJson(object, "example.org", testKey);
        const shuffled = reorderKeys(signed, seed) as JsonObject;
        assert.equal(verifyJsonSignature(shuffled, "example.org", testKey.keyId, testKey.publicKey), true);
      }),
      { numRuns: 150 },
    );
  });

  it("a signature fails after any change of content", () => {
    fc.assert(
      fc.property(canonicalObject, fc.string({ maxLength: 5 }), canonicalValue, (object, name, value) => {
        fc.pre(name !== "signatures" && name !== "unsigned");
        const signed = signJson(object, "example.org", testKey);
        const changed: JsonObject = { ...signed };
        Object.defineProperty(changed, name, { value, enumerable: true, writable: true, configurable: true });
        fc.pre(!signableBytes(changed).equals(signableBytes(signed)));
        assert.equal(verifyJsonSignature(changed, "example.org", testKey.keyId, testKey.publicKey), false);
      }),
      { numRuns: 150 },
    );
  });
});
