import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import {
  assertError,
  call,
  createRoom,
  enc,
  get,
  getOk,
  login,
  registerUser,
  roomPath,
  send,
  setMembership,
  startEventsHomeserver,
  startRestartable,
  text,
  type TestUser,
} from "./helpers.ts";

for (const engine of engines) {
  describe(`sending events [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let eve: TestUser;
    let roomId: string;
    before(async () => {
      hs = await startEventsHomeserver(engine);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
      eve = await registerUser(hs, "eve");
      roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
    });
    after(() => hs.stop());

    it("sends a message and serves it back as a ClientEvent", async () => {
      const eventId = await send(hs, alice, roomId, text("hello"));
      const event = await getOk(hs, alice, roomPath(roomId, `/event/${enc(eventId)}`));
      assert.equal(event["event_id"], eventId);
      assert.equal(event["room_id"], roomId);
      assert.equal(event["sender"], alice.userId);
      assert.equal(event["type"], "m.room.message");
      assert.deepEqual(event["content"], text("hello"));
      assert.equal(typeof event["origin_server_ts"], "number");
      assert.equal(event["state_key"], undefined);
      const unsigned = event["unsigned"] as Record<string, unknown>;
      assert.equal(typeof unsigned["age"], "number");
      // client_event.yaml `membership`: the requester's membership at the event.
      assert.equal(unsigned["membership"], "join");
    });

    it("answers a retransmission with the original event, per device and per path", async () => {
      const path = roomPath(roomId, "/send/m.room.message/same-txn");
      const first = await call(hs, "PUT", path, { token: alice.accessToken, body: text("once") });
      const again = await call(hs, "PUT", path, { token: alice.accessToken, body: text("once") });
      assert.equal(first.status, 200);
      assert.deepEqual(again, first);
      // Concurrent retransmissions wait for the first rather than sending twice.
      const path2 = roomPath(roomId, "/send/m.room.message/concurrent");
      const replies = await Promise.all([1, 2, 3].map(() => call(hs, "PUT", path2, { token: alice.accessToken, body: text("c") })));
      assert.equal(new Set(replies.map((r) => r.body["event_id"])).size, 1);
      // Another device of the same user, another event type (another path), another user: new events.
      const other = await login(hs, alice.userId, alice.password);
      const fromOther = await call(hs, "PUT", path, { token: other.body["access_token"] as string, body: text("once") });
      assert.notEqual(fromOther.body["event_id"], first.body["event_id"]);
      const otherType = await call(hs, "PUT", roomPath(roomId, "/send/org.example.other/same-txn"), { token: alice.accessToken, body: {} });
      assert.notEqual(otherType.body["event_id"], first.body["event_id"]);
      const bobs = await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/same-txn"), { token: bob.accessToken, body: text("once") });
      assert.notEqual(bobs.body["event_id"], first.body["event_id"]);
      // The redact endpoint is another scope for the same txnId.
      const redaction = await call(hs, "PUT", roomPath(roomId, `/redact/${enc(bobs.body["event_id"] as string)}/same-txn`), { token: bob.accessToken, body: {} });
      assert.equal(redaction.status, 200);
      assert.notEqual(redaction.body["event_id"], bobs.body["event_id"]);
    });

    it("tells only the sending device its transaction ID", async () => {
      const txnPath = roomPath(roomId, "/send/m.room.message/my-txn-42");
      const sent = await call(hs, "PUT", txnPath, { token: alice.accessToken, body: text("with txn") });
      const eventPath = roomPath(roomId, `/event/${enc(sent.body["event_id"] as string)}`);
      const mine = await getOk(hs, alice, eventPath);
      assert.equal((mine["unsigned"] as Record<string, unknown>)["transaction_id"], "my-txn-42");
      const theirs = await getOk(hs, bob, eventPath);
      assert.equal((theirs["unsigned"] as Record<string, unknown>)["transaction_id"], undefined);
      const otherDevice = await login(hs, alice.userId, alice.password);
      const other = await call(hs, "GET", eventPath, { token: otherDevice.body["access_token"] as string });
      assert.equal((other.body["unsigned"] as Record<string, unknown>)["transaction_id"], undefined);
    });

    it("refuses users who are not in the room, and unknown rooms, with 403", async () => {
      assertError(await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/x1"), { token: eve.accessToken, body: text("hi") }), 403, "M_FORBIDDEN");
      assertError(
        await call(hs, "PUT", roomPath("!nowhere:test.local", "/send/m.room.message/x2"), { token: alice.accessToken, body: text("hi") }),
        403,
        "M_FORBIDDEN",
      );
      assertError(await call(hs, "PUT", roomPath("not-a-room", "/send/m.room.message/x3"), { token: alice.accessToken, body: {} }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/x4"), { token: alice.accessToken, rawBody: "[1]" }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/x5"), { body: {} }), 401, "M_MISSING_TOKEN");
    });

    // The event the request would make is malformed: the request's fault, not a refusal by the room.
    it("answers an event over 65536 bytes with 413 M_TOO_LARGE and one that is not canonical JSON with 400 M_BAD_JSON", async () => {
      const big = { msgtype: "m.text", body: "x".repeat(70_000) };
      assertError(await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/big1"), { token: alice.accessToken, body: big }), 413, "M_TOO_LARGE");
      // Room version 12 takes integers only (strict canonical JSON): a float, or one past 2^53.
      assertError(await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/float1"), { token: alice.accessToken, rawBody: '{"msgtype":"m.text","body":"x","n":1.5}' }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", roomPath(roomId, "/state/org.example.big"), { token: alice.accessToken, rawBody: '{"n":1e30}' }), 400, "M_BAD_JSON");
      // Power levels that are not power levels: malformed, whoever sends them (rooms/v10.md rule 9).
      for (const levels of [{ users: { [bob.userId]: "high" } }, { users: { "not-a-user": 50 } }, { ban: "50" }, { events: { "m.room.name": true } }]) {
        assertError(await call(hs, "PUT", roomPath(roomId, "/state/m.room.power_levels"), { token: alice.accessToken, body: levels }), 400, "M_BAD_JSON");
      }
      // The room is as it was: the next message goes through.
      const ok = await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/after1"), { token: alice.accessToken, body: text("after") });
      assert.equal(ok.status, 200);
    });

    it("sets state, with the empty state key with or without the trailing slash", async () => {
      const put = await call(hs, "PUT", roomPath(roomId, "/state/m.room.topic"), { token: alice.accessToken, body: { topic: "one" } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(await getOk(hs, bob, roomPath(roomId, "/state/m.room.topic")), { topic: "one" });
      assert.deepEqual(await getOk(hs, bob, roomPath(roomId, "/state/m.room.topic/")), { topic: "one" });
      const slash = await call(hs, "PUT", roomPath(roomId, "/state/m.room.topic/"), { token: alice.accessToken, body: { topic: "two" } });
      assert.equal(slash.status, 200);
      assert.notEqual(slash.body["event_id"], put.body["event_id"]);
      const event = await getOk(hs, bob, roomPath(roomId, "/state/m.room.topic/?format=event"));
      assert.equal(event["event_id"], slash.body["event_id"]);
      assert.equal(event["state_key"], "");
      const unsigned = event["unsigned"] as Record<string, unknown>;
      // client_event.yaml: the replaced state event and its content.
      assert.equal(unsigned["replaces_state"], put.body["event_id"]);
      assert.deepEqual(unsigned["prev_content"], { topic: "one" });
      // Setting the same content again sends nothing.
      const same = await call(hs, "PUT", roomPath(roomId, "/state/m.room.topic"), { token: alice.accessToken, body: { topic: "two" } });
      assert.equal(same.body["event_id"], slash.body["event_id"]);
    });

    it("keeps state keys with slashes and user IDs apart", async () => {
      const key = "a/b c";
      const put = await call(hs, "PUT", roomPath(roomId, `/state/org.example.thing/${enc(key)}`), { token: alice.accessToken, body: { v: 1 } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const event = await getOk(hs, alice, roomPath(roomId, `/state/org.example.thing/${enc(key)}?format=event`));
      assert.equal(event["state_key"], key);
      assertError(await get(hs, alice, roomPath(roomId, "/state/org.example.thing/other")), 404, "M_NOT_FOUND");
      assertError(await get(hs, alice, roomPath(roomId, "/state/org.example.thing?format=xml")), 400, "M_INVALID_PARAM");
    });

    it("checks the aliases of a new m.room.canonical_alias, only those that are new", async () => {
      const room = await createRoom(hs, alice);
      const put = (content: Record<string, unknown>) => call(hs, "PUT", roomPath(room, "/state/m.room.canonical_alias"), { token: alice.accessToken, body: content });
      assertError(await put({ alias: "not an alias" }), 400, "M_INVALID_PARAM");
      assertError(await put({ alias: "#nowhere:test.local" }), 400, "M_BAD_ALIAS");
      assertError(await put({ alt_aliases: ["#nowhere:test.local"] }), 400, "M_BAD_ALIAS");
      const alias = `#good-${engine}:test.local`;
      const created = await call(hs, "PUT", `/_matrix/client/v3/directory/room/${enc(alias)}`, { token: alice.accessToken, body: { room_id: room } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal((await put({ alias })).status, 200);
      assertError(await put({ alias, alt_aliases: ["#nowhere:test.local"] }), 400, "M_BAD_ALIAS");
      // An alias already present is not checked again, even one that does not resolve (set here
      // through the room engine, which checks no aliases).
      await hs.server.services.roomserver.createLocalEvent({
        roomId: room,
        type: "m.room.canonical_alias",
        stateKey: "",
        sender: alice.userId,
        content: { alias, alt_aliases: ["#gone:test.local"] },
      });
      const again = await put({ alias, alt_aliases: ["#gone:test.local"], "org.example.extra": true });
      assert.equal(again.status, 200, JSON.stringify(again.body));
    });

    it("refuses state from users without the power level", async () => {
      assertError(await call(hs, "PUT", roomPath(roomId, "/state/m.room.name"), { token: bob.accessToken, body: { name: "nope" } }), 403, "M_FORBIDDEN");
    });

    it("serves the whole current state to members and 403 to others", async () => {
      const reply = await call(hs, "GET", roomPath(roomId, "/state"), { token: bob.accessToken });
      assert.equal(reply.status, 200);
      const state = reply.body as unknown as Array<Record<string, unknown>>;
      assert.ok(Array.isArray(state));
      const types = new Set(state.map((e) => e["type"]));
      for (const t of ["m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules", "m.room.history_visibility", "m.room.topic"]) {
        assert.ok(types.has(t), t);
      }
      assertError(await get(hs, eve, roomPath(roomId, "/state")), 403, "M_FORBIDDEN");
      assertError(await get(hs, eve, roomPath(roomId, "/state/m.room.topic")), 403, "M_FORBIDDEN");
      assertError(await get(hs, eve, roomPath("!unknown:test.local", "/state")), 403, "M_FORBIDDEN");
    });

    it("serves a former member the state as it was when they left", async () => {
      const room = await createRoom(hs, alice);
      await setMembership(hs, room, eve, "join");
      await call(hs, "PUT", roomPath(room, "/state/m.room.topic"), { token: alice.accessToken, body: { topic: "before" } });
      await setMembership(hs, room, eve, "leave");
      await call(hs, "PUT", roomPath(room, "/state/m.room.topic"), { token: alice.accessToken, body: { topic: "after" } });
      assert.deepEqual(await getOk(hs, eve, roomPath(room, "/state/m.room.topic")), { topic: "before" });
      assert.deepEqual(await getOk(hs, alice, roomPath(room, "/state/m.room.topic")), { topic: "after" });
    });

    it("lets anyone read the state of a world_readable room", async () => {
      const room = await createRoom(hs, alice, { historyVisibility: "world_readable" });
      await call(hs, "PUT", roomPath(room, "/state/m.room.topic"), { token: alice.accessToken, body: { topic: "open" } });
      assert.deepEqual(await getOk(hs, eve, roomPath(room, "/state/m.room.topic")), { topic: "open" });
    });

    for (const roomVersion of ["10", "11"]) {
      it(`redacts an event in a v${roomVersion} room, and serves it redacted with redacted_because`, async () => {
        const room = await createRoom(hs, alice, { roomVersion });
        const target = await send(hs, alice, room, text("secret"));
        const redaction = await call(hs, "PUT", roomPath(room, `/redact/${enc(target)}/r1`), { token: alice.accessToken, body: { reason: "oops" } });
        assert.equal(redaction.status, 200, JSON.stringify(redaction.body));
        const event = await getOk(hs, alice, roomPath(room, `/event/${enc(target)}`));
        assert.deepEqual(event["content"], {});
        const because = (event["unsigned"] as Record<string, unknown>)["redacted_because"] as Record<string, unknown>;
        assert.equal(because["event_id"], redaction.body["event_id"]);
        assert.equal(because["redacts"], target);
        assert.equal((because["content"] as Record<string, unknown>)["reason"], "oops");
        const redactionEvent = await getOk(hs, alice, roomPath(room, `/event/${enc(redaction.body["event_id"] as string)}`));
        assert.equal(redactionEvent["redacts"], target);
        // rooms/v11.md: from v11, `redacts` is in the content too.
        assert.equal((redactionEvent["content"] as Record<string, unknown>)["redacts"], roomVersion === "11" ? target : undefined);
      });

      it(`sends m.room.redaction through /send in a v${roomVersion} room`, async () => {
        const room = await createRoom(hs, alice, { roomVersion });
        const target = await send(hs, alice, room, text("also secret"));
        const redactionId = await send(hs, alice, room, { redacts: target, reason: "via send" }, "m.room.redaction");
        const event = await getOk(hs, alice, roomPath(room, `/event/${enc(target)}`));
        assert.deepEqual(event["content"], {});
        const redaction = await getOk(hs, alice, roomPath(room, `/event/${enc(redactionId)}`));
        assert.equal(redaction["redacts"], target);
      });
    }

    it("refuses a redaction by a user without the power to redact others' events", async () => {
      const target = await send(hs, alice, roomId, text("mine"));
      assertError(await call(hs, "PUT", roomPath(roomId, `/redact/${enc(target)}/r2`), { token: bob.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "PUT", roomPath(roomId, `/redact/${enc(target)}/r3`), { token: alice.accessToken, body: { reason: 5 } }), 400, "M_BAD_JSON");
    });

    it("serves an event only to users who may see it, 404 otherwise", async () => {
      const eventId = await send(hs, alice, roomId, text("members only"));
      assertError(await get(hs, eve, roomPath(roomId, `/event/${enc(eventId)}`)), 404, "M_NOT_FOUND");
      assertError(await get(hs, alice, roomPath(roomId, `/event/${enc("$unknown")}`)), 404, "M_NOT_FOUND");
      const otherRoom = await createRoom(hs, alice);
      assertError(await get(hs, alice, roomPath(otherRoom, `/event/${enc(eventId)}`)), 404, "M_NOT_FOUND");
    });
  });

  describe(`sending events: rate limits and restarts [${engine}]`, () => {
    it("keeps transactions idempotent across a restart", async () => {
      const server = await startRestartable(engine);
      try {
        let hs = server.current();
        const alice = await registerUser(hs, "alice");
        const room = await createRoom(hs, alice);
        const path = roomPath(room, "/send/m.room.message/kept");
        const first = await call(hs, "PUT", path, { token: alice.accessToken, body: text("once") });
        assert.equal(first.status, 200);
        hs = await server.restart();
        const again = await call(hs, "PUT", path, { token: alice.accessToken, body: text("once") });
        assert.deepEqual(again, first);
        const event = await getOk(hs, alice, roomPath(room, `/event/${enc(first.body["event_id"] as string)}`));
        assert.equal((event["unsigned"] as Record<string, unknown>)["transaction_id"], "kept");
      } finally {
        await server.stop();
      }
    });

    it("limits sends with rc_message", async () => {
      const { EVENTS_YAML } = await import("./helpers.ts");
      const hs = await startEventsHomeserver(engine, EVENTS_YAML.replace("rc_message: {per_second: 10000, burst_count: 10000}", "rc_message: {per_second: 0.001, burst_count: 3}"));
      try {
        const alice = await registerUser(hs, "alice");
        const room = await createRoom(hs, alice);
        const replies = [];
        for (let i = 0; i < 4; i++) replies.push(await call(hs, "PUT", roomPath(room, `/send/m.room.message/rl${i}`), { token: alice.accessToken, body: text("x") }));
        assert.deepEqual(replies.slice(0, 3).map((r) => r.status), [200, 200, 200]);
        assertError(replies[3]!, 429, "M_LIMIT_EXCEEDED");
      } finally {
        await hs.stop();
      }
    });
  });
}
