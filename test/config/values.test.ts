import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { normaliseIpRange, parseSize } from "../../src/config/index.ts";

describe("parseSize", () => {
  it("reads integers and K/M/G sizes as Synapse does (powers of 1024)", () => {
    assert.equal(parseSize(1234), 1234);
    assert.equal(parseSize("1234"), 1234);
    assert.equal(parseSize("10K"), 10 * 1024);
    assert.equal(parseSize("50M"), 50 * 1024 * 1024);
    assert.equal(parseSize("2g"), 2 * 1024 ** 3);
  });
  it("refuses anything else", () => {
    for (const bad of [-1, 1.5, "1.5M", "M", "10MB", "", true, null]) assert.equal(parseSize(bad), undefined, String(bad));
  });
});

describe("normaliseIpRange", () => {
  it("accepts IPv4 and IPv6 CIDRs and bare addresses", () => {
    assert.equal(normaliseIpRange("10.0.0.0/8"), "10.0.0.0/8");
    assert.equal(normaliseIpRange("192.0.2.1"), "192.0.2.1/32");
    assert.equal(normaliseIpRange("FE80::/10"), "fe80::/10");
    assert.equal(normaliseIpRange("::1"), "::1/128");
    assert.equal(normaliseIpRange("0.0.0.0/0"), "0.0.0.0/0");
  });
  it("refuses malformed ranges", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "256.0.0.0/8", "fe80::/129", "fe80::1%eth0", "10.0.0.0/", "10.0.0.0/x", "example.org", "::g/64"]) {
      assert.equal(normaliseIpRange(bad), undefined, bad);
    }
  });
});
