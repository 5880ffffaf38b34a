import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  isCompliantUserId,
  isValidLocalpart,
  parseUserId,
  userId,
  userIdParts,
} from "../../../src/core/identifiers/user-id.ts";
import type { UserId } from "../../../src/core/identifiers/user-id.ts";
import { MatrixError } from "../../../src/core/errors.ts";
import { anyString, currentLocalpart, serverName } from "./arbitraries.ts";

// A user ID of exactly `bytes` bytes on matrix.org.
const ofLength = (bytes: number): string => `@${"a".repeat(bytes - "@:matrix.org".length)}:matrix.org`;

// [id, valid under the current grammar, valid historically, localpart, server name]
const table: [string, boolean, boolean, string, string][] = [
  ["@user:matrix.org", true, true, "user", "matrix.org"],
  ["@a.b_c=d-e/f+g:example.org", true, true, "a.b_c=d-e/f+g", "example.org"],
  ["@0:1.2.3.4:8448", true, true, "0", "1.2.3.4:8448"],
  ["@user:[1234:5678::abcd]:5678", true, true, "user", "[1234:5678::abcd]:5678"],
  ["@user:MATRIX.ORG", true, true, "user", "MATRIX.ORG"],
  // Historical localparts: upper case, other punctuation, non-ASCII, controls, the empty string.
  ["@USER:matrix.org", false, true, "USER", "matrix.org"],
  ["@Alice:example.org", false, true, "Alice", "example.org"],
  ["@user!*#:matrix.org", false, true, "user!*#", "matrix.org"],
  ["@j\u00f6rg:example.org", false, true, "j\u00f6rg", "example.org"],
  ["@\u{1f600}:example.org", false, true, "\u{1f600}", "example.org"],
  ["@a b\u0001:example.org", false, true, "a b\u0001", "example.org"],
  ["@:matrix.org", false, true, "", "matrix.org"],
  // The 255-byte limit counts bytes, not characters.
  [ofLength(255), true, true, "a".repeat(255 - 12), "matrix.org"],
];

const invalid: string[] = [
  "",
  "@",
  "user:matrix.org",
  "#user:matrix.org",
  "@user",
  "@user:",
  "@user:matrix..org",
  "@user:matrix.org:0",
  "@user:matrix.org:65536",
  "@us:er:matrix.org",
  "@user\u0000:matrix.org",
  "@user\ud800:matrix.org",
  ofLength(256),
  `@${"\u00e9".repeat(122)}:matrix.org`, // 244 characters, 366 bytes
];

describe("parseUserId", () => {
  for (const [id, current, historical, localpart, server] of table) {
    it(`${JSON.stringify(id.slice(0, 40))}: current ${current}, historical ${historical}`, () => {
      assert.equal(parseUserId(id, { historical: false }), current ? id : undefined);
      assert.equal(parseUserId(id, { historical: true }), historical ? id : undefined);
      assert.equal(parseUserId(id), historical ? id : undefined, "historical by default");
      assert.deepEqual(userIdParts(id as UserId), { localpart, serverName: server });
    });
  }
  for (const id of invalid) {
    it(`rejects ${JSON.stringify(id.slice(0, 40))}`, () => {
      assert.equal(parseUserId(id), undefined);
      assert.equal(parseUserId(id, { historical: false }), undefined);
    });
  }

  it("the current grammar accepts a subset of the historical one, and never throws", () => {
    fc.assert(
      fc.property(anyString, anyString, (localpart, rest) => {
        for (const s of [`@${localpart}:${rest}`, `@${localpart}:matrix.org`, localpart]) {
          if (parseUserId(s, { historical: false }) !== undefined) assert.notEqual(parseUserId(s), undefined);
        }
      }),
    );
  });
});

describe("isValidLocalpart", () => {
  it("takes a-z 0-9 . _ = - / + and nothing else", () => {
    assert.equal(isValidLocalpart("alice"), true);
    assert.equal(isValidLocalpart("a.b_c=d-e/f+g0"), true);
    for (const bad of ["", "Alice", "a:b", "a b", "a*", "é", "a#", "a@", "a!"]) {
      assert.equal(isValidLocalpart(bad), false, bad);
    }
  });
});

describe("isCompliantUserId", () => {
  it("is true for printable-ASCII localparts only (appendices#historical-user-ids)", () => {
    assert.equal(isCompliantUserId("@user:matrix.org" as UserId), true);
    assert.equal(isCompliantUserId("@User!~:matrix.org" as UserId), true);
    assert.equal(isCompliantUserId("@:matrix.org" as UserId), false);
    assert.equal(isCompliantUserId("@j\u00f6rg:matrix.org" as UserId), false);
    assert.equal(isCompliantUserId("@a b:matrix.org" as UserId), false);
    assert.equal(isCompliantUserId("@a\u007f:matrix.org" as UserId), false);
  });
});

describe("userId", () => {
  it("builds a user ID", () => {
    assert.equal(userId("alice", "example.org:8448"), "@alice:example.org:8448");
  });

  it("throws M_INVALID_USERNAME for a localpart outside the current grammar or an over-long ID", () => {
    for (const localpart of ["", "Alice", "a:b", "a b", "a".repeat(244)]) {
      assert.throws(
        () => userId(localpart, "matrix.org"),
        (e) => e instanceof MatrixError && e.errcode === "M_INVALID_USERNAME" && e.status === 400,
        localpart,
      );
    }
    assert.equal(userId("a".repeat(243), "matrix.org").length, 255);
  });

  it("throws a TypeError for an invalid server name", () => {
    assert.throws(() => userId("alice", "bad server"), TypeError);
    assert.throws(() => userId("alice", "example.org:0"), TypeError);
  });

  it("always parses back to the same parts for valid localparts", () => {
    fc.assert(
      fc.property(currentLocalpart, serverName, (localpart, server) => {
        const fits = 1 + localpart.length + 1 + server.length <= 255;
        if (!fits) {
          assert.throws(() => userId(localpart, server), MatrixError);
          return;
        }
        const id = userId(localpart, server);
        assert.equal(parseUserId(id, { historical: false }), id);
        assert.equal(parseUserId(id), id);
        assert.deepEqual(userIdParts(id), { localpart, serverName: server });
        assert.equal(isCompliantUserId(id), true);
      }),
    );
  });
});
