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

  it("answers an identifier asked again as the first time, valid or not, also after more than it remembers", () => {
    const ids = Array.from({ length: 25_000 }, (_, i) => (i % 3 === 0 ? `@user${i}:server${i % 7}.example` : i % 3 === 1 ? `!room${i}:[::1]:${i % 65535}` : `@bad${i}:no spaces allowed`));
    const first = ids.map((id) => serverNameOf(id));
    for (let i = ids.length - 1; i >= 0; i -= 7) assert.equal(serverNameOf(ids[i] as string), first[i], ids[i]);
    assert.equal(first[0], "server0.example");
    assert.equal(first[1], "[::1]:1");
    assert.equal(first[2], undefined);
  });
});
