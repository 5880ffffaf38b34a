import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sha1, sha256 } from "../../../src/core/crypto/hashes.ts";

// FIPS 180 examples ("abc") and the hashes of the empty message.
describe("sha256", () => {
  it("matches the standard vectors", () => {
    assert.equal(sha256("abc").toString("hex"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(sha256("").toString("hex"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("hashes a string as its UTF-8 bytes", () => {
    assert.deepEqual(sha256("\u00e9\u{1f600}"), sha256(Buffer.from("\u00e9\u{1f600}", "utf8")));
  });
});

describe("sha1", () => {
  it("matches the standard vectors", () => {
    assert.equal(sha1("abc").toString("hex"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(sha1(new Uint8Array()).toString("hex"), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });

  it("hashes a string as its UTF-8 bytes", () => {
    assert.deepEqual(sha1("\u00e9\u{1f600}"), sha1(Buffer.from([0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80])));
  });
});
