import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { serverNameOf } from "../../../src/core/identifiers/server-name-of.ts";
import { parseUserId, userIdParts } from "../../../src/core/identifiers/user-id.ts";
import { anyString, serverName } from "./arbitraries.ts";

const table: [string, string | undefined][] = [
  ["@user:matrix.org", "matrix.org"],
  ["@USER:matrix.org:8448", "matrix.org:8448"], // historical localparts count
  ["@:matrix.org", "matrix.org"],
  ["!opaque:example.org", "example.org"],
  ["#alias:[1234:5678::abcd]:5678", "[1234:5678::abcd]:5678"],
  ["$randomstring:example.org", "example.org"],
  // The first colon splits: what follows must be a whole server name.
  ["@a:b:c", undefined],
  ["@a:b:8448", "b:8448"],
  // No server part.
  ["!Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg", undefined],
  ["$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg", undefined],
  ["$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk", undefined],
  // Not identifiers.
  ["", undefined],
  ["user:matrix.org", undefined],
  ["+user:matrix.org", undefined],
  ["@user:bad_server", undefined],
  ["#:example.org", undefined],
  ["@user\u0000:matrix.org", undefined],
];

describe("serverNameOf", () => {
  for (const [id, server] of table) {
    it(`${JSON.stringify(id)} -> ${String(server)}`, () => assert.equal(serverNameOf(id), server));
  }

  it("agrees with userIdParts for every user ID", () => {
    fc.assert(
      fc.property(anyString, fc.oneof(serverName, anyString), (localpart, server) => {
        const id = parseUserId(`@${localpart}:${server}`);
        if (id === undefined) {
          assert.equal(serverNameOf(`@${localpart}:${server}`), undefined);
        } else {
          assert.equal(serverNameOf(id), userIdParts(id).serverName);
        }
      }),
    );
  });

  it("finds the server of a generated identifier of every sigil", () => {
    fc.assert(
      fc.property(fc.constantFrom("@", "!", "#", "$"), fc.stringMatching(/^[A-Za-z0-9]{1,20}$/), serverName, (sigil, local, server) => {
        const id = `${sigil}${local}:${server}`;
        if (id.length <= 255) assert.equal(serverNameOf(id), server);
      }),
    );
  });
});
