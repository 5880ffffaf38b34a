// GET /rooms/{roomId}/hierarchy (space_hierarchy.yaml, spaces.md): the children's order on the
// spec's own example, and over real HTTP on both engines the depth-first walk, who sees which room,
// max_depth, suggested_only, pages, loops and the error answers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { compareChildren } from "../../../src/homeserver/rooms/hierarchy.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, createRoom, enc, registerUser, startRoomsHomeserver, type TestUser } from "./helpers.ts";

describe("space children order", () => {
  it("orders the spec's example as spaces.md says: b, a, c, e, d", () => {
    // spaces.md "Ordering of children within a space".
    const children = [
      { roomId: "!b:example.org", ts: 1640341000000, order: " " },
      { roomId: "!a:example.org", ts: 1640141000000, order: "aaaa" },
      { roomId: "!c:example.org", ts: 1640841000000, order: "first" },
      { roomId: "!e:example.org", ts: 1640641000000, order: undefined },
      { roomId: "!d:example.org", ts: 1640741000000, order: undefined },
    ];
    assert.deepEqual(
      [...children].reverse().sort(compareChildren).map((c) => c.roomId),
      ["!b:example.org", "!a:example.org", "!c:example.org", "!e:example.org", "!d:example.org"],
    );
    // Equal orders fall back to the timestamp, then the room ID.
    assert.ok(compareChildren({ roomId: "!x:a", ts: 1, order: "o" }, { roomId: "!w:a", ts: 2, order: "o" }) < 0);
    assert.ok(compareChildren({ roomId: "!w:a", ts: 1, order: undefined }, { roomId: "!x:a", ts: 1, order: undefined }) < 0);
  });
});

for (const engine of engines) {
  describe(`space hierarchy [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    // space: the root, public; sub: a public space inside it; a, c: public rooms; secret: invite only.
    let space: string;
    let sub: string;
    let a: string;
    let c: string;
    let secret: string;
    const hierarchy = (user: TestUser, roomId: string, query = "") => call(hs, "GET", `/_matrix/client/v1/rooms/${enc(roomId)}/hierarchy${query}`, { token: user.accessToken });
    const roomIds = (body: Record<string, unknown>) => (body["rooms"] as Array<{ room_id: string }>).map((r) => r.room_id);
    const addChild = async (parent: string, child: string, content: Record<string, unknown>) => {
      const reply = await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(parent)}/state/m.space.child/${enc(child)}`, { token: alice.accessToken, body: content });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };

    before(async () => {
      hs = await startRoomsHomeserver(engine);
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
      const spaceRoom = { preset: "public_chat", creation_content: { type: "m.space" } };
      space = await createRoom(hs, alice, { ...spaceRoom, name: "Space" });
      sub = await createRoom(hs, alice, { ...spaceRoom, name: "Sub-space" });
      a = await createRoom(hs, alice, { preset: "public_chat", name: "A" });
      c = await createRoom(hs, alice, { preset: "public_chat", name: "C" });
      secret = await createRoom(hs, alice, { preset: "private_chat", name: "Secret" });
      await addChild(space, a, { via: ["test.local"], order: "b" });
      await addChild(space, sub, { via: ["test.local"], order: "a" });
      await addChild(space, secret, { via: ["test.local"] });
      await addChild(sub, c, { via: ["test.local"], suggested: true });
      await addChild(sub, space, { via: ["test.local"] }); // a loop back to the root
      await addChild(space, "!gone:test.local", {}); // no via: not a child
    });
    after(() => hs.stop());

    it("walks the tree depth first, showing only the rooms the user may see", async () => {
      const reply = await hierarchy(bob, space);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(roomIds(reply.body), [space, sub, c, a], "the secret room is hidden, the loop broken");
      assert.equal(reply.body["next_batch"], undefined);
      const [root, , leaf] = reply.body["rooms"] as Array<Record<string, unknown>>;
      assert.equal(root?.["name"], "Space");
      assert.equal(root?.["room_type"], "m.space");
      assert.equal(root?.["join_rule"], "public");
      assert.equal(root?.["num_joined_members"], 1);
      const children = root?.["children_state"] as Array<Record<string, unknown>>;
      assert.deepEqual(children.map((e) => e["state_key"]), [sub, a, secret], "every child, in the spec's order");
      for (const e of children) {
        assert.equal(e["type"], "m.space.child");
        assert.equal(e["sender"], alice.userId);
        assert.equal(typeof e["origin_server_ts"], "number");
      }
      assert.deepEqual(leaf?.["children_state"], [], "a room that is no space has no children");
      // Alice, a member of the secret room, sees it.
      assert.deepEqual(roomIds((await hierarchy(alice, space)).body), [space, sub, c, a, secret]);
    });

    it("stops at max_depth and keeps only suggested children with suggested_only", async () => {
      assert.deepEqual(roomIds((await hierarchy(bob, space, "?max_depth=0")).body), [space]);
      assert.deepEqual(roomIds((await hierarchy(bob, space, "?max_depth=1")).body), [space, sub, a]);
      assert.deepEqual(roomIds((await hierarchy(bob, sub, "?suggested_only=true")).body), [sub, c]);
      assert.deepEqual(roomIds((await hierarchy(bob, space, "?suggested_only=true")).body), [space], "the root's children are not suggested");
    });

    it("pages with next_batch, keeping max_depth and suggested_only", async () => {
      const first = await hierarchy(bob, space, "?limit=2");
      assert.deepEqual(roomIds(first.body), [space, sub]);
      const token = first.body["next_batch"] as string;
      assert.equal(typeof token, "string");
      const second = await hierarchy(bob, space, `?limit=2&from=${enc(token)}`);
      assert.deepEqual(roomIds(second.body), [c, a]);
      assert.equal(second.body["next_batch"], undefined);
      assertError(await hierarchy(bob, space, `?limit=2&max_depth=1&from=${enc(token)}`), 400, "M_INVALID_PARAM");
      assertError(await hierarchy(bob, space, `?suggested_only=true&from=${enc(token)}`), 400, "M_INVALID_PARAM");
      assertError(await hierarchy(bob, space, "?from=nonsense"), 400, "M_INVALID_PARAM");
    });

    it("refuses rooms the user may not see, and bad parameters", async () => {
      assertError(await hierarchy(bob, secret), 403, "M_FORBIDDEN");
      assertError(await hierarchy(bob, "!unknown:test.local"), 403, "M_FORBIDDEN");
      assertError(await hierarchy(bob, space, "?limit=0"), 400, "M_INVALID_PARAM");
      assertError(await hierarchy(bob, space, "?max_depth=-1"), 400, "M_INVALID_PARAM");
      assertError(await hierarchy(bob, space, "?suggested_only=maybe"), 400, "M_INVALID_PARAM");
    });
  });
}
