// The rooms at Synapse's admin API over real HTTP on both engines: pages of every room, searched,
// filtered and ordered; one room; its members; its state; blocking a room (no join, knock or invite
// of a user of ours, through /join or the state API). Server admins only, and the errors of bad
// requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../client/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const enc = encodeURIComponent;
type RoomJson = Record<string, unknown>;

for (const engine of engines) {
  describe(`admin rooms [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    let alpha: string;
    let beta: string;
    let gamma: string;

    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ADMIN_YAML });
      admin = await registerAdmin(hs, "root");
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
      const create = async (user: TestUser, body: Record<string, unknown>): Promise<string> => {
        const reply = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: user.accessToken, body });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body["room_id"] as string;
      };
      alpha = await create(alice, { preset: "public_chat", name: "Alpha", topic: "The first", room_alias_name: "alpha", visibility: "public" });
      beta = await create(bob, {
        preset: "private_chat",
        name: "Beta",
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      gamma = await create(alice, { name: "Gamma", creation_content: { type: "m.space", "m.federate": false } });
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(alpha)}`, { token: bob.accessToken, body: {} })).status, 200);
    });
    after(() => hs.stop());

    const list = async (query = ""): Promise<{ rooms: RoomJson[]; total: number; next: number | undefined; prev: number | undefined }> => {
      const reply = await call(hs, "GET", `/_synapse/admin/v1/rooms${query}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return { rooms: reply.body["rooms"] as RoomJson[], total: reply.body["total_rooms"] as number, next: reply.body["next_batch"] as number | undefined, prev: reply.body["prev_batch"] as number | undefined };
    };
    const ids = (rooms: RoomJson[]): string[] => rooms.map((r) => r["room_id"] as string);

    it("lists every room by name, with what Synapse says of each", async () => {
      const { rooms, total, next } = await list();
      assert.equal(total, 3);
      assert.equal(next, undefined);
      assert.deepEqual(ids(rooms), [alpha, beta, gamma]);
      const [a, b, g] = rooms as [RoomJson, RoomJson, RoomJson];
      assert.equal(a["name"], "Alpha");
      assert.equal(a["canonical_alias"], "#alpha:test.local");
      assert.equal(a["joined_members"], 2);
      assert.equal(a["joined_local_members"], 2);
      assert.equal(a["creator"], alice.userId);
      assert.equal(a["public"], true);
      assert.equal(a["join_rules"], "public");
      assert.equal(a["encryption"], null);
      assert.equal(a["federatable"], true);
      assert.equal(typeof a["version"], "string");
      assert.equal(typeof a["state_events"], "number");
      assert.equal(b["encryption"], "m.megolm.v1.aes-sha2");
      assert.equal(b["public"], false);
      assert.equal(b["join_rules"], "invite");
      assert.equal(g["room_type"], "m.space");
      assert.equal(g["federatable"], false);
    });

    it("orders, pages, searches and filters", async () => {
      assert.deepEqual(ids((await list("?order_by=joined_members")).rooms)[0], alpha);
      assert.deepEqual(ids((await list("?dir=b")).rooms), [gamma, beta, alpha]);
      const page1 = await list("?limit=1");
      assert.deepEqual(ids(page1.rooms), [alpha]);
      assert.equal(page1.next, 1);
      assert.equal(page1.prev, undefined);
      const page2 = await list(`?limit=1&from=${page1.next}`);
      assert.deepEqual(ids(page2.rooms), [beta]);
      assert.equal(page2.prev, 0);
      // "#ALP": found in the canonical alias, and never by chance in another room's random ID (no "#" there).
      assert.deepEqual(ids((await list(`?search_term=${enc("#ALP")}`)).rooms), [alpha]);
      assert.deepEqual(ids((await list(`?search_term=${enc(gamma)}`)).rooms), [gamma]);
      assert.deepEqual(ids((await list("?public_rooms=true")).rooms), [alpha]);
      assert.equal((await list("?empty_rooms=true")).total, 0);
    });

    it("shows one room, its members and its state", async () => {
      const one = await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc(alpha)}`, { token: admin });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body["topic"], "The first");
      assert.equal(one.body["avatar"], null);
      assert.equal(one.body["joined_local_devices"], 2);
      const members = await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc(alpha)}/members`, { token: admin });
      assert.deepEqual({ ...members.body, members: (members.body["members"] as string[]).sort() }, { members: [alice.userId, bob.userId].sort(), total: 2 });
      const state = await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc(beta)}/state`, { token: admin });
      const events = state.body["state"] as RoomJson[];
      const create = events.find((e) => e["type"] === "m.room.create") as RoomJson;
      assert.equal(create["sender"], bob.userId);
      assert.equal(typeof create["event_id"], "string");
      assert.ok(events.some((e) => e["type"] === "m.room.encryption"));
    });

    it("blocks a room: users of ours may no longer join it or be invited; those in it stay", async () => {
      const carol = await registerUser(hs, "carol");
      const path = `/_synapse/admin/v1/rooms/${enc(alpha)}/block`;
      assert.deepEqual((await call(hs, "GET", path, { token: admin })).body, { block: false });
      assert.deepEqual((await call(hs, "PUT", path, { token: admin, body: { block: true } })).body, { block: true });
      assert.deepEqual((await call(hs, "GET", path, { token: admin })).body, { block: true, user_id: "@root:test.local" });
      assertError(await call(hs, "POST", `/_matrix/client/v3/join/${enc(alpha)}`, { token: carol.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `/_matrix/client/v3/join/${enc("#alpha:test.local")}`, { token: carol.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(
        await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(alpha)}/state/m.room.member/${enc(carol.userId)}`, { token: carol.accessToken, body: { membership: "join" } }),
        403,
        "M_FORBIDDEN",
      );
      assertError(await call(hs, "POST", `/_matrix/client/v3/rooms/${enc(alpha)}/invite`, { token: alice.accessToken, body: { user_id: carol.userId } }), 403, "M_FORBIDDEN");
      // Those in the room stay, and may still talk.
      assert.equal((await call(hs, "PUT", `/_matrix/client/v3/rooms/${enc(alpha)}/send/m.room.message/t1`, { token: bob.accessToken, body: { msgtype: "m.text", body: "still here" } })).status, 200);
      // A room not known here may be blocked beforehand.
      assert.deepEqual((await call(hs, "PUT", `/_synapse/admin/v1/rooms/${enc("!elsewhere:remote.example")}/block`, { token: admin, body: { block: true } })).body, { block: true });
      assert.deepEqual((await call(hs, "PUT", path, { token: admin, body: { block: false } })).body, { block: false });
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(alpha)}`, { token: carol.accessToken, body: {} })).status, 200);
      assertError(await call(hs, "PUT", `/_synapse/admin/v1/rooms/${enc("#alpha:test.local")}/block`, { token: admin, body: { block: true } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", path, { token: admin, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "PUT", path, { token: alice.accessToken, body: { block: true } }), 403, "M_FORBIDDEN");
    });

    it("joins a user of ours to a room, inviting them first as the admin where they need it", async () => {
      const dave = await registerUser(hs, "dave");
      const join = (roomIdOrAlias: string, userId: string) => call(hs, "POST", `/_synapse/admin/v1/join/${enc(roomIdOrAlias)}`, { token: admin, body: { user_id: userId } });
      const viaAlias = await join("#alpha:test.local", dave.userId);
      assert.equal(viaAlias.status, 200, JSON.stringify(viaAlias.body));
      assert.deepEqual(viaAlias.body, { room_id: alpha });
      // An invite-only room the admin is in, with the power to invite.
      const delta = (await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: admin, body: { preset: "private_chat" } })).body["room_id"] as string;
      assert.deepEqual((await join(delta, dave.userId)).body, { room_id: delta });
      const members = (await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc(delta)}/members`, { token: admin })).body["members"] as string[];
      assert.ok(members.includes(dave.userId));
      // One the admin is not in: refused.
      assertError(await join(beta, dave.userId), 403, "M_FORBIDDEN");
      assertError(await join(alpha, "@dave:elsewhere.example"), 400, "M_INVALID_PARAM");
      assertError(await join(alpha, "@nobody:test.local"), 404, "M_NOT_FOUND");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/join/${enc(alpha)}`, { token: admin, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/join/${enc(alpha)}`, { token: dave.accessToken, body: { user_id: dave.userId } }), 403, "M_FORBIDDEN");
    });

    it("answers only server admins, and refuses bad requests", async () => {
      const token = alice.accessToken;
      assertError(await call(hs, "GET", "/_synapse/admin/v1/rooms", { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc(alpha)}`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc(alpha)}/members`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc(alpha)}/state`, { token }), 403, "M_FORBIDDEN");
      for (const query of ["?order_by=colour", "?limit=0", "?from=x", "?dir=sideways", "?public_rooms=yes"]) {
        assertError(await call(hs, "GET", `/_synapse/admin/v1/rooms${query}`, { token: admin }), 400, "M_INVALID_PARAM");
      }
      assertError(await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc("!nowhere:test.local")}`, { token: admin }), 404, "M_NOT_FOUND");
    });
  });
}
