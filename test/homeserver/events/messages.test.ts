import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { encodeSyncToken, ZERO_POSITIONS } from "../../../src/homeserver/sync/token.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import {
  assertError,
  call,
  createRoom,
  enc,
  get,
  getOk,
  ids,
  registerUser,
  roomPath,
  send,
  setMembership,
  startEventsHomeserver,
  text,
  type TestUser,
} from "./helpers.ts";

for (const engine of engines) {
  describe(`reading room history [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let eve: TestUser;
    let roomId: string;
    /** The room's whole timeline, oldest first. */
    let history: string[];
    let messages: string[];
    before(async () => {
      hs = await startEventsHomeserver(engine);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
      eve = await registerUser(hs, "eve");
      roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      messages = [];
      for (let i = 0; i < 24; i++) {
        if (i % 7 === 3) {
          await call(hs, "PUT", roomPath(roomId, "/state/m.room.topic"), { token: alice.accessToken, body: { topic: `topic ${i}` } });
        } else {
          messages.push(await send(hs, i % 2 === 0 ? alice : bob, roomId, text(`message ${i}`)));
        }
      }
      const timeline = await hs.server.services.events.timeline.eventsBetween(roomId, 0, undefined, 1000, "f");
      history = timeline.map((e) => e.event.eventId);
    });
    after(() => hs.stop());

    const messagesPath = (query: Record<string, string | number | undefined>) => {
      const params = Object.entries(query)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${enc(String(v))}`)
        .join("&");
      return roomPath(roomId, `/messages?${params}`);
    };

    async function paginateAll(user: TestUser, dir: "b" | "f", sizes: readonly number[], extra: Record<string, string> = {}): Promise<string[]> {
      const seen: string[] = [];
      let from: string | undefined;
      for (let i = 0; i < 500; i++) {
        const body = await getOk(hs, user, messagesPath({ dir, limit: sizes[i % sizes.length], from, ...extra }));
        if (from !== undefined) assert.equal(body["start"], from);
        seen.push(...ids(body["chunk"]));
        if (body["end"] === undefined) return seen;
        from = body["end"] as string;
      }
      assert.fail("pagination did not end");
    }

    it("pages backwards and forwards", async () => {
      const back = await getOk(hs, alice, messagesPath({ dir: "b", limit: 3 }));
      assert.deepEqual(ids(back["chunk"]), history.slice(-3).reverse());
      assert.equal(typeof back["start"], "string");
      const next = await getOk(hs, alice, messagesPath({ dir: "b", limit: 2, from: back["end"] as string }));
      assert.deepEqual(ids(next["chunk"]), history.slice(-5, -3).reverse());
      const forward = await getOk(hs, alice, messagesPath({ dir: "f", limit: 4 }));
      assert.deepEqual(ids(forward["chunk"]), history.slice(0, 4));
      // Back from where a forward page ended, the same events come again in reverse.
      const again = await getOk(hs, alice, messagesPath({ dir: "b", limit: 4, from: forward["end"] as string }));
      assert.deepEqual(ids(again["chunk"]), history.slice(0, 4).reverse());
      assert.equal(again["end"], undefined);
    });

    it("covers the history exactly once with any page sizes, both ways", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 12 }), fc.constantFrom("b" as const, "f" as const), async (sizes, dir) => {
          const seen = await paginateAll(alice, dir, sizes);
          assert.deepEqual(seen, dir === "f" ? history : [...history].reverse());
        }),
        { numRuns: 12 },
      );
    });

    it("covers the filtered history exactly once", async () => {
      const filter = JSON.stringify({ types: ["m.room.message"], not_senders: [bob.userId] });
      const expected = (await hs.server.services.events.timeline.eventsBetween(roomId, 0, undefined, 1000, "f"))
        .filter((e) => e.event.type === "m.room.message" && e.event.sender !== bob.userId)
        .map((e) => e.event.eventId);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }), fc.constantFrom("b" as const, "f" as const), async (sizes, dir) => {
          const seen = await paginateAll(alice, dir, sizes, { filter });
          assert.deepEqual(seen, dir === "f" ? expected : [...expected].reverse());
        }),
        { numRuns: 8 },
      );
    });

    it("stops at `to`, and takes a sync token as `from`", async () => {
      const first = await getOk(hs, alice, messagesPath({ dir: "f", limit: 5 }));
      const bounded = await getOk(hs, alice, messagesPath({ dir: "b", to: first["end"] as string, limit: 100 }));
      assert.deepEqual(ids(bounded["chunk"]), history.slice(5).reverse());
      assert.equal(bounded["end"], undefined);
      const infos = await hs.server.services.events.timeline.eventsBetween(roomId, 0, undefined, 1000, "f");
      const position = infos[9]?.streamOrdering as number;
      const syncToken = encodeSyncToken({ ...ZERO_POSITIONS, roomEvents: position });
      const fromSync = await getOk(hs, alice, messagesPath({ dir: "b", from: syncToken, limit: 3 }));
      assert.equal(fromSync["start"], syncToken);
      assert.deepEqual(ids(fromSync["chunk"]), history.slice(7, 10).reverse());
      const forwardFromSync = await getOk(hs, alice, messagesPath({ dir: "f", from: syncToken, limit: 2 }));
      assert.deepEqual(ids(forwardFromSync["chunk"]), history.slice(10, 12));
    });

    it("adds the senders' membership events with lazy_load_members", async () => {
      const filter = JSON.stringify({ lazy_load_members: true, types: ["m.room.message"] });
      const body = await getOk(hs, alice, messagesPath({ dir: "b", limit: 4, filter }));
      const senders = new Set((body["chunk"] as Array<{ sender: string }>).map((e) => e.sender));
      const state = body["state"] as Array<{ type: string; state_key: string; content: { membership: string } }>;
      assert.deepEqual(new Set(state.map((s) => s.state_key)), senders);
      for (const s of state) {
        assert.equal(s.type, "m.room.member");
        assert.equal(s.content.membership, "join");
      }
      const plain = await getOk(hs, alice, messagesPath({ dir: "b", limit: 4 }));
      assert.equal(plain["state"], undefined);
    });

    it("answers bad parameters with 400 and strangers with 403", async () => {
      assertError(await get(hs, alice, messagesPath({ dir: "b", filter: "{not json" })), 400, "M_BAD_JSON");
      assertError(await get(hs, alice, messagesPath({ dir: "b", filter: JSON.stringify({ types: "m.room.message" }) })), 400, "M_BAD_JSON");
      assertError(await get(hs, alice, messagesPath({ dir: "x" })), 400, "M_INVALID_PARAM");
      assertError(await get(hs, alice, messagesPath({ dir: "b", limit: -1 })), 400, "M_INVALID_PARAM");
      assertError(await get(hs, alice, messagesPath({ dir: "b", from: "garbage" })), 400, "M_INVALID_PARAM");
      assertError(await get(hs, eve, messagesPath({ dir: "b" })), 403, "M_FORBIDDEN");
      assertError(await get(hs, alice, roomPath("!unknown:test.local", "/messages?dir=b")), 403, "M_FORBIDDEN");
      const none = await getOk(hs, alice, messagesPath({ dir: "b", filter: JSON.stringify({ not_rooms: [roomId] }) }));
      assert.deepEqual(none["chunk"], []);
    });

    it("hides history the visibility rules hide, and ends a former member's view at their leave", async () => {
      const room = await createRoom(hs, alice, { historyVisibility: "joined" });
      const before = await send(hs, alice, room, text("before eve"));
      const joinId = await setMembership(hs, room, eve, "join");
      const during = await send(hs, alice, room, text("while eve is here"));
      const leaveId = await setMembership(hs, room, eve, "leave");
      const afterLeave = await send(hs, alice, room, text("after eve left"));
      const seen: string[] = [];
      let from: string | undefined;
      for (let i = 0; i < 50; i++) {
        const body = await getOk(hs, eve, roomPath(room, `/messages?dir=b&limit=2${from === undefined ? "" : `&from=${enc(from)}`}`));
        seen.push(...ids(body["chunk"]));
        if (body["end"] === undefined) break;
        from = body["end"] as string;
      }
      // The room's first events came before `joined` was set: under the default `shared`, which
      // shows them to anyone who joins later.
      const setup = (await hs.server.services.events.timeline.eventsBetween(room, 0, undefined, 5, "f")).map((e) => e.event.eventId);
      assert.deepEqual(seen, [leaveId, during, joinId, ...setup.reverse()]);
      assert.ok(!seen.includes(before) && !seen.includes(afterLeave));
      assertError(await get(hs, eve, roomPath(room, `/event/${enc(before)}`)), 404, "M_NOT_FOUND");
      assertError(await get(hs, eve, roomPath(room, `/event/${enc(afterLeave)}`)), 404, "M_NOT_FOUND");
      assert.equal((await getOk(hs, eve, roomPath(room, `/event/${enc(during)}`)))["event_id"], during);
    });

    it("leaves out the events of ignored users, but not their state events", async () => {
      const room = await createRoom(hs, alice);
      const bobJoin = await setMembership(hs, room, bob, "join");
      const fromBob = await send(hs, bob, room, text("ignore me"));
      const fromAlice = await send(hs, alice, room, text("still here"));
      // Read once before: the list is kept in memory, and must be read again when it changes.
      assert.ok(ids((await getOk(hs, alice, roomPath(room, "/messages?dir=b&limit=3")))["chunk"]).includes(fromBob));
      const ignore = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.ignored_user_list`, {
        token: alice.accessToken,
        body: { ignored_users: { [bob.userId]: {} } },
      });
      assert.equal(ignore.status, 200);
      const seen = ids((await getOk(hs, alice, roomPath(room, "/messages?dir=b&limit=3")))["chunk"]);
      assert.deepEqual(seen.slice(0, 2), [fromAlice, bobJoin]);
      assert.ok(!seen.includes(fromBob));
      // Bob's own view is untouched.
      assert.ok(ids((await getOk(hs, bob, roomPath(room, "/messages?dir=b&limit=3")))["chunk"]).includes(fromBob));
      // No longer ignored: served again.
      const unignore = await call(hs, "PUT", `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.ignored_user_list`, {
        token: alice.accessToken,
        body: { ignored_users: {} },
      });
      assert.equal(unignore.status, 200);
      assert.ok(ids((await getOk(hs, alice, roomPath(room, "/messages?dir=b&limit=3")))["chunk"]).includes(fromBob));
    });

    it("serves the context of an event, with tokens /messages continues from", async () => {
      const middle = history[12] as string;
      const body = await getOk(hs, bob, roomPath(roomId, `/context/${enc(middle)}?limit=4`));
      assert.equal((body["event"] as { event_id: string }).event_id, middle);
      assert.deepEqual(ids(body["events_before"]), history.slice(10, 12).reverse());
      assert.deepEqual(ids(body["events_after"]), history.slice(13, 15));
      const state = body["state"] as Array<{ type: string }>;
      assert.ok(state.some((s) => s.type === "m.room.create"));
      const earlier = await getOk(hs, bob, messagesPath({ dir: "b", from: body["start"] as string, limit: 2 }));
      assert.deepEqual(ids(earlier["chunk"]), history.slice(8, 10).reverse());
      const later = await getOk(hs, bob, messagesPath({ dir: "f", from: body["end"] as string, limit: 2 }));
      assert.deepEqual(ids(later["chunk"]), history.slice(15, 17));
      // The filter applies to the context events and state, not to the event itself.
      const filter = JSON.stringify({ types: ["m.room.topic"], lazy_load_members: true });
      const filtered = await getOk(hs, bob, roomPath(roomId, `/context/${enc(middle)}?limit=2&filter=${enc(filter)}`));
      assert.equal((filtered["event"] as { event_id: string }).event_id, middle);
      for (const e of [...(filtered["events_before"] as Array<{ type: string }>), ...(filtered["events_after"] as Array<{ type: string }>)]) {
        assert.equal(e.type, "m.room.topic");
      }
      assertError(await get(hs, eve, roomPath(roomId, `/context/${enc(middle)}`)), 403, "M_FORBIDDEN");
      assertError(await get(hs, bob, roomPath(roomId, `/context/${enc("$missing")}`)), 404, "M_NOT_FOUND");
    });

    it("lists members, filtered by membership, and joined members with profiles", async () => {
      const room = await createRoom(hs, alice);
      await setMembership(hs, room, bob, "join");
      await setMembership(hs, room, eve, "invite", alice);
      const all = await getOk(hs, alice, roomPath(room, "/members"));
      const memberships = (chunk: unknown) =>
        Object.fromEntries((chunk as Array<{ state_key: string; content: { membership: string } }>).map((m) => [m.state_key, m.content.membership]));
      assert.deepEqual(memberships(all["chunk"]), { [alice.userId]: "join", [bob.userId]: "join", [eve.userId]: "invite" });
      assert.deepEqual(memberships((await getOk(hs, alice, roomPath(room, "/members?membership=invite")))["chunk"]), { [eve.userId]: "invite" });
      assert.deepEqual(memberships((await getOk(hs, alice, roomPath(room, "/members?not_membership=join")))["chunk"]), { [eve.userId]: "invite" });
      // Both given: membership is `join` OR is not `invite`.
      assert.deepEqual(Object.keys(memberships((await getOk(hs, alice, roomPath(room, "/members?membership=join&not_membership=invite")))["chunk"])).sort(), [alice.userId, bob.userId].sort());
      assertError(await get(hs, alice, roomPath(room, "/members?membership=joined")), 400, "M_INVALID_PARAM");
      // `at` a point before bob joined.
      const timeline = await hs.server.services.events.timeline.eventsBetween(room, 0, undefined, 100, "f");
      const beforeBob = timeline.find((e) => e.event.type === "m.room.member" && e.event.stateKey === bob.userId)?.streamOrdering as number;
      const at = encodeSyncToken({ ...ZERO_POSITIONS, roomEvents: beforeBob - 1 });
      assert.deepEqual(memberships((await getOk(hs, alice, roomPath(room, `/members?at=${enc(at)}`)))["chunk"]), { [alice.userId]: "join" });
      const joined = await getOk(hs, bob, roomPath(room, "/joined_members"));
      assert.deepEqual(Object.keys(joined["joined"] as object).sort(), [alice.userId, bob.userId].sort());
      assert.equal((joined["joined"] as Record<string, { display_name?: string }>)[alice.userId]?.display_name, `${alice.userId.slice(1, 6)} name`);
      assertError(await get(hs, eve, roomPath(room, "/joined_members")), 403, "M_FORBIDDEN");
      const stranger = await registerUser(hs, `stranger${engine}`);
      assertError(await get(hs, stranger, roomPath(room, "/members")), 403, "M_FORBIDDEN");
    });

    it("finds the event closest to a timestamp in either direction", async () => {
      const infos = await hs.server.services.events.timeline.eventsBetween(roomId, 0, undefined, 1000, "f");
      const target = infos[10]!;
      const ts = target.event.originServerTs;
      const path = (dir: string, at: number) => roomPath(roomId, `/timestamp_to_event?ts=${at}&dir=${dir}`, "v1");
      const forward = await getOk(hs, alice, path("f", ts));
      assert.ok((forward["origin_server_ts"] as number) >= ts);
      const backward = await getOk(hs, alice, path("b", ts));
      assert.ok((backward["origin_server_ts"] as number) <= ts);
      assertError(await get(hs, alice, path("f", Date.now() + 3_600_000)), 404, "M_NOT_FOUND");
      assertError(await get(hs, alice, path("b", 1)), 404, "M_NOT_FOUND");
      assertError(await get(hs, alice, roomPath(roomId, "/timestamp_to_event?dir=f", "v1")), 400, "M_MISSING_PARAM");
      assertError(await get(hs, eve, path("f", ts)), 403, "M_FORBIDDEN");
    });
  });
}
