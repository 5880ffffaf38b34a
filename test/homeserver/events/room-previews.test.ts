// Room previews (modules/room_previews.md) over real HTTP on both engines: GET /rooms/{roomId}/initialSync
// (room_initial_sync.yaml) and the peeking GET /events (peeking_events.yaml). Who may look (members,
// anyone and guests in world_readable rooms, former members as they left), the state, the latest
// messages oldest first with tokens that /messages and /events continue from, and a long-poll that
// wakes for the room's next event.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import {
  assertError,
  call,
  createRoom,
  enc,
  EVENTS_YAML,
  get,
  getOk,
  ids,
  registerGuest,
  registerUser,
  roomPath,
  send,
  setMembership,
  startEventsHomeserver,
  text,
  type TestUser,
} from "./helpers.ts";

for (const engine of engines) {
  describe(`room previews [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let eve: TestUser;
    let guest: TestUser;
    before(async () => {
      hs = await startEventsHomeserver(engine, [EVENTS_YAML, "allow_guest_access: true"].join("\n"));
      [alice, bob, eve] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob"), registerUser(hs, "eve")]);
      guest = await registerGuest(hs);
    });
    after(() => hs.stop());

    const initialSync = (user: TestUser, roomId: string, limit?: number) => get(hs, user, `${roomPath(roomId, "/initialSync")}${limit === undefined ? "" : `?limit=${limit}`}`);
    const peek = (user: TestUser, roomId: string, query: string) => get(hs, user, `/_matrix/client/v3/events?room_id=${enc(roomId)}&${query}`);

    it("shows a world_readable room to anyone, guests too: its state and latest messages, oldest first", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "world_readable" });
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push(await send(hs, alice, roomId, text(`hello ${i}`)));
      for (const viewer of [eve, guest]) {
        const reply = await initialSync(viewer, roomId, 3);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        const body = reply.body;
        assert.equal(body["room_id"], roomId);
        assert.equal(body["membership"], undefined, "the viewer has no membership");
        assert.equal(body["visibility"], "private");
        assert.deepEqual(body["account_data"], []);
        const messages = body["messages"] as Record<string, unknown>;
        assert.deepEqual(ids(messages["chunk"]), sent.slice(2), "the last three, oldest first");
        const stateTypes = (body["state"] as Array<{ type: string }>).map((e) => e.type).sort();
        assert.deepEqual(stateTypes, ["m.room.create", "m.room.history_visibility", "m.room.join_rules", "m.room.member", "m.room.power_levels"]);
        // `start` pages back through /messages to what comes before the chunk.
        const earlier = await getOk(hs, viewer, roomPath(roomId, `/messages?dir=b&limit=2&from=${enc(messages["start"] as string)}`));
        assert.deepEqual(ids(earlier["chunk"]), [sent[1], sent[0]]);
      }
    });

    it("answers members with their membership and room account data, and 403 to outsiders of a room they may not see", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "shared" });
      await send(hs, alice, roomId, text("members only"));
      assert.equal((await call(hs, "PUT", `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/tags/u.work`, { token: alice.accessToken, body: { order: 0.5 } })).status, 200);
      assert.equal((await call(hs, "PUT", "/_matrix/client/v3/directory/list/room/" + enc(roomId), { token: alice.accessToken, body: { visibility: "public" } })).status, 200);
      const mine = await initialSync(alice, roomId);
      assert.equal(mine.status, 200, JSON.stringify(mine.body));
      assert.equal(mine.body["membership"], "join");
      assert.equal(mine.body["visibility"], "public");
      assert.deepEqual(mine.body["account_data"], [{ type: "m.tag", content: { tags: { "u.work": { order: 0.5 } } } }]);
      assertError(await initialSync(eve, roomId), 403, "M_FORBIDDEN");
      assertError(await initialSync(guest, roomId), 403, "M_FORBIDDEN");
      assertError(await peek(eve, roomId, "timeout=0"), 403, "M_FORBIDDEN");
      assertError(await initialSync(eve, "!unknown:test.local"), 403, "M_FORBIDDEN");
    });

    it("shows a former member the room as they left it", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "shared" });
      await setMembership(hs, roomId, bob, "join");
      const before = await send(hs, alice, roomId, text("while bob was here"));
      const leave = await setMembership(hs, roomId, bob, "leave");
      await send(hs, alice, roomId, text("after bob left"));
      await call(hs, "PUT", roomPath(roomId, "/state/m.room.topic/"), { token: alice.accessToken, body: { topic: "later" } });
      const reply = await initialSync(bob, roomId);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body["membership"], "leave");
      const chunk = ids((reply.body["messages"] as Record<string, unknown>)["chunk"]);
      assert.deepEqual(chunk.slice(-2), [before, leave], "up to the leave, nothing after");
      const types = (reply.body["state"] as Array<{ type: string }>).map((e) => e.type);
      assert.ok(!types.includes("m.room.topic"), "the state when bob left");
      // Nothing new is ever his to see: no peeking.
      assertError(await peek(bob, roomId, "timeout=0"), 403, "M_FORBIDDEN");
    });

    it("peeks from initialSync's end: a long-poll wakes for the next event, and the stream goes on from its end", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "world_readable" });
      await send(hs, alice, roomId, text("before"));
      const end = ((await getOk(hs, eve, roomPath(roomId, "/initialSync")))["messages"] as Record<string, unknown>)["end"] as string;
      const empty = await peek(eve, roomId, `from=${enc(end)}&timeout=0`);
      assert.equal(empty.status, 200, JSON.stringify(empty.body));
      assert.deepEqual(empty.body, { start: end, end, chunk: [] }, "nothing new, at once with timeout=0");
      const waiting = peek(eve, roomId, `from=${enc(end)}&timeout=20000`);
      const next = await send(hs, alice, roomId, text("news"));
      const woken = await waiting;
      assert.equal(woken.status, 200, JSON.stringify(woken.body));
      assert.deepEqual(ids(woken.body["chunk"]), [next]);
      assert.equal(woken.body["start"], end);
      const chunk = woken.body["chunk"] as Array<Record<string, unknown>>;
      assert.equal(chunk[0]?.["room_id"], roomId);
      const later = await send(hs, alice, roomId, text("more news"));
      const again = await peek(eve, roomId, `from=${enc(woken.body["end"] as string)}&timeout=0`);
      assert.deepEqual(ids(again.body["chunk"]), [later], "from the last end: only what came after");
    });

    it("peeks without a token from now on", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "world_readable" });
      await send(hs, alice, roomId, text("old"));
      const now = await peek(guest, roomId, "timeout=0");
      assert.equal(now.status, 200, JSON.stringify(now.body));
      assert.deepEqual(now.body["chunk"], [], "no token: nothing from before");
      const next = await send(hs, alice, roomId, text("new"));
      const seen = await peek(guest, roomId, `from=${enc(now.body["end"] as string)}&timeout=0`);
      assert.deepEqual(ids(seen.body["chunk"]), [next]);
    });

    it("serves an outsider only the events of world_readable history, and nothing once the room stops being so", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "joined" });
      const from = ((await getOk(hs, alice, roomPath(roomId, "/initialSync")))["messages"] as Record<string, unknown>)["end"] as string;
      await send(hs, alice, roomId, text("hidden"));
      await call(hs, "PUT", roomPath(roomId, "/state/m.room.history_visibility/"), { token: alice.accessToken, body: { history_visibility: "world_readable" } });
      const shown = await send(hs, alice, roomId, text("shown"));
      const seen = await peek(eve, roomId, `from=${enc(from)}&timeout=0`);
      assert.equal(seen.status, 200, JSON.stringify(seen.body));
      const bodies = (seen.body["chunk"] as Array<{ content: { body?: string } }>).map((e) => e.content.body);
      assert.ok(ids(seen.body["chunk"]).includes(shown));
      assert.ok(!bodies.includes("hidden"), "from before the room became world_readable");
      await call(hs, "PUT", roomPath(roomId, "/state/m.room.history_visibility/"), { token: alice.accessToken, body: { history_visibility: "shared" } });
      await send(hs, alice, roomId, text("for members again"));
      assertError(await peek(eve, roomId, "timeout=0"), 403, "M_FORBIDDEN");
      assertError(await initialSync(eve, roomId), 403, "M_FORBIDDEN");
      // Members follow their rooms this way too, seeing everything.
      const member = await peek(alice, roomId, `from=${enc(from)}&timeout=0`);
      assert.ok((member.body["chunk"] as Array<{ content: { body?: string } }>).some((e) => e.content.body === "hidden"));
    });

    it("refuses bad parameters with the spec's errors", async () => {
      const roomId = await createRoom(hs, alice, { historyVisibility: "world_readable" });
      assertError(await get(hs, eve, "/_matrix/client/v3/events?timeout=0"), 404, "M_UNRECOGNIZED");
      assertError(await get(hs, eve, "/_matrix/client/v3/events?room_id=nope&timeout=0"), 400, "M_INVALID_PARAM");
      assertError(await peek(eve, roomId, "from=garbage&timeout=0"), 400, "M_INVALID_PARAM");
      assertError(await peek(eve, roomId, "timeout=-1"), 400, "M_INVALID_PARAM");
      assertError(await initialSync(eve, "nope"), 400, "M_INVALID_PARAM");
      assertError(await get(hs, eve, `${roomPath(roomId, "/initialSync")}?limit=x`), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", roomPath(roomId, "/initialSync")), 401, "M_MISSING_TOKEN");
    });
  });
}
