// POST /search (search.yaml, modules/search.md) over real HTTP on both engines: what is found
// (message bodies, room names, topics with their m.topic), the result format, rank, count and
// highlights, both orders and next_batch, the RoomEventFilter, groups, event context (matrix-js-sdk's
// own request among them) and include_state.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import { call, createRoom, enc, registerUser, roomPath, send, setMembership, startEventsHomeserver, text, type TestUser } from "../events/helpers.ts";
import { allIds, ids, results, roomEvents, type Json } from "./helpers.ts";

for (const engine of engines) {
  describe(`POST /search [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;

    const setState = async (user: TestUser, roomId: string, type: string, content: Json): Promise<string> => {
      const reply = await call(hs, "PUT", roomPath(roomId, `/state/${enc(type)}/`), { token: user.accessToken, body: content });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body["event_id"] as string;
    };

    before(async () => {
      hs = await startEventsHomeserver(engine);
      [alice, bob] = await Promise.all([registerUser(hs, "s_alice"), registerUser(hs, "s_bob")]);
    });
    after(() => hs.stop());

    it("finds message bodies, room names and topics (m.topic's plain text too), as client events with rank, count and highlights", async () => {
      const roomId = await createRoom(hs, alice);
      const message = await send(hs, alice, roomId, text("The quick brown fox jumps"));
      const name = await setState(alice, roomId, "m.room.name", { name: "Fox den" });
      const topic = await setState(alice, roomId, "m.room.topic", {
        topic: "All about foxes",
        "m.topic": { "m.text": [{ mimetype: "text/html", body: "<b>hidden</b>" }, { body: "a plain vixen" }] },
      });
      await send(hs, alice, roomId, text("nothing to see"));

      const answer = await roomEvents(hs, alice, { search_term: "fox", order_by: "recent" });
      assert.deepEqual(ids(answer), [topic, name, message]);
      assert.equal(answer["count"], 3);
      assert.deepEqual(new Set(answer["highlights"] as string[]), new Set(["foxes", "Fox", "fox"]));
      const [first] = results(answer);
      assert.ok(typeof first?.["rank"] === "number" && first["rank"] > 0);
      const event = first?.["result"] as Json;
      assert.equal(event["room_id"], roomId);
      assert.equal(event["type"], "m.room.topic");
      assert.equal(event["state_key"], "");
      assert.equal(event["sender"], alice.userId);
      assert.equal(typeof event["origin_server_ts"], "number");
      assert.equal((event["content"] as Json)["topic"], "All about foxes");
      assert.equal(first?.["context"], undefined, "no context unless asked for");

      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: "fox", keys: ["content.name"] })), [name]);
      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: "fox", keys: ["content.body", "content.topic"], order_by: "recent" })), [topic, message]);
      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: "vixen" })), [topic]);
      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: "hidden" })), [], "only the text/plain representation");
      // Stemming: "jumping" finds "jumps", and the highlight is the word as written.
      const stemmed = await roomEvents(hs, alice, { search_term: "jumping" });
      assert.deepEqual(ids(stemmed), [message]);
      assert.deepEqual(stemmed["highlights"], ["jumps"]);
      // Phrases, `or` and `-`.
      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: '"brown fox"' })), [message]);
      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: '"fox brown"' })), []);
      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: "vixen or jumps", order_by: "recent" })), [topic, message]);
      assert.deepEqual(ids(await roomEvents(hs, alice, { search_term: "fox -quick", order_by: "recent" })), [topic, name]);
      // A term with no word finds nothing.
      for (const term of ["", "   ", "!!!", "-fox"]) {
        const none = await roomEvents(hs, alice, { search_term: term });
        assert.deepEqual(none, { count: 0, highlights: [], results: [] }, term);
      }
    });

    it("orders by rank (the default) or recency, and pages through every match once with next_batch", async () => {
      const roomId = await createRoom(hs, alice);
      const sent: string[] = [];
      for (let i = 0; i < 7; i++) sent.push(await send(hs, alice, roomId, text(`${"pager ".repeat(1 + (i % 3))}number ${i}`)));
      const recent = await allIds(hs, alice, { search_term: "pager", order_by: "recent", filter: { limit: 3 } });
      assert.deepEqual(recent, [...sent].reverse());
      const ranked = await allIds(hs, alice, { search_term: "pager", filter: { limit: 2 } });
      assert.deepEqual([...ranked].sort(), [...sent].sort());
      // Best first: the three messages saying it three times come before the others.
      const threeTimes = sent.filter((_, i) => i % 3 === 2);
      assert.deepEqual(new Set(ranked.slice(0, threeTimes.length)), new Set(threeTimes));
      const page = await roomEvents(hs, alice, { search_term: "pager", filter: { limit: 100 } });
      const ranks = results(page).map((r) => r["rank"] as number);
      assert.deepEqual(ranks, [...ranks].sort((a, b) => b - a));
      assert.equal(page["next_batch"], undefined, "no next_batch once everything is given");
      assert.equal(page["count"], 7);
    });

    it("applies the RoomEventFilter: rooms, not_rooms, senders, not_senders, types, not_types, contains_url, limit", async () => {
      const first = await createRoom(hs, alice);
      const second = await createRoom(hs, alice);
      await setMembership(hs, first, bob, "join");
      const byAlice = await send(hs, alice, first, text("filtered words"));
      const byBob = await send(hs, bob, first, text("filtered words"));
      const image = await send(hs, alice, first, { msgtype: "m.image", body: "filtered picture", url: "mxc://test.local/abc" });
      const elsewhere = await send(hs, alice, second, text("filtered words"));
      const named = await setState(alice, second, "m.room.name", { name: "filtered room" });
      const found = async (filter: Json) => ids(await roomEvents(hs, alice, { search_term: "filtered", order_by: "recent", filter }));
      assert.deepEqual(await found({}), [named, elsewhere, image, byBob, byAlice]);
      assert.deepEqual(await found({ rooms: [second] }), [named, elsewhere]);
      assert.deepEqual(await found({ rooms: [first, second], not_rooms: [second] }), [image, byBob, byAlice]);
      assert.deepEqual(await found({ senders: [bob.userId] }), [byBob]);
      assert.deepEqual(await found({ not_senders: [alice.userId] }), [byBob]);
      assert.deepEqual(await found({ types: ["m.room.name"] }), [named]);
      assert.deepEqual(await found({ types: ["m.room.*"], not_types: ["m.room.message"] }), [named]);
      assert.deepEqual(await found({ not_types: ["*"] }), []);
      assert.deepEqual(await found({ contains_url: true }), [image]);
      assert.deepEqual(await found({ contains_url: false, rooms: [first] }), [byBob, byAlice]);
      assert.deepEqual(await found({ rooms: [] }), []);
      const limited = await roomEvents(hs, alice, { search_term: "filtered", order_by: "recent", filter: { limit: 1 } });
      assert.deepEqual(ids(limited), [named]);
      assert.equal(typeof limited["next_batch"], "string");
      assert.equal(limited["count"], 5);
    });

    it("answers matrix-js-sdk's searchRoomEvents request: recent first, one event either side, the senders' profiles", async () => {
      const roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      await call(hs, "PUT", roomPath(roomId, `/state/m.room.member/${enc(bob.userId)}`), { token: bob.accessToken, body: { membership: "join", displayname: "Bobby" } });
      const before1 = await send(hs, alice, roomId, text("just before"));
      const needle = await send(hs, bob, roomId, text("the needle in the haystack"));
      const after1 = await send(hs, alice, roomId, text("just after"));
      await send(hs, alice, roomId, text("later still"));
      // Exactly the body matrix-js-sdk sends (client.ts searchRoomEvents), its filter left out.
      const reply = await call(hs, "POST", "/_matrix/client/v3/search", {
        token: alice.accessToken,
        body: {
          search_categories: {
            room_events: { search_term: "needle", order_by: "recent", event_context: { before_limit: 1, after_limit: 1, include_profile: true } },
          },
        },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const answer = (reply.body["search_categories"] as Json)["room_events"] as Json;
      assert.deepEqual(ids(answer), [needle]);
      const context = results(answer)[0]?.["context"] as Json;
      assert.deepEqual((context["events_before"] as Json[]).map((e) => e["event_id"]), [before1]);
      assert.deepEqual((context["events_after"] as Json[]).map((e) => e["event_id"]), [after1]);
      const profiles = context["profile_info"] as Json;
      assert.deepEqual(profiles[bob.userId], { displayname: "Bobby" });
      assert.deepEqual(profiles[alice.userId], { displayname: `${alice.userId.slice(1, 6)} name` });
      // The tokens page on from the context, as /context's do.
      assert.equal(typeof context["start"], "string");
      const older = await call(hs, "GET", roomPath(roomId, `/messages?dir=b&limit=1&from=${enc(context["start"] as string)}`), { token: alice.accessToken });
      assert.equal(older.status, 200);
      // Before the context: bob's change of name.
      assert.equal(((older.body["chunk"] as Json[])[0]?.["content"] as Json)["displayname"], "Bobby");
      const newer = await call(hs, "GET", roomPath(roomId, `/messages?dir=f&limit=1&from=${enc(context["end"] as string)}`), { token: alice.accessToken });
      assert.equal(((newer.body["chunk"] as Json[])[0]?.["content"] as Json)["body"], "later still");

      // Defaults: five either side, no profiles; limits of 0 give none.
      const defaults = results(await roomEvents(hs, alice, { search_term: "needle", event_context: {} }))[0]?.["context"] as Json;
      assert.equal((defaults["events_before"] as Json[]).length, 5);
      assert.equal((defaults["events_after"] as Json[]).length, 2);
      assert.equal(defaults["profile_info"], undefined);
      const none = results(await roomEvents(hs, alice, { search_term: "needle", event_context: { before_limit: 0, after_limit: 0 } }))[0]?.["context"] as Json;
      assert.deepEqual([none["events_before"], none["events_after"]], [[], []]);
    });

    it("groups results by room and by sender, and a group's next_batch pages within that group", async () => {
      const first = await createRoom(hs, alice);
      const second = await createRoom(hs, alice);
      await setMembership(hs, first, bob, "join");
      const a1 = await send(hs, alice, first, text("grouped one"));
      const b1 = await send(hs, bob, first, text("grouped two"));
      const s1 = await send(hs, alice, second, text("grouped three"));
      const a2 = await send(hs, alice, first, text("grouped four"));
      const s2 = await send(hs, alice, second, text("grouped five"));
      const criteria = { search_term: "grouped", order_by: "recent", filter: { limit: 3 }, groupings: { group_by: [{ key: "room_id" }, { key: "sender" }] } };
      const answer = await roomEvents(hs, alice, criteria);
      assert.deepEqual(ids(answer), [s2, a2, s1]);
      const groups = answer["groups"] as Record<string, Record<string, Json>>;
      assert.deepEqual(groups["room_id"]?.[second]?.["results"], [s2, s1]);
      assert.deepEqual(groups["room_id"]?.[first]?.["results"], [a2]);
      assert.deepEqual([groups["room_id"]?.[second]?.["order"], groups["room_id"]?.[first]?.["order"]], [1, 2]);
      assert.deepEqual(groups["sender"]?.[alice.userId]?.["results"], [s2, a2, s1]);
      const firstRoomToken = groups["room_id"]?.[first]?.["next_batch"];
      assert.equal(typeof firstRoomToken, "string");
      // More of the first room only: its two older matches.
      const more = await roomEvents(hs, alice, criteria, firstRoomToken as string);
      assert.deepEqual(ids(more), [b1, a1]);
      assert.deepEqual(Object.keys((more["groups"] as Record<string, Json>)["room_id"] ?? {}), [first]);
      // A sender's group: bob's only.
      const onePage = (await roomEvents(hs, alice, { ...criteria, filter: { limit: 1 } }))["groups"] as Record<string, Record<string, Json>>;
      const aliceToken = onePage["sender"]?.[alice.userId]?.["next_batch"] as string;
      assert.deepEqual(await allIdsFrom(criteria, aliceToken), [a2, s1, a1]);
    });

    async function allIdsFrom(criteria: Json, token: string): Promise<string[]> {
      const found: string[] = [];
      let next: string | undefined = token;
      while (next !== undefined) {
        const answer = await roomEvents(hs, alice, criteria, next);
        found.push(...ids(answer));
        next = answer["next_batch"] as string | undefined;
      }
      return found;
    }

    it("includes the state of the rooms of the results, as the user may read it", async () => {
      const roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      await setState(alice, roomId, "m.room.name", { name: "Stateful" });
      await send(hs, alice, roomId, text("stateful words"));
      await setMembership(hs, roomId, bob, "leave");
      await setState(alice, roomId, "m.room.name", { name: "Renamed after bob left" });
      const nameIn = (answer: Json): unknown => {
        const state = (answer["state"] as Record<string, Json[]>)[roomId] ?? [];
        return (state.find((e) => e["type"] === "m.room.name")?.["content"] as Json | undefined)?.["name"];
      };
      const forAlice = await roomEvents(hs, alice, { search_term: "stateful", include_state: true, keys: ["content.body"] });
      assert.equal(nameIn(forAlice), "Renamed after bob left");
      assert.deepEqual(Object.keys(forAlice["state"] as Json), [roomId]);
      const forBob = await roomEvents(hs, bob, { search_term: "stateful", include_state: true, keys: ["content.body"] });
      assert.equal(ids(forBob).length, 1);
      assert.equal(nameIn(forBob), "Stateful", "a former member sees the state when they left");
      assert.equal((await roomEvents(hs, alice, { search_term: "stateful" }))["state"], undefined);
    });

    it("answers a request without room_events with no categories", async () => {
      const reply = await call(hs, "POST", "/_matrix/client/v3/search", { token: alice.accessToken, body: { search_categories: {} } });
      assert.deepEqual([reply.status, reply.body], [200, { search_categories: {} }]);
    });
  });
}
