// Shadow bans at Synapse's admin API over real HTTP on both engines: a shadow-banned user's
// messages, state events, redactions, invites (also those of a room they create) and typing seem to
// succeed and reach nobody; they still join and leave; the ban shows in the users API and lifts;
// server admins only, and the errors of bad requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import { assertError, call, enc, registerUser, roomPath, send, startEventsHomeserver, text, type TestUser } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const YAML = `${ADMIN_YAML}\nrc_message: {per_second: 10000, burst_count: 10000}`;

for (const engine of engines) {
  describe(`admin shadow bans [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let bob: TestUser;
    let mallory: TestUser;
    let carol: TestUser;
    let roomId: string;
    let earlier: string;

    const ban = (method: "POST" | "DELETE", userId = mallory.userId, token = admin) => call(hs, method, `/_synapse/admin/v1/users/${enc(userId)}/shadow_ban`, { token });
    const bodiesSeenBy = async (user: TestUser): Promise<string[]> => {
      const reply = await call(hs, "GET", roomPath(roomId, "/messages?dir=b&limit=100"), { token: user.accessToken });
      return (reply.body["chunk"] as Array<Record<string, unknown>>).filter((e) => e["type"] === "m.room.message").map((e) => String((e["content"] as Record<string, unknown>)["body"]));
    };
    const membership = async (userId: string, room = roomId): Promise<string | undefined> => {
      const reply = await call(hs, "GET", roomPath(room, `/state/m.room.member/${enc(userId)}`), { token: admin });
      return reply.status === 200 ? (reply.body["membership"] as string) : undefined;
    };

    before(async () => {
      hs = await startEventsHomeserver(engine, YAML);
      admin = await registerAdmin(hs, "root");
      [bob, mallory, carol] = await Promise.all([registerUser(hs, "bob"), registerUser(hs, "mallory"), registerUser(hs, "carol")]);
      const created = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: bob.accessToken, body: { preset: "public_chat", name: "Open room" } });
      roomId = created.body["room_id"] as string;
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: mallory.accessToken, body: {} })).status, 200);
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: admin, body: {} })).status, 200);
      earlier = await send(hs, mallory, roomId, text("before the ban"));
      assert.deepEqual((await ban("POST")).body, {});
    });
    after(() => hs.stop());

    it("says so in the users API", async () => {
      const reply = await call(hs, "GET", `/_synapse/admin/v2/users/${enc(mallory.userId)}`, { token: admin });
      assert.equal(reply.body["shadow_banned"], true);
      assert.equal((await call(hs, "GET", `/_synapse/admin/v2/users/${enc(bob.userId)}`, { token: admin })).body["shadow_banned"], false);
    });

    it("answers messages, state and redactions with event IDs that reach nobody, the same one for a retry", async () => {
      const path = roomPath(roomId, "/send/m.room.message/m1");
      const sent = await call(hs, "PUT", path, { token: mallory.accessToken, body: text("spam") });
      assert.equal(sent.status, 200);
      const fakeId = sent.body["event_id"] as string;
      assert.match(fakeId, /^\$[A-Za-z0-9_-]{43}$/);
      assert.equal((await call(hs, "PUT", path, { token: mallory.accessToken, body: text("spam") })).body["event_id"], fakeId);
      assert.ok(!(await bodiesSeenBy(bob)).includes("spam"));
      assertError(await call(hs, "GET", roomPath(roomId, `/event/${enc(fakeId)}`), { token: bob.accessToken }), 404, "M_NOT_FOUND");

      const topic = await call(hs, "PUT", roomPath(roomId, "/state/m.room.topic/"), { token: mallory.accessToken, body: { topic: "spam topic" } });
      assert.equal(topic.status, 200);
      assert.match(topic.body["event_id"] as string, /^\$/);
      assertError(await call(hs, "GET", roomPath(roomId, "/state/m.room.topic/"), { token: bob.accessToken }), 404, "M_NOT_FOUND");

      const redaction = await call(hs, "PUT", roomPath(roomId, `/redact/${enc(earlier)}/r1`), { token: mallory.accessToken, body: {} });
      assert.equal(redaction.status, 200);
      assert.ok((await bodiesSeenBy(bob)).includes("before the ban"), "the message is not redacted");
    });

    it("sends no invites, also of a room they create, and tells nobody their typing", async () => {
      assert.equal((await call(hs, "POST", roomPath(roomId, "/invite"), { token: mallory.accessToken, body: { user_id: carol.userId } })).status, 200);
      assert.equal(await membership(carol.userId), undefined);
      const created = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: mallory.accessToken, body: { preset: "private_chat", invite: [carol.userId] } });
      assert.equal(created.status, 200);
      assert.equal(await membership(carol.userId, created.body["room_id"] as string), undefined);
      assert.equal((await call(hs, "PUT", roomPath(roomId, `/typing/${enc(mallory.userId)}`), { token: mallory.accessToken, body: { typing: true, timeout: 30000 } })).status, 200);
      const sync = await call(hs, "GET", "/_matrix/client/v3/sync?timeout=0", { token: bob.accessToken });
      const joined = (sync.body["rooms"] as { join: Record<string, { ephemeral: { events: Array<Record<string, unknown>> } }> }).join[roomId];
      const typing = joined?.ephemeral.events.find((e) => e["type"] === "m.typing");
      assert.deepEqual((typing?.["content"] as { user_ids?: string[] } | undefined)?.user_ids ?? [], []);
    });

    it("still lets them leave and join, and once the ban is lifted their messages go out again", async () => {
      assert.equal((await call(hs, "POST", roomPath(roomId, "/leave"), { token: mallory.accessToken, body: {} })).status, 200);
      assert.equal(await membership(mallory.userId), "leave");
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: mallory.accessToken, body: {} })).status, 200);
      assert.equal(await membership(mallory.userId), "join");
      assert.deepEqual((await ban("DELETE")).body, {});
      await send(hs, mallory, roomId, text("after the ban"));
      assert.ok((await bodiesSeenBy(bob)).includes("after the ban"));
    });

    it("answers errors: admins only, users of ours that exist", async () => {
      assertError(await ban("POST", bob.userId, mallory.accessToken), 403, "M_FORBIDDEN");
      assertError(await ban("POST", "@eve:elsewhere.example"), 400, "M_INVALID_PARAM");
      assertError(await ban("POST", `@ghost:${bob.userId.split(":")[1]}`), 404, "M_NOT_FOUND");
    });
  });
}
