// allowed_local_3pids as Synapse reads its patterns: matched from the start of the address, per medium.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThreepidRules } from "../../../src/homeserver/users/threepid-rules.ts";

describe("allowed_local_3pids", () => {
  it("allows everything when unset, and only matching addresses of the medium when set", () => {
    assert.equal(new ThreepidRules(undefined).isAllowed("email", "any@where.org"), true);
    const rules = new ThreepidRules([
      { medium: "email", pattern: ".*@example\\.org" },
      { medium: "msisdn", pattern: "44" },
    ]);
    assert.equal(rules.isAllowed("email", "a@example.org"), true);
    assert.equal(rules.isAllowed("email", "a@example.com"), false);
    assert.equal(rules.isAllowed("msisdn", "447700900000"), true);
    // From the start, as Python's re.match: "44" does not match a number that only contains it.
    assert.equal(rules.isAllowed("msisdn", "3344"), false);
    assert.equal(rules.isAllowed("msisdn", "a@example.org"), false, "patterns are per medium");
    // Without a $ the pattern matches a prefix, as in Synapse.
    assert.equal(rules.isAllowed("email", "a@example.org.evil"), true);
  });
});
