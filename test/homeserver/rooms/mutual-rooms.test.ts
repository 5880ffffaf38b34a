// GET /_matrix/client/v1/mutual_rooms (modules/mutual_rooms.md, v1.19): the batching as a pure
// function (property tests), then the endpoint over real HTTP on both engines with its error paths.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { MatrixError } from "../../../src/core/errors.ts";
import { mutualRoomsBatch } from "../../../src/homeserver/api/client/mutual-rooms.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, post, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

describe("mutualRoomsBatch", () => {
  const roomIds = fc.uniqueArray(
    fc.stringMatching(/^[A-Za-z0-9]{1,12}$/).map((s) => `!${s}:example.org`),
    { maxLength: 40 },
  );

  it("gives every room once, sorted, in batches of at most the size, each with the total count", () => {
    fc.assert(
      fc.property(roomIds, fc.integer({ min: 1, max: 7 }), (rooms, size) => {
        const seen: string[] = [];
        let from: string | undefined;
        for (let batches = 0; ; batches++) {
          assert.ok(batches <= rooms.length, "the batches end");
          const batch = mutualRoomsBatch(rooms, from, size);
          assert.equal(batch["count"], rooms.length);
          const joined = batch["joined"] as string[];
          assert.ok(joined.length <= size);
          seen.push(...joined);
          from = batch["next_batch"] as string | undefined;
          if (from === undefined) break;
          assert.equal(joined.length, size, "only a full batch has a next one");
        }
        assert.deepEqual(seen, [...rooms].sort());
      }),
    );
  });

  it("refuses a from token it did not make", () => {
    for (const token of ["garbage", Buffer.from("not a room", "utf8").toString("base64url"), "!a:b"]) {
      assert.throws(
        () => mutualRoomsBatch(["!a:example.org"], token, 1),
        (err: unknown) => err instanceof MatrixError && err.errcode === "M_INVALID_PARAM" && err.status === 400,
      );
    }
  });
});

for (const engine of engines) {
  describe(`GET /mutual_rooms [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startRoomsHomeserver(engine);
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
    });
    after(() => hs.stop());

    const mutual = (user: TestUser | undefined, query: string) => call(hs, "GET", `/_matrix/client/v1/mutual_rooms?${query}`, { token: user?.accessToken });

    it("lists the rooms both users are joined to, and only those", async () => {
      const shared = [await createRoom(hs, alice, { preset: "public_chat" }), await createRoom(hs, alice, { preset: "public_chat" })];
      for (const roomId of shared) assert.equal((await post(hs, bob, `/join/${enc(roomId)}`)).status, 200);
      await createRoom(hs, alice, {}); // alice alone
      await createRoom(hs, alice, { invite: [bob.userId] }); // bob only invited
      const left = await createRoom(hs, alice, { preset: "public_chat" });
      await post(hs, bob, `/join/${enc(left)}`);
      await post(hs, bob, `/rooms/${enc(left)}/leave`);

      const reply = await mutual(alice, `user_id=${enc(bob.userId)}`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { joined: [...shared].sort(), count: 2 });
      const back = await mutual(bob, `user_id=${enc(alice.userId)}`);
      assert.deepEqual(back.body["joined"], [...shared].sort());
    });

    it("answers an empty list for a user who does not exist, and the spec's errors otherwise", async () => {
      const nobody = await mutual(alice, `user_id=${enc("@nobody-here:example.org")}`);
      assert.equal(nobody.status, 200);
      assert.deepEqual(nobody.body, { joined: [], count: 0 });
      assertError(await mutual(alice, ""), 400, "M_MISSING_PARAM");
      assertError(await mutual(alice, `user_id=${enc("not-a-user")}`), 400, "M_INVALID_PARAM");
      assertError(await mutual(alice, `user_id=${enc(alice.userId)}`), 400, "M_INVALID_PARAM");
      assertError(await mutual(alice, `user_id=${enc(bob.userId)}&from=garbage`), 400, "M_INVALID_PARAM");
      assertError(await mutual(undefined, `user_id=${enc(bob.userId)}`), 401, "M_MISSING_TOKEN");
    });
  });
}
