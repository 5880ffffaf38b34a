import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isServerAllowed, matchesGlob, parseServerAcl } from "../../../src/homeserver/federation/server-acl.ts";

// m.room.server_acl's rules (client-server-api#mroomserver_acl) and glob matching (appendices#glob-style-matching).

/** A reference glob matcher: the pattern as a regular expression. */
function reference(pattern: string, value: string): boolean {
  const source = [...pattern.toLowerCase()].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
  return new RegExp(`^${source}$`, "s").test(value.toLowerCase());
}

describe("server ACLs", () => {
  it("follows the spec's order: no ACL, IP literals, deny, allow, otherwise deny", () => {
    assert.equal(isServerAllowed(undefined, "anyone.test"), true);
    const acl = parseServerAcl({ allow: ["*.good.test", "good.test"], deny: ["bad.good.test"], allow_ip_literals: false });
    assert.equal(isServerAllowed(acl, "good.test"), true);
    assert.equal(isServerAllowed(acl, "a.good.test:8448"), true);
    assert.equal(isServerAllowed(acl, "bad.good.test"), false);
    assert.equal(isServerAllowed(acl, "other.test"), false);
    assert.equal(isServerAllowed(acl, "127.0.0.1"), false);
    assert.equal(isServerAllowed(acl, "[::1]:8448"), false);
    // "Failing to provide an allow rule of some kind will prevent all servers from participating".
    assert.equal(isServerAllowed(parseServerAcl({ deny: [] }), "good.test"), false);
    // allow_ip_literals defaults to true when missing or not a boolean.
    assert.equal(isServerAllowed(parseServerAcl({ allow: ["*"], allow_ip_literals: "no" }), "10.0.0.1:8448"), true);
    assert.equal(isServerAllowed(parseServerAcl({ allow: ["[::1]"] }), "[::1]:1234"), true);
    // Entries are case-insensitive; non-string entries are ignored; bad server names are denied.
    assert.equal(isServerAllowed(parseServerAcl({ allow: ["GOOD.test", 3, null] }), "good.TEST"), true);
    assert.equal(isServerAllowed(parseServerAcl({ allow: ["*"] }), "not a server"), false);
  });

  it("never considers the port", () => {
    fc.assert(
      fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), fc.array(fc.constantFrom("*", "*.com", "a*", "?*", "example.org"), { maxLength: 3 }), (host, port, deny) => {
        const acl = parseServerAcl({ allow: ["*"], deny });
        assert.equal(isServerAllowed(acl, `${host}:${port}`), isServerAllowed(acl, host));
      }),
    );
  });

  it("matches globs like the regular expression they stand for", () => {
    const text = fc.string({ unit: fc.constantFrom("a", "b", ".", "*", "?", "A"), maxLength: 8 });
    fc.assert(
      fc.property(text, fc.string({ unit: fc.constantFrom("a", "b", ".", "B"), maxLength: 10 }), (pattern, value) => {
        assert.equal(matchesGlob(pattern, value), reference(pattern, value));
      }),
      { numRuns: 2000 },
    );
  });
});
