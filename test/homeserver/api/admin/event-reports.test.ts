// Synapse's admin API for reported events (/_synapse/admin/v1/event_reports) over real HTTP on both
// engines: pages by offset either way with their total and next_token, the filters, one report with
// its event, deleting a report; server admins only, and the errors of bad parameters.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import { assertError, call, enc, registerUser, roomPath, send, startEventsHomeserver, text, type TestUser } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const BASE = "/_synapse/admin/v1/event_reports";

type ReportJson = Record<string, unknown>;

for (const engine of engines) {
  describe(`admin event reports [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let namedRoom: string;
    let plainRoom: string;
    /** The reported events, in the order reported: [event ID, reporter, room]. */
    const reported: Array<[string, TestUser, string]> = [];

    before(async () => {
      hs = await startEventsHomeserver(engine, `${ADMIN_YAML}\nrc_message: {per_second: 10000, burst_count: 10000}`);
      admin = await registerAdmin(hs, "root");
      [alice, bob, carol] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob"), registerUser(hs, "carol")]);
      const create = async (body: Record<string, unknown>): Promise<string> => {
        const reply = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { preset: "public_chat", ...body } });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body["room_id"] as string;
      };
      namedRoom = await create({ name: "Reported room", room_alias_name: "reported" });
      plainRoom = await create({});
      for (const roomId of [namedRoom, plainRoom]) {
        for (const user of [bob, carol]) assert.equal((await call(hs, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: user.accessToken, body: {} })).status, 200);
      }
      // Five reports: bob and carol of alice's messages in both rooms, and carol of bob's.
      for (const [reporter, sender, roomId] of [
        [bob, alice, namedRoom],
        [carol, alice, namedRoom],
        [bob, alice, plainRoom],
        [carol, bob, plainRoom],
        [carol, alice, plainRoom],
      ] as const) {
        const eventId = await send(hs, sender, roomId, text(`reported ${reported.length}`));
        const reply = await call(hs, "POST", roomPath(roomId, `/report/${enc(eventId)}`), { token: reporter.accessToken, body: { reason: `reason ${reported.length}` } });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        reported.push([eventId, reporter, roomId]);
      }
      // A room report and a user report are not event reports: these endpoints do not list them.
      assert.equal((await call(hs, "POST", roomPath(plainRoom, "/report"), { token: bob.accessToken, body: { reason: "room" } })).status, 200);
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/users/${enc(alice.userId)}/report`, { token: bob.accessToken, body: { reason: "user" } })).status, 200);
    });
    after(() => hs.stop());

    const list = async (query = ""): Promise<{ reports: ReportJson[]; total: number; next: number | undefined }> => {
      const reply = await call(hs, "GET", `${BASE}${query}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return { reports: reply.body["event_reports"] as ReportJson[], total: reply.body["total"] as number, next: reply.body["next_token"] as number | undefined };
    };
    const eventIds = (reports: ReportJson[]): string[] => reports.map((r) => r["event_id"] as string);

    it("lists every event report, newest first, with the room's name and alias", async () => {
      const { reports, total, next } = await list();
      assert.equal(total, 5);
      assert.equal(next, undefined);
      assert.deepEqual(eventIds(reports), reported.map(([id]) => id).reverse());
      const first = reports.at(-1) as ReportJson;
      assert.equal(first["room_id"], namedRoom);
      assert.equal(first["name"], "Reported room");
      assert.equal(first["canonical_alias"], "#reported:test.local");
      assert.equal(first["user_id"], bob.userId);
      assert.equal(first["sender"], alice.userId);
      assert.equal(first["reason"], "reason 0");
      assert.equal(first["score"], null);
      assert.equal(typeof first["id"], "number");
      assert.equal(typeof first["received_ts"], "number");
      const plain = reports[0] as ReportJson;
      assert.equal(plain["name"], null);
      assert.equal(plain["canonical_alias"], null);
    });

    it("pages by offset in either direction, next_token naming the next page", async () => {
      const oldestFirst = reported.map(([id]) => id);
      const page1 = await list("?dir=f&limit=2");
      assert.deepEqual(eventIds(page1.reports), oldestFirst.slice(0, 2));
      assert.equal(page1.next, 2);
      const page2 = await list(`?dir=f&limit=2&from=${page1.next}`);
      assert.deepEqual(eventIds(page2.reports), oldestFirst.slice(2, 4));
      const page3 = await list(`?dir=f&limit=2&from=${page2.next}`);
      assert.deepEqual(eventIds(page3.reports), oldestFirst.slice(4));
      assert.equal(page3.next, undefined);
      assert.equal(page3.total, 5);
      const newest = await list("?limit=1");
      assert.deepEqual(eventIds(newest.reports), [oldestFirst[4]]);
      assert.equal((await list("?from=10")).reports.length, 0);
    });

    it("filters by reporter and room (IDs containing the text) and by the event's sender", async () => {
      const byCarol = await list(`?user_id=${enc("carol")}`);
      assert.equal(byCarol.total, 3);
      assert.ok(byCarol.reports.every((r) => r["user_id"] === carol.userId));
      // Case-sensitive on both engines.
      assert.equal((await list(`?user_id=${enc("CAROL")}`)).total, 0);
      const inNamed = await list(`?room_id=${enc(namedRoom.slice(1, 8))}`);
      assert.deepEqual(eventIds(inNamed.reports), reported.filter(([, , roomId]) => roomId === namedRoom).map(([id]) => id).reverse());
      const ofBob = await list(`?sender_user_id=${enc(bob.userId)}`);
      assert.deepEqual(eventIds(ofBob.reports), [reported[3]?.[0]]);
      const both = await list(`?user_id=${enc(carol.userId)}&room_id=${enc(plainRoom)}`);
      assert.equal(both.total, 2);
    });

    it("shows one report with the event reported, and deletes it", async () => {
      const { reports } = await list("?dir=f&limit=1");
      const id = (reports[0] as ReportJson)["id"] as number;
      const one = await call(hs, "GET", `${BASE}/${id}`, { token: admin });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body["event_id"], reported[0]?.[0]);
      assert.equal(one.body["name"], "Reported room");
      const event = one.body["event_json"] as Record<string, unknown>;
      assert.equal(event["event_id"], reported[0]?.[0]);
      assert.equal(event["sender"], alice.userId);
      assert.deepEqual(event["content"], text("reported 0"));

      const deleted = await call(hs, "DELETE", `${BASE}/${id}`, { token: admin });
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, {});
      assertError(await call(hs, "GET", `${BASE}/${id}`, { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "DELETE", `${BASE}/${id}`, { token: admin }), 404, "M_NOT_FOUND");
      assert.equal((await list()).total, 4);
    });

    it("answers only server admins, before reading anything", async () => {
      assertError(await call(hs, "GET", BASE, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `${BASE}/1`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "DELETE", `${BASE}/999999`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", BASE), 401, "M_MISSING_TOKEN");
    });

    it("refuses bad parameters with M_INVALID_PARAM, and knows no report of another kind", async () => {
      for (const query of ["?limit=0", "?limit=-1", "?limit=x", "?from=-1", "?from=x", "?dir=up"]) {
        assertError(await call(hs, "GET", `${BASE}${query}`, { token: admin }), 400, "M_INVALID_PARAM");
      }
      for (const id of ["abc", "0", "-1", "1.5"]) assertError(await call(hs, "GET", `${BASE}/${id}`, { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", `${BASE}/999999`, { token: admin }), 404, "M_NOT_FOUND");
      // The room and user reports have IDs too, but are not event reports.
      const { reports } = await list("?dir=f");
      const highest = Math.max(...reports.map((r) => r["id"] as number));
      assertError(await call(hs, "GET", `${BASE}/${highest + 1}`, { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "DELETE", `${BASE}/${highest + 2}`, { token: admin }), 404, "M_NOT_FOUND");
    });
  });
}
