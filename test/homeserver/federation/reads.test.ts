import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsonObject } from "../../../src/core/json.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { engines } from "../../storage/engines.ts";
import { twoServers, waitFor, type FederatedServer } from "./federated-server.ts";

// Reading a room over federation (/event, /state, /state_ids, /event_auth, /backfill,
// /get_missing_events, /timestamp_to_event), the queries, EDUs and transaction retries.

const enc = encodeURIComponent;

function status(code: number, errcode?: string) {
  return (err: unknown): boolean => err instanceof FederationRequestError && err.status === code && (errcode === undefined || err.errcode === errcode);
}

for (const engine of engines) {
  describe(`reading rooms over federation [${engine}]`, () => {
    const servers = twoServers(engine);
    let a: FederatedServer;
    let b: FederatedServer;
    let alice: string;
    let roomId: string;
    const messages: string[] = [];

    before(async () => {
      ({ a, b } = servers);
      alice = a.user("alice");
      roomId = await a.createRoom(alice, { preset: "public", alias: `#reads:${a.serverName}` });
      for (let i = 0; i < 5; i++) messages.push(await a.send(roomId, alice, `m${i}`));
    });

    const get = (path: string, query?: Record<string, string | string[]>) => b.services.federation.client.get(a.serverName, path, query === undefined ? {} : { query });

    it("answers a server not in the room with 403 M_FORBIDDEN", async () => {
      await assert.rejects(get(`/_matrix/federation/v1/state_ids/${enc(roomId)}`, { event_id: messages[0] as string }), status(403, "M_FORBIDDEN"));
      await assert.rejects(get(`/_matrix/federation/v1/event/${enc(messages[0] as string)}`), status(403, "M_FORBIDDEN"));
      await assert.rejects(get(`/_matrix/federation/v1/backfill/${enc(roomId)}`, { v: [messages[4] as string], limit: "3" }), status(403, "M_FORBIDDEN"));
    });

    it("serves events, states and auth chains to a server in the room", async () => {
      await b.services.federationRooms.remote.join(await b.register("bob"), roomId, [a.serverName], {});
      const event = await get(`/_matrix/federation/v1/event/${enc(messages[2] as string)}`);
      assert.equal(event["origin"], a.serverName);
      assert.equal(((event["pdus"] as JsonObject[])[0]?.["content"] as JsonObject)["body"], "m2");
      await assert.rejects(get(`/_matrix/federation/v1/event/${enc("$nothing")}`), status(404, "M_NOT_FOUND"));

      const ids = await get(`/_matrix/federation/v1/state_ids/${enc(roomId)}`, { event_id: messages[2] as string });
      const state = await a.currentState(roomId);
      // The room's state before m2 is its state before bob joined.
      const expected = [...(state?.entries() ?? [])].filter(([key]) => !key.endsWith(b.user("bob"))).map(([, id]) => id).sort();
      assert.deepEqual((ids["pdu_ids"] as string[]).sort(), expected);
      assert.ok((ids["auth_chain_ids"] as string[]).length > 0);
      const full = await get(`/_matrix/federation/v1/state/${enc(roomId)}`, { event_id: messages[2] as string });
      assert.equal((full["pdus"] as unknown[]).length, expected.length);
      assert.equal((full["auth_chain"] as unknown[]).length, (ids["auth_chain_ids"] as string[]).length);
      await assert.rejects(get(`/_matrix/federation/v1/state_ids/${enc(roomId)}`, { event_id: "$unknown" }), status(404, "M_NOT_FOUND"));

      const auth = await get(`/_matrix/federation/v1/event_auth/${enc(roomId)}/${enc(messages[0] as string)}`);
      const types = (auth["auth_chain"] as JsonObject[]).map((e) => e["type"]).sort();
      assert.ok(types.includes("m.room.create") && types.includes("m.room.power_levels") && types.includes("m.room.member"));
    });

    it("walks back with /backfill and /get_missing_events, within their limits", async () => {
      const backfill = await get(`/_matrix/federation/v1/backfill/${enc(roomId)}`, { v: [messages[4] as string], limit: "3" });
      const bodies = (backfill["pdus"] as JsonObject[]).map((e) => (e["content"] as JsonObject)["body"]);
      assert.deepEqual(bodies, ["m4", "m3", "m2"]);
      const missing = await b.services.federation.client.post(a.serverName, `/_matrix/federation/v1/get_missing_events/${enc(roomId)}`, {
        earliest_events: [messages[0] as string],
        latest_events: [messages[4] as string],
        limit: 10,
      });
      assert.deepEqual((missing["events"] as JsonObject[]).map((e) => (e["content"] as JsonObject)["body"]), ["m1", "m2", "m3"]);
      const limited = await b.services.federation.client.post(a.serverName, `/_matrix/federation/v1/get_missing_events/${enc(roomId)}`, {
        earliest_events: [],
        latest_events: [messages[4] as string],
        limit: 2,
      });
      assert.deepEqual((limited["events"] as JsonObject[]).map((e) => (e["content"] as JsonObject)["body"]), ["m2", "m3"]);
    });

    it("finds the event closest to a timestamp", async () => {
      const third = await a.services.roomserver.getEvent(messages[3] as string);
      const ts = third?.event.originServerTs as number;
      const forward = await get(`/_matrix/federation/v1/timestamp_to_event/${enc(roomId)}`, { ts: String(ts), dir: "f" });
      assert.equal(forward["origin_server_ts"], ts);
      await assert.rejects(get(`/_matrix/federation/v1/timestamp_to_event/${enc(roomId)}`, { ts: String(ts + 10_000_000), dir: "f" }), status(404));
      const backward = await get(`/_matrix/federation/v1/timestamp_to_event/${enc(roomId)}`, { ts: String(ts + 10_000_000), dir: "b" });
      assert.ok(typeof backward["event_id"] === "string");
    });

    it("gives events from before a server could see them redacted (history visibility joined)", async () => {
      const secretRoom = await a.createRoom(alice, { preset: "public" });
      await a.state(secretRoom, alice, "m.room.history_visibility", "", { history_visibility: "joined" });
      const secret = await a.send(secretRoom, alice, "before you came");
      await b.services.federationRooms.remote.join(b.user("bob"), secretRoom, [a.serverName], {});
      const visibleLater = await a.send(secretRoom, alice, "after you came");
      const early = await get(`/_matrix/federation/v1/event/${enc(secret)}`);
      assert.deepEqual((early["pdus"] as JsonObject[])[0]?.["content"], {});
      const late = await get(`/_matrix/federation/v1/event/${enc(visibleLater)}`);
      assert.equal(((late["pdus"] as JsonObject[])[0]?.["content"] as JsonObject)["body"], "after you came");
    });

    it("answers profile and directory queries", async () => {
      await a.services.users.register({ localpart: "carol", password: undefined, inhibitLogin: true, displayname: "Carol" });
      const carol = a.user("carol");
      assert.deepEqual(await get("/_matrix/federation/v1/query/profile", { user_id: carol }), { displayname: "Carol" });
      assert.deepEqual(await get("/_matrix/federation/v1/query/profile", { user_id: carol, field: "displayname" }), { displayname: "Carol" });
      await assert.rejects(get("/_matrix/federation/v1/query/profile", { user_id: carol, field: "avatar_url" }), status(404, "M_NOT_FOUND"));
      await assert.rejects(get("/_matrix/federation/v1/query/profile", { user_id: b.user("bob") }), status(400));
      const directory = await get("/_matrix/federation/v1/query/directory", { room_alias: `#reads:${a.serverName}` });
      assert.equal(directory["room_id"], roomId);
      assert.deepEqual(directory["servers"], [a.serverName, b.serverName]);
      await assert.rejects(get("/_matrix/federation/v1/query/directory", { room_alias: `#none:${a.serverName}` }), status(404, "M_NOT_FOUND"));
    });

    it("hands EDUs to the handler registered for their type, and answers a retried transaction the same", async () => {
      const heard: Array<[string, JsonObject]> = [];
      const stop = a.services.federationRooms.onEdu("m.presence", (origin, content) => void heard.push([origin, content]));
      b.services.federationRooms.enqueueEdu(a.serverName, { edu_type: "m.presence", content: { push: [{ user_id: b.user("bob"), presence: "online", last_active_ago: 1 }] } });
      await waitFor("the presence EDU on A", () => heard.length === 1);
      stop();
      assert.equal(heard[0]?.[0], b.serverName);

      const client = a.services.federation.client;
      const presence = { push: [{ user_id: alice, presence: "online", last_active_ago: 5 }, { user_id: b.user("spoofed"), presence: "online", last_active_ago: 5 }] };
      const body = { origin: a.serverName, origin_server_ts: Date.now(), pdus: [], edus: [{ edu_type: "m.presence", content: presence }] };
      const heardOnB: unknown[] = [];
      const stopB = b.services.federationRooms.onEdu("m.presence", (_o, content) => void heardOnB.push(content));
      const first = await client.put(b.serverName, "/_matrix/federation/v1/send/retried-1", body);
      const second = await client.put(b.serverName, "/_matrix/federation/v1/send/retried-1", body);
      stopB();
      assert.deepEqual(first, { pdus: {} });
      assert.deepEqual(second, first);
      // Processed once, and only what the origin may speak for: its own users' presence.
      assert.deepEqual(heardOnB, [{ push: [{ user_id: alice, presence: "online", last_active_ago: 5 }] }]);
    });
  });
}
