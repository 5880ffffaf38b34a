import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseServerName, splitServerName } from "../../../src/core/identifiers/server-name.ts";
import type { ServerName } from "../../../src/core/identifiers/server-name.ts";
import { anyString, serverName } from "./arbitraries.ts";

const valid: [string, { host: string; port: number | undefined; kind: "dns" | "ipv4" | "ipv6" }][] = [
  // The spec's examples (appendices#server-name).
  ["matrix.org", { host: "matrix.org", port: undefined, kind: "dns" }],
  ["matrix.org:8888", { host: "matrix.org", port: 8888, kind: "dns" }],
  ["1.2.3.4", { host: "1.2.3.4", port: undefined, kind: "ipv4" }],
  ["1.2.3.4:1234", { host: "1.2.3.4", port: 1234, kind: "ipv4" }],
  ["[1234:5678::abcd]", { host: "1234:5678::abcd", port: undefined, kind: "ipv6" }],
  ["[1234:5678::abcd]:5678", { host: "1234:5678::abcd", port: 5678, kind: "ipv6" }],
  // Edge cases.
  ["localhost", { host: "localhost", port: undefined, kind: "dns" }],
  ["MATRIX.ORG", { host: "MATRIX.ORG", port: undefined, kind: "dns" }],
  ["-a-.example", { host: "-a-.example", port: undefined, kind: "dns" }],
  ["123.example", { host: "123.example", port: undefined, kind: "dns" }],
  ["example.1a", { host: "example.1a", port: undefined, kind: "dns" }],
  ["matrix.org:1", { host: "matrix.org", port: 1, kind: "dns" }],
  ["matrix.org:65535", { host: "matrix.org", port: 65535, kind: "dns" }],
  ["matrix.org:08448", { host: "matrix.org", port: 8448, kind: "dns" }],
  ["0.0.0.0", { host: "0.0.0.0", port: undefined, kind: "ipv4" }],
  ["255.255.255.255:8448", { host: "255.255.255.255", port: 8448, kind: "ipv4" }],
  ["[::]", { host: "::", port: undefined, kind: "ipv6" }],
  ["[::1]:8448", { host: "::1", port: 8448, kind: "ipv6" }],
  ["[1::]", { host: "1::", port: undefined, kind: "ipv6" }],
  ["[1:2:3:4:5:6:7:8]", { host: "1:2:3:4:5:6:7:8", port: undefined, kind: "ipv6" }],
  ["[1:2:3:4:5:6:7::]", { host: "1:2:3:4:5:6:7::", port: undefined, kind: "ipv6" }],
  ["[::2:3:4:5:6:7:8]", { host: "::2:3:4:5:6:7:8", port: undefined, kind: "ipv6" }],
  ["[ABCD:ef01::]", { host: "ABCD:ef01::", port: undefined, kind: "ipv6" }],
  ["[::ffff:1.2.3.4]", { host: "::ffff:1.2.3.4", port: undefined, kind: "ipv6" }],
  ["[1:2:3:4:5:6:1.2.3.4]:1", { host: "1:2:3:4:5:6:1.2.3.4", port: 1, kind: "ipv6" }],
  ["a".repeat(255), { host: "a".repeat(255), port: undefined, kind: "dns" }],
];

const invalid: string[] = [
  "",
  ":8448",
  "matrix.org:",
  "matrix.org:0",
  "matrix.org:65536",
  "matrix.org:123456",
  "matrix.org:-1",
  "matrix.org:+80",
  "matrix.org: 80",
  "matrix.org:80:80",
  "matrix..org",
  ".matrix.org",
  "matrix.org.",
  "matrix_org",
  "mat rix.org",
  "é.example",
  "例子.example",
  "a".repeat(256),
  // Numeric names that are not IPv4 literals.
  "1.2.3.256",
  "256.1.1.1",
  "1.2.3",
  "1.2.3.4.5",
  "12345",
  "1.2.3.1234",
  // IPv6 literals: unbracketed, unterminated, malformed groups, zones.
  "::1",
  "[::1",
  "::1]",
  "[::1]8448",
  "[::1]:",
  "[::1]:0",
  "[::1]:65536",
  "[]",
  "[:]",
  "[1]",
  "[1.2.3.4]",
  "[1:2:3:4:5:6:7]",
  "[1:2:3:4:5:6:7:8:9]",
  "[1:2:3:4:5:6:7::8]",
  "[1::2::3]",
  "[:::]",
  "[1:::2]",
  "[12345::]",
  "[g::]",
  "[:1:2:3:4:5:6:7]",
  "[1:2:3:4:5:6:7:]",
  "[1.2.3.4::]",
  "[::1.2.3.256]",
  "[::1.2.3]",
  "[1:2:3:4:5:6:7:1.2.3.4]",
  "[::1%eth0]",
  "[fe80::1%25eth0]",
  "[" + "0:".repeat(22) + ":]",
];

describe("parseServerName", () => {
  for (const [name, parts] of valid) {
    it(`accepts ${JSON.stringify(name.length > 40 ? name.slice(0, 20) + "…" : name)}`, () => {
      const parsed = parseServerName(name);
      assert.equal(parsed, name);
      assert.deepEqual(splitServerName(parsed as ServerName), parts);
    });
  }
  for (const name of invalid) {
    it(`rejects ${JSON.stringify(name.length > 40 ? name.slice(0, 20) + "…" : name)}`, () => {
      assert.equal(parseServerName(name), undefined);
    });
  }

  it("accepts generated DNS names, IPv4 and IPv6 literals with and without ports", () => {
    fc.assert(
      fc.property(serverName, (name) => {
        const parsed = parseServerName(name);
        assert.equal(parsed, name);
        const { host, port, kind } = splitServerName(parsed as ServerName);
        const bracketed = kind === "ipv6" ? `[${host}]` : host;
        assert.equal(port === undefined ? bracketed : `${bracketed}:${port}`, name);
      }),
    );
  });

  it("never throws, and what it accepts splits", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const parsed = parseServerName(s);
        if (parsed !== undefined) splitServerName(parsed);
      }),
    );
  });
});
