import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { encodeUnpaddedBase64 } from "../../../src/core/crypto/base64.ts";
import {
  formatSigningKeyFile,
  generateSigningKey,
  parseSigningKeyFile,
  signBytes,
  signingKeyFromSeed,
  verifyBytes,
} from "../../../src/core/crypto/ed25519.ts";
// appendices "Cryptographic Test Vectors" → "Signing Key".
import { SPEC_SEED_BASE64 as SEED_BASE64, SPEC_SEED as seed } from "../fixtures/spec-vectors.ts";

describe("signingKeyFromSeed", () => {
  it("builds the spec's test key with key ID ed25519:1", () => {
    const key = signingKeyFromSeed(seed, "1");
    assert.equal(key.algorithm, "ed25519");
    assert.equal(key.version, "1");
    assert.equal(key.keyId, "ed25519:1");
    assert.equal(key.seed.byteLength, 32);
    assert.equal(key.publicKey.byteLength, 32);
    assert.equal(key.publicKeyBase64, encodeUnpaddedBase64(key.publicKey));
  });

  it("derives the same public key as a key pair Node generated", () => {
    // Node 24.22 refuses a JWK without its true public key, so the pair comes from Node whole.
    for (let i = 0; i < 8; i++) {
      const { d, x } = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
      const fromSeed = signingKeyFromSeed(Buffer.from(d as string, "base64url"), "1");
      assert.equal(Buffer.from(fromSeed.publicKey).toString("base64url"), x);
    }
  });

  it("copies the seed so later changes to the caller's array do not alter the key", () => {
    const mine = new Uint8Array(seed);
    const key = signingKeyFromSeed(mine, "1");
    mine.fill(0);
    assert.deepEqual(key.seed, new Uint8Array(seed));
  });

  it("rejects seeds that are not 32 bytes and versions outside [a-zA-Z0-9_]", () => {
    assert.throws(() => signingKeyFromSeed(new Uint8Array(31), "1"), /32 bytes/);
    assert.throws(() => signingKeyFromSeed(seed, ""), /version/);
    assert.throws(() => signingKeyFromSeed(seed, "a:b"), /version/);
    assert.throws(() => signingKeyFromSeed(seed, "a b"), /version/);
  });
});

describe("generateSigningKey", () => {
  it("names a fresh key a_ and four alphanumerics, as Synapse does", () => {
    const key = generateSigningKey();
    assert.match(key.version, /^a_[a-zA-Z0-9]{4}$/);
    assert.equal(key.keyId, `ed25519:${key.version}`);
  });

  it("takes a chosen version and makes distinct keys", () => {
    const a = generateSigningKey("v1");
    const b = generateSigningKey("v1");
    assert.equal(a.keyId, "ed25519:v1");
    assert.notDeepEqual(a.seed, b.seed);
  });
});

describe("signBytes and verifyBytes", () => {
  const key = signingKeyFromSeed(seed, "1");
  const data = new TextEncoder().encode("{}");

  it("signs deterministically with a 64-byte signature that verifies", () => {
    const signature = signBytes(key, data);
    assert.equal(signature.byteLength, 64);
    assert.deepEqual(signBytes(key, data), signature);
    assert.equal(verifyBytes(key.publicKey, data, signature), true);
  });

  it("signs with a key record built by hand (no cached private key)", () => {
    const copy = { ...key };
    assert.deepEqual(signBytes(copy, data), signBytes(key, data));
  });

  it("fails for another key, other data or a changed signature", () => {
    const signature = signBytes(key, data);
    assert.equal(verifyBytes(generateSigningKey().publicKey, data, signature), false);
    assert.equal(verifyBytes(key.publicKey, new TextEncoder().encode("[]"), signature), false);
    const changed = new Uint8Array(signature);
    changed[10] = (changed[10] ?? 0) ^ 1;
    assert.equal(verifyBytes(key.publicKey, data, changed), false);
  });

  it("returns false rather than throwing on garbage", () => {
    const signature = signBytes(key, data);
    assert.equal(verifyBytes(new Uint8Array(0), data, signature), false);
    assert.equal(verifyBytes(new Uint8Array(33), data, signature), false);
    assert.equal(verifyBytes(key.publicKey, data, signature.subarray(0, 63)), false);
    assert.equal(verifyBytes(key.publicKey, data, new Uint8Array(64)), false);
    assert.equal(verifyBytes(new Uint8Array(32), data, signature), false);
    assert.equal(verifyBytes(new Uint8Array(32).fill(0xff), data, signature), false);
    assert.equal(verifyBytes("abc" as unknown as Uint8Array, data, signature), false);
    assert.equal(verifyBytes(key.publicKey, null as unknown as Uint8Array, signature), false);
  });

  it("never throws for arbitrary public keys and signatures", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.uint8Array({ minLength: 60, maxLength: 66 }), (pk, sig) => {
        assert.equal(typeof verifyBytes(pk, data, sig), "boolean");
      }),
      { numRuns: 200 },
    );
  });

  it("keeps verifying correctly past the public key cache's bound", () => {
    const keys = Array.from({ length: 1100 }, (_, i) => {
      const s = new Uint8Array(32);
      s[0] = i >> 8;
      s[1] = i & 0xff;
      return signingKeyFromSeed(s, "k");
    });
    for (const k of keys) assert.equal(verifyBytes(k.publicKey, data, signBytes(k, data)), true);
    const first = keys[0];
    assert.ok(first !== undefined);
    assert.equal(verifyBytes(first.publicKey, data, signBytes(first, data)), true);
    assert.equal(verifyBytes(first.publicKey, data, signBytes(key, data)), false);
  });
});

describe("signing.key file", () => {
  it("reads the Synapse format", () => {
    const [key, ...rest] = parseSigningKeyFile(`ed25519 1 ${SEED_BASE64}\n`);
    assert.equal(rest.length, 0);
    assert.ok(key !== undefined);
    assert.equal(key.keyId, "ed25519:1");
    assert.deepEqual(key.publicKey, signingKeyFromSeed(seed, "1").publicKey);
  });

  it("round-trips several keys", () => {
    const keys = [generateSigningKey(), generateSigningKey("old_1"), signingKeyFromSeed(seed, "1")];
    const text = formatSigningKeyFile(keys);
    assert.match(text, /^ed25519 a_[a-zA-Z0-9]{4} [A-Za-z0-9+/]{43}\ned25519 old_1 [A-Za-z0-9+/]{43}\ned25519 1 [A-Za-z0-9+/]{43}\n$/);
    const back = parseSigningKeyFile(text);
    assert.deepEqual(
      back.map((k) => [k.keyId, k.seed, k.publicKeyBase64]),
      keys.map((k) => [k.keyId, k.seed, k.publicKeyBase64]),
    );
    assert.equal(formatSigningKeyFile(back), text);
  });

  it("tolerates blank lines, CRLF, padding and no final newline", () => {
    const padded = Buffer.from(seed).toString("base64");
    const keys = parseSigningKeyFile(`\r\n  ed25519  a ${padded}\r\n\ned25519 b ${SEED_BASE64}`);
    assert.deepEqual(keys.map((k) => k.keyId), ["ed25519:a", "ed25519:b"]);
    assert.deepEqual(parseSigningKeyFile(""), []);
  });

  it("rejects malformed lines with the line number", () => {
    assert.throws(() => parseSigningKeyFile(`ed25519 1\n`), /line 1: expected/);
    assert.throws(() => parseSigningKeyFile(`\ned25519 1 ${SEED_BASE64} extra`), /line 2: expected/);
    assert.throws(() => parseSigningKeyFile(`curve25519 1 ${SEED_BASE64}`), /line 1: unsupported key algorithm/);
    assert.throws(() => parseSigningKeyFile(`ed25519 a:b ${SEED_BASE64}`), /line 1: key version/);
    assert.throws(() => parseSigningKeyFile(`ed25519 1 not*base64`), /line 1: the seed is not valid base64/);
    assert.throws(() => parseSigningKeyFile(`ed25519 1 AAAA`), /line 1: the seed is 3 bytes/);
    assert.throws(() => parseSigningKeyFile(`ed25519 1 ${SEED_BASE64}\ned25519 1 ${SEED_BASE64}`), /line 2: .*twice/);
  });
});
