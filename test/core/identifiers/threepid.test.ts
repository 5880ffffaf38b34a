import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalEmail, isClientSecret, isEmailAddress, isHttpUrl, lookupHash, parseEmailAddress, randomAlphanumeric } from "../../../src/core/identifiers/threepid.ts";

describe("3PIDs", () => {
  it("hashes lookups as the spec's examples do (identity-service-api#sha256)", () => {
    assert.equal(lookupHash("alice@example.com", "email", "matrixrocks"), "4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc");
    assert.equal(lookupHash("bob@example.com", "email", "matrixrocks"), "LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8");
    assert.equal(lookupHash("18005552067", "msisdn", "matrixrocks"), "nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I");
  });

  it("case-folds email addresses as appendices#3pid-types asks", () => {
    assert.equal(canonicalEmail("Strauß@Example.com"), "strauss@example.com");
    assert.equal(canonicalEmail("bob@Example.com"), "bob@example.com");
    fc.assert(fc.property(fc.emailAddress(), (email) => canonicalEmail(canonicalEmail(email)) === canonicalEmail(email)));
  });

  it("changes the hash with the pepper", () => {
    assert.notEqual(lookupHash("alice@example.com", "email", "other"), lookupHash("alice@example.com", "email", "matrixrocks"));
  });

  it("tells bare addresses from other text, and reads them canonical", () => {
    assert.equal(isEmailAddress("alice@example.org"), true);
    for (const bad of ["", "alice", "alice@", "@example.org", "Alice <alice@example.org>", "mailto:alice@example.org", "alice@localhost", "a@b..c", "a@b.", "a b@example.org"]) {
      assert.equal(isEmailAddress(bad), false, bad);
      assert.equal(parseEmailAddress(bad), undefined, bad);
    }
    assert.equal(parseEmailAddress("  Alice@EXAMPLE.org "), "alice@example.org");
  });

  it("reads the client_secret grammar, http(s) URLs, and makes random sids that fit the grammar", () => {
    for (const good of ["a", "monkeys_are_GREAT", "x.y=z-1", "a".repeat(255)]) assert.equal(isClientSecret(good), true, good);
    for (const bad of ["", "a b", "a/b", "a".repeat(256), "é"]) assert.equal(isClientSecret(bad), false, bad);
    assert.equal(isHttpUrl("https://example.org/next"), true);
    assert.equal(isHttpUrl("http://localhost:8080"), true);
    for (const bad of ["javascript:alert(1)", "ftp://example.org", "/relative", "not a url"]) assert.equal(isHttpUrl(bad), false, bad);
    const a = randomAlphanumeric(24);
    assert.match(a, /^[A-Za-z0-9]{24}$/);
    assert.equal(isClientSecret(a), true);
    assert.notEqual(a, randomAlphanumeric(24));
  });
});
