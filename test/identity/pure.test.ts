// The identity service's pure functions: the plain lookup form, peppers, E.164 numbers and the
// redacted display names (the lookup hash and email addresses are core's: test/core/identifiers/threepid.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { invitationMail } from "../../src/identity/messages.ts";
import { generatePepper, isLookupAlgorithm, splitPlainLookup } from "../../src/identity/hashing.ts";
import { canonicalMsisdn, redactedEmail } from "../../src/identity/threepid.ts";

describe("identity service: lookup hashing", () => {
  it("splits the `none` form at its last space", () => {
    assert.deepEqual(splitPlainLookup("alice@example.org email"), { address: "alice@example.org", medium: "email" });
    assert.deepEqual(splitPlainLookup("a b@example.org email"), { address: "a b@example.org", medium: "email" });
    assert.equal(splitPlainLookup("alice@example.org"), undefined);
    assert.equal(splitPlainLookup(" email"), undefined);
    assert.equal(splitPlainLookup("alice@example.org "), undefined);
  });

  it("knows the algorithms it offers", () => {
    assert.ok(isLookupAlgorithm("sha256"));
    assert.ok(isLookupAlgorithm("none"));
    assert.ok(!isLookupAlgorithm("md5"));
  });

  it("makes URL-safe peppers that differ", () => {
    const a = generatePepper();
    assert.match(a, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(a, generatePepper());
  });
});

describe("identity service: 3PIDs", () => {
  it("canonicalises phone numbers to E.164 without the '+'", () => {
    assert.equal(canonicalMsisdn("07700 900001", "GB"), "447700900001");
    assert.equal(canonicalMsisdn("+44 7700 900001", "US"), "447700900001");
    assert.equal(canonicalMsisdn("(201) 555-0123", "US"), "12015550123");
    assert.equal(canonicalMsisdn("06 12 34 56 78", "FR"), "33612345678");
  });

  it("refuses numbers that are not valid, and countries that are not ISO codes", () => {
    assert.equal(canonicalMsisdn("123", "GB"), undefined);
    assert.equal(canonicalMsisdn("not a number", "GB"), undefined);
    assert.equal(canonicalMsisdn("07700 900001", "gb"), undefined);
    assert.equal(canonicalMsisdn("07700 900001", "XX"), undefined);
    assert.equal(canonicalMsisdn("07700 900001", "GBR"), undefined);
  });

  it("redacts addresses for display_name (v2_store_invite.yaml)", () => {
    assert.equal(redactedEmail("foo@bar.com"), "f...@b...", "the spec's example");
    assert.equal(redactedEmail("alice@example.org"), "ali...@ex...");
    assert.equal(redactedEmail("a@b.c"), "...@...");
    assert.ok(!redactedEmail("christopher@example.org").includes("christopher"));
    assert.ok(!redactedEmail("christopher@example.org").includes("example"));
  });
});

describe("identity service: invitation mails", () => {
  it("keeps what the request gives on one line, so that it cannot add mail headers", () => {
    const mail = invitationMail({
      to: "mona@example.org",
      appName: "Test ID",
      roomId: "!r:example.org",
      sender: "@lena:example.org",
      roomName: "Club\r\nBcc: everyone@example.org",
      roomAlias: undefined,
      roomType: "m.space",
      senderDisplayName: "Lena\n",
      link: "https://chat.test/#/room/!r:example.org",
    });
    assert.ok(!/[\r\n]/.test(mail.subject), mail.subject);
    assert.equal(mail.subject, "Lena invited you to Club Bcc: everyone@example.org on Matrix");
    assert.match(mail.text, /Lena \(@lena:example\.org\) invited you to the space Club/);
    assert.match(mail.text, /https:\/\/chat\.test\/#\/room\/!r:example\.org/);
  });
});
