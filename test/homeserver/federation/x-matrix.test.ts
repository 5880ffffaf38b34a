import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatXMatrixAuthorization,
  parseXMatrixAuthorization,
  XMatrixHeaderError,
  type XMatrixCredentials,
} from "../../../src/homeserver/federation/x-matrix.ts";

const full = { origin: "origin.hs.example.com", destination: "destination.hs.example.com", key: "ed25519:key1", sig: "ABCDEF+/x" };

describe("parseXMatrixAuthorization", () => {
  const accepted: [string, string, XMatrixCredentials][] = [
    [
      "the spec's example",
      'X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF+/x"',
      full,
    ],
    [
      "unquoted tokens, with colons in values (for older servers)",
      "X-Matrix origin=origin.hs.example.com,destination=destination.hs.example.com,key=ed25519:key1,sig=ABCDEF+/x",
      full,
    ],
    [
      "names in any case and order, scheme in any case, several spaces",
      'x-matrix   SIG="ABCDEF+/x",Key="ed25519:key1",DESTINATION="destination.hs.example.com",Origin="origin.hs.example.com"',
      full,
    ],
    [
      "spaces and tabs around commas and equals signs, empty list elements",
      'X-Matrix origin = "origin.hs.example.com" ,\tdestination="destination.hs.example.com" , , key="ed25519:key1",sig="ABCDEF+/x",',
      full,
    ],
    [
      "backslash escapes in quoted values",
      'X-Matrix origin="origin.hs.ex\\ample.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF+/x"',
      full,
    ],
    [
      "unknown parameters ignored",
      'X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF+/x",future="1"',
      full,
    ],
    [
      "no destination (servers older than v1.3)",
      'X-Matrix origin="origin.hs.example.com",key="ed25519:key1",sig="ABCDEF+/x"',
      { ...full, destination: undefined },
    ],
    [
      "an IPv6 literal origin with port, quoted",
      'X-Matrix origin="[::1]:8448",destination="d",key="ed25519:k",sig="s"',
      { origin: "[::1]:8448", destination: "d", key: "ed25519:k", sig: "s" },
    ],
  ];
  for (const [title, header, expected] of accepted) {
    it(`accepts ${title}`, () => assert.deepEqual(parseXMatrixAuthorization(header), expected));
  }

  const refused: [string, string][] = [
    ["an empty header", ""],
    ["another scheme", 'Bearer origin="a",key="ed25519:k",sig="s"'],
    ["the scheme without a space", 'X-Matrixorigin="a",key="ed25519:k",sig="s"'],
    ["the scheme alone", "X-Matrix "],
    ["a missing origin", 'X-Matrix key="ed25519:k",sig="s"'],
    ["a missing key", 'X-Matrix origin="a",sig="s"'],
    ["a missing sig", 'X-Matrix origin="a",key="ed25519:k"'],
    ["an empty origin", 'X-Matrix origin="",key="ed25519:k",sig="s"'],
    ["a parameter without a value", 'X-Matrix origin,key="ed25519:k",sig="s"'],
    ["an empty unquoted value", 'X-Matrix origin=,key="ed25519:k",sig="s"'],
    ["an unterminated quoted value", 'X-Matrix origin="a,key="ed25519:k",sig="s'],
    ["a trailing backslash in a quoted value", 'X-Matrix origin="a",key="ed25519:k",sig="s\\'],
    ["a duplicated parameter", 'X-Matrix origin="a",origin="b",key="ed25519:k",sig="s"'],
    ["the same parameter in two cases", 'X-Matrix origin="a",ORIGIN="a",key="ed25519:k",sig="s"'],
    ["junk after a value", 'X-Matrix origin="a"x,key="ed25519:k",sig="s"'],
    ["a space inside an unquoted value", "X-Matrix origin=a b,key=ed25519:k,sig=s"],
    ["a control character in a quoted value", 'X-Matrix origin="a\u0001",key="ed25519:k",sig="s"'],
    ["a name that is not a token", 'X-Matrix or(gin="a",key="ed25519:k",sig="s"'],
    ["a semicolon separator", 'X-Matrix origin="a";key="ed25519:k";sig="s"'],
  ];
  for (const [title, header] of refused) {
    it(`refuses ${title}`, () => assert.throws(() => parseXMatrixAuthorization(header), XMatrixHeaderError));
  }

  it("throws nothing but XMatrixHeaderError on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string(), (tail, prefix) => {
        for (const header of [`X-Matrix ${tail}`, prefix + tail]) {
          try {
            parseXMatrixAuthorization(header);
          } catch (err) {
            if (!(err instanceof XMatrixHeaderError)) throw err;
          }
        }
      }),
    );
  });
});

describe("formatXMatrixAuthorization", () => {
  it("writes what the spec asks senders to, and parses back", () => {
    const header = formatXMatrixAuthorization(full);
    assert.equal(
      header,
      'X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF+/x"',
    );
    assert.deepEqual(parseXMatrixAuthorization(header), full);
  });

  it("refuses a value it could not quote without backslashes", () => {
    assert.throws(() => formatXMatrixAuthorization({ ...full, origin: 'a"b' }));
  });
});
