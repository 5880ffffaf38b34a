import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseRoomId } from "../../../src/core/identifiers/room-id.ts";
import { encodeUnpaddedBase64Url } from "../../../src/core/crypto/base64.ts";

const valid: string[] = [
  "!opaque:example.org",
  "!jEsUZKDJdhlrceRyVU:example.org",
  "!a:matrix.org:8448",
  "!a:[1234:5678::abcd]:5678",
  "!OPAQUE:example.org", // room IDs are case-sensitive, upper case is fine
  "!a b\u0001\u00e9\u{1f600}:example.org", // any code point but : and NUL
  // v12: the create event's ID with `!` (rooms/v12.md; the v4 example of rooms/fragments/v4-event-ids.md).
  "!Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg",
  `!${"a".repeat(255 - 13)}:example.org`, // exactly 255 bytes
];

const invalid: string[] = [
  "",
  "!",
  "opaque:example.org",
  "$opaque:example.org",
  "!:example.org",
  "!opaque:",
  "!opaque:bad_server",
  "!opaque:example.org:0",
  "!opaque:example.org:65536",
  "!opaque\u0000:example.org",
  "!opaque\udc00:example.org",
  "!opaque", // neither a domain nor a hash
  "!acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk", // v3's standard alphabet is not a room ID format
  "!Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zh", // non-canonical last character
  "!Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Z", // 42 characters
  `!${"a".repeat(255 - 12)}:example.org`, // 256 bytes
];

describe("parseRoomId", () => {
  for (const id of valid) {
    it(`accepts ${JSON.stringify(id.slice(0, 50))}`, () => assert.equal(parseRoomId(id), id));
  }
  for (const id of invalid) {
    it(`rejects ${JSON.stringify(id.slice(0, 50))}`, () => assert.equal(parseRoomId(id), undefined));
  }

  it("accepts `!` and the URL-safe encoding of any SHA-256 hash", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (hash) => {
        const id = `!${encodeUnpaddedBase64Url(hash)}`;
        assert.equal(parseRoomId(id), id);
      }),
    );
  });
});
