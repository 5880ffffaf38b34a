// A room's messages at Synapse's admin API (/_synapse/admin/v1/rooms/{roomId}/messages and
// .../context/{eventId}) over real HTTP on both engines: an admin who is no member reads every
// event, paged as /messages pages them, or around one as /context gives them, whatever the history
// visibility; server admins only, and the errors of bad requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import { assertError, call, enc, registerUser, send, startEventsHomeserver, text, type TestUser } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

for (const engine of engines) {
  describe(`admin room messages [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let roomId: string;
    const path = (query = "") => `/_synapse/admin/v1/rooms/${enc(roomId)}/messages${query}`;
    const bodies = (chunk: unknown): string[] =>
      (chunk as Array<Record<string, unknown>>).filter((e) => e["type"] === "m.room.message").map((e) => String((e["content"] as Record<string, unknown>)["body"]));

    before(async () => {
      hs = await startEventsHomeserver(engine, `${ADMIN_YAML}\nrc_message: {per_second: 1000, burst_count: 1000}`);
      admin = await registerAdmin(hs, "root");
      alice = await registerUser(hs, "alice");
      const created = await call(hs, "POST", "/_matrix/client/v3/createRoom", {
        token: alice.accessToken,
        body: { preset: "private_chat", initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } }] },
      });
      roomId = created.body["room_id"] as string;
      for (let i = 1; i <= 5; i++) await send(hs, alice, roomId, text(`message ${i}`));
    });
    after(() => hs.stop());

    it("lets an admin who is no member read every message, newest first, in pages", async () => {
      assertError(await call(hs, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b`, { token: admin }), 403, "M_FORBIDDEN");
      const all = await call(hs, "GET", path("?dir=b&limit=50"), { token: admin });
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.deepEqual(bodies(all.body["chunk"]), ["message 5", "message 4", "message 3", "message 2", "message 1"]);
      assert.ok((all.body["chunk"] as Array<Record<string, unknown>>).some((e) => e["type"] === "m.room.create"), "the room's state events too");

      const first = await call(hs, "GET", path("?dir=b&limit=2"), { token: admin });
      assert.deepEqual(bodies(first.body["chunk"]), ["message 5", "message 4"]);
      const next = await call(hs, "GET", path(`?dir=b&limit=2&from=${enc(first.body["end"] as string)}`), { token: admin });
      assert.deepEqual(bodies(next.body["chunk"]), ["message 3", "message 2"]);
      const forwards = await call(hs, "GET", path(`?dir=f&limit=100&filter=${enc(JSON.stringify({ types: ["m.room.message"] }))}`), { token: admin });
      assert.deepEqual(bodies(forwards.body["chunk"]), ["message 1", "message 2", "message 3", "message 4", "message 5"]);
    });

    it("gives an event with those around it, as /context does", async () => {
      const all = (await call(hs, "GET", path("?dir=f&limit=50"), { token: admin })).body["chunk"] as Array<Record<string, unknown>>;
      const third = all.find((e) => (e["content"] as Record<string, unknown>)["body"] === "message 3");
      assert.ok(third !== undefined);
      const contextPath = (eventId: string, query = "?limit=2") => `/_synapse/admin/v1/rooms/${enc(roomId)}/context/${enc(eventId)}${query}`;
      const reply = await call(hs, "GET", contextPath(third["event_id"] as string), { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(bodies([reply.body["event"]]), ["message 3"]);
      assert.deepEqual(bodies(reply.body["events_before"]), ["message 2"]);
      assert.deepEqual(bodies(reply.body["events_after"]), ["message 4"]);
      assert.ok(Array.isArray(reply.body["state"]));
      assertError(await call(hs, "GET", contextPath("$unknown"), { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", contextPath(third["event_id"] as string), { token: alice.accessToken }), 403, "M_FORBIDDEN");
      const other = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: {} });
      const elsewhere = `/_synapse/admin/v1/rooms/${enc(other.body["room_id"] as string)}/context/${enc(third["event_id"] as string)}`;
      assertError(await call(hs, "GET", elsewhere, { token: admin }), 404, "M_NOT_FOUND");
    });

    it("answers errors: admins only, a room known here", async () => {
      assertError(await call(hs, "GET", path("?dir=b"), { token: alice.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/rooms/${enc("!unknown:test.local")}/messages`, { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", "/_synapse/admin/v1/rooms/not-a-room/messages", { token: admin }), 400, "M_INVALID_PARAM");
    });
  });
}
