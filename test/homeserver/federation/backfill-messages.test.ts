// GET /messages on a server that joined a room late pages back through the history from before
// its join, fetched from the server that has it (server-server-api#backfilling-and-retrieving-missing-events):
// oldest last, each event once, with an `end` token that continues until the room's creation.
// Backfilled history takes stream positions below the room's own, so sync never serves it as new.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject } from "../../../src/core/json.ts";
import type { Requester } from "../../../src/http/endpoint.ts";
import type { MessagesRequest } from "../../../src/homeserver/events/messages.ts";
import type { RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import { parsePaginationToken } from "../../../src/homeserver/sync/token.ts";
import { engines } from "../../storage/engines.ts";
import { twoServers, type FederatedServer } from "./federated-server.ts";

const requester = (userId: string): Requester => ({ userId, deviceId: undefined, isGuest: false, accessTokenId: undefined });

/** Every page of /messages dir=b from the newest, following `end` until it is left out. */
async function pageBack(server: FederatedServer, userId: string, roomId: string, limit: number): Promise<{ events: JsonObject[]; pages: number }> {
  const events: JsonObject[] = [];
  let from: string | undefined;
  for (let pages = 1; ; pages++) {
    const request: MessagesRequest = {
      from: from === undefined ? undefined : parsePaginationToken(from),
      fromToken: from,
      to: undefined,
      dir: "b",
      limit,
      filter: undefined,
    };
    const reply = await server.services.events.messages.messages(requester(userId), roomId, request);
    events.push(...(reply["chunk"] as JsonObject[]));
    const end = reply["end"];
    if (end === undefined) return { events, pages };
    assert.equal(typeof end, "string");
    assert.notEqual(end, from, "the end token moves on");
    from = end as string;
    assert.ok(pages < 100, "pagination ends");
  }
}

/** A public room with shared history on `server`, created without the client API (v12 creators hold no power level). */
async function publicRoom(server: FederatedServer, creator: string, version: string): Promise<string> {
  const rs = server.services.roomserver;
  const { roomId } = await rs.createRoom({ roomVersion: version, creator });
  const send = (type: string, content: JsonObject, stateKey = "") => rs.createLocalEvent({ roomId, type, stateKey, sender: creator, content });
  await send("m.room.member", { membership: "join" }, creator);
  await send("m.room.power_levels", { users: version === "12" ? {} : { [creator]: 100 }, users_default: 0, events_default: 0, state_default: 50, invite: 0 });
  await send("m.room.join_rules", { join_rule: "public" });
  await send("m.room.history_visibility", { history_visibility: "shared" });
  return roomId;
}

for (const engine of engines) {
  describe(`/messages into backfilled history [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    before(() => ({ a, b } = servers));

    for (const version of ["10", "12"]) {
      it(`a user joining late pages back through all of the room's history, in order (v${version})`, async () => {
        const alice = a.user("alice");
        const frank = await b.register(`frank${version}`);
        const roomId = await publicRoom(a, alice, version);
        const sent: string[] = [];
        for (let i = 0; i < 45; i++) sent.push(await a.send(roomId, alice, `old ${i}`));
        const outputs: RoomserverOutput[] = [];
        const stop = b.services.roomserver.subscribe((o) => outputs.push(o));
        await b.services.federationRooms.remote.join(frank, roomId, [a.serverName], {});
        // The state that came with the join is stored as outliers: not in the timeline.
        assert.deepEqual((await b.timeline(roomId)).map((e) => e.type), ["m.room.member"]);
        const joinedAt = (await b.services.roomserver.store.streamSince(0, 100_000)).filter((e) => e.roomId === roomId);

        const { events, pages } = await pageBack(b, frank, roomId, 7);
        stop();
        const ids = events.map((e) => String(e["event_id"]));
        assert.equal(new Set(ids).size, ids.length, "no event twice");
        // Newest first: the join, the 45 messages newest first, then the room's creation.
        assert.equal(ids.length, 1 + 45 + 5, `${events.map((e) => e["type"]).join(" ")}`);
        assert.equal(events[0]?.["type"], "m.room.member");
        assert.equal((events[0]?.["content"] as JsonObject)["membership"], "join");
        assert.deepEqual(ids.slice(1, 46), sent.slice().reverse());
        assert.deepEqual(
          events.slice(46).map((e) => e["type"]),
          ["m.room.history_visibility", "m.room.join_rules", "m.room.power_levels", "m.room.member", "m.room.create"],
        );
        assert.ok(pages >= 8, `${pages} pages of 7`);
        // The same history as on A, where all of it arrived live.
        const there = await pageBack(a, alice, roomId, 50);
        assert.deepEqual(ids, there.events.map((e) => String(e["event_id"])));

        // Sync never hears of the history: no output for it, nothing new in the stream after the join.
        const told = new Set(outputs.flatMap((o) => (o.kind === "new_room_event" ? [o.event.eventId] : [])));
        assert.ok(ids.slice(1).every((id) => !told.has(id)));
        const now = (await b.services.roomserver.store.streamSince(0, 100_000)).filter((e) => e.roomId === roomId);
        assert.deepEqual(now, joinedAt);
        // Each backfilled event is an event of the timeline now, with its context.
        const info = await b.services.roomserver.getEvent(sent[10] as string);
        assert.ok(info?.backfilled);
        assert.ok((info?.streamOrdering ?? 0) < 0);
        const context = await b.services.events.messages.context(requester(frank), roomId, sent[10] as string, { limit: 2, filter: undefined });
        assert.deepEqual((context["events_before"] as JsonObject[]).map((e) => e["event_id"]), [sent[9]]);
        assert.deepEqual((context["events_after"] as JsonObject[]).map((e) => e["event_id"]), [sent[11]]);

        // Paging again reads what is stored now, without asking A.
        const again = await pageBack(b, frank, roomId, 20);
        assert.deepEqual(again.events.map((e) => String(e["event_id"])), ids);
      });
    }

    it("bundles the relations among backfilled history (an edit, a thread)", async () => {
      const alice = a.user("alice");
      const hana = await b.register("hana");
      const roomId = await publicRoom(a, alice, "10");
      const send = async (content: JsonObject): Promise<string> =>
        (await a.services.roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: alice, content })).eventId;
      const original = await send({ msgtype: "m.text", body: "typo" });
      const edit = await send({ msgtype: "m.text", body: "* fixed", "m.new_content": { msgtype: "m.text", body: "fixed" }, "m.relates_to": { rel_type: "m.replace", event_id: original } });
      const root = await send({ msgtype: "m.text", body: "a thread" });
      const reply = await send({ msgtype: "m.text", body: "in it", "m.relates_to": { rel_type: "m.thread", event_id: root } });
      await b.services.federationRooms.remote.join(hana, roomId, [a.serverName], {});
      const { events } = await pageBack(b, hana, roomId, 3);
      const byId = new Map(events.map((e) => [String(e["event_id"]), e]));
      const relations = (id: string) => ((byId.get(id)?.["unsigned"] as JsonObject | undefined)?.["m.relations"] ?? {}) as JsonObject;
      assert.equal((relations(original)["m.replace"] as JsonObject | undefined)?.["event_id"], edit);
      const thread = relations(root)["m.thread"] as JsonObject | undefined;
      assert.equal(thread?.["count"], 1);
      assert.equal((thread?.["latest_event"] as JsonObject | undefined)?.["event_id"], reply);
      // /relations and /threads list them too, from their places below zero.
      const listed = await b.services.events.relations.relations(requester(hana), roomId, root, {
        relType: undefined,
        eventType: undefined,
        from: undefined,
        fromToken: undefined,
        to: undefined,
        dir: "b",
        limit: 10,
        recurse: undefined,
      });
      assert.deepEqual((listed["chunk"] as JsonObject[]).map((e) => e["event_id"]), [reply]);
      const threads = await b.services.events.relations.threads(requester(hana), roomId, { include: "all", limit: 10, from: undefined });
      assert.deepEqual((threads["chunk"] as JsonObject[]).map((e) => e["event_id"]), [root]);
    });

    it("history stored without its place (a placement cut short by a crash) is placed when paged again", async () => {
      const alice = a.user("alice");
      const ivan = await b.register("ivan");
      const roomId = await publicRoom(a, alice, "10");
      for (let i = 0; i < 30; i++) await a.send(roomId, alice, `kept ${i}`);
      await b.services.federationRooms.remote.join(ivan, roomId, [a.serverName], {});
      const first = (await pageBack(b, ivan, roomId, 10)).events.map((e) => String(e["event_id"]));
      assert.equal(first.length, 1 + 30 + 5);
      // The events stay stored with their state, their places go.
      const { db } = b.services;
      const room = await db.read("test", (trx) => trx.selectFrom("rooms").select("room_nid").where("room_id", "=", roomId).executeTakeFirstOrThrow());
      await db.write("test", (trx) => trx.deleteFrom("room_stream").where("room_nid", "=", room.room_nid).where("stream_ordering", "<", 0).execute());
      await b.stop();
      await b.start();
      assert.deepEqual((await b.timeline(roomId)).map((e) => e.type), ["m.room.member"]);
      const again = (await pageBack(b, ivan, roomId, 10)).events.map((e) => String(e["event_id"]));
      assert.deepEqual(again, first);
    });

    it("forwards from a backfilled position reads up to the live events", async () => {
      const alice = a.user("alice");
      const gina = await b.register("gina");
      const roomId = await a.createRoom(alice, { preset: "public" });
      for (let i = 0; i < 5; i++) await a.send(roomId, alice, `before ${i}`);
      await b.services.federationRooms.remote.join(gina, roomId, [a.serverName], {});
      const back = await pageBack(b, gina, roomId, 100);
      const oldest = back.events[back.events.length - 1];
      assert.equal(oldest?.["type"], "m.room.create");
      const forwards = await b.services.events.messages.messages(requester(gina), roomId, {
        from: undefined,
        fromToken: undefined,
        to: undefined,
        dir: "f",
        limit: 100,
        filter: undefined,
      });
      assert.deepEqual(
        (forwards["chunk"] as JsonObject[]).map((e) => e["event_id"]),
        back.events.map((e) => e["event_id"]).reverse(),
      );
    });
  });
}
