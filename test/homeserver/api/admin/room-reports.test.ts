// Synapse's admin API for reported rooms (/_synapse/admin/v1/room_reports) over real HTTP on both
// engines: pages of reports, the newest first, each saying where the next starts (next_batch), with
// their total; the filters; one report; deleting a report; server admins only, and the errors of
// bad parameters.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import { assertError, call, enc, registerUser, roomPath, send, startEventsHomeserver, text, type TestUser } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const BASE = "/_synapse/admin/v1/room_reports";

type ReportJson = Record<string, unknown>;

for (const engine of engines) {
  describe(`admin room reports [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let namedRoom: string;
    let plainRoom: string;
    /** The reports made, in order: [report ID, reporter, room]. */
    const made: Array<[number, TestUser, string]> = [];

    before(async () => {
      hs = await startEventsHomeserver(engine, ADMIN_YAML);
      admin = await registerAdmin(hs, "root");
      [alice, bob, carol] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob"), registerUser(hs, "carol")]);
      const create = async (body: Record<string, unknown>): Promise<string> => {
        const reply = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { preset: "public_chat", ...body } });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body["room_id"] as string;
      };
      namedRoom = await create({ name: "Reported room", topic: "Things to report", room_alias_name: "reported" });
      plainRoom = await create({});
      // An event report and a user report first: these endpoints list neither.
      const eventId = await send(hs, alice, plainRoom, text("reported"));
      assert.equal((await call(hs, "POST", roomPath(plainRoom, `/report/${enc(eventId)}`), { token: alice.accessToken, body: { reason: "event" } })).status, 200);
      assert.equal((await call(hs, "POST", `/_matrix/client/v3/users/${enc(bob.userId)}/report`, { token: alice.accessToken, body: { reason: "user" } })).status, 200);
      // Five reports of rooms: bob and carol of both rooms, and carol of the named room again.
      for (const [reporter, roomId] of [
        [bob, namedRoom],
        [carol, namedRoom],
        [bob, plainRoom],
        [carol, plainRoom],
        [carol, namedRoom],
      ] as const) {
        const reply = await call(hs, "POST", roomPath(roomId, "/report"), { token: reporter.accessToken, body: { reason: `reason ${made.length}` } });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        made.push([0, reporter, roomId]);
      }
      // Their IDs, from the list itself (the newest first).
      const listed = (await call(hs, "GET", BASE, { token: admin })).body["room_reports"] as ReportJson[];
      assert.equal(listed.length, made.length);
      listed.reverse().forEach((r, i) => ((made[i] as [number, TestUser, string])[0] = r["id"] as number));
    });
    after(() => hs.stop());

    const list = async (query = ""): Promise<{ reports: ReportJson[]; total: number; next: number | undefined }> => {
      const reply = await call(hs, "GET", `${BASE}${query}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return { reports: reply.body["room_reports"] as ReportJson[], total: reply.body["total"] as number, next: reply.body["next_batch"] as number | undefined };
    };
    const ids = (reports: ReportJson[]): number[] => reports.map((r) => r["id"] as number);
    const newestFirst = (): number[] => made.map(([id]) => id).reverse();

    it("lists every room report, newest first, with the room's name, alias and topic", async () => {
      const { reports, total, next } = await list();
      assert.equal(total, 5);
      assert.equal(next, undefined);
      assert.deepEqual(ids(reports), newestFirst());
      assert.ok(ids(reports).every((id, i, all) => i === 0 || id < (all[i - 1] as number)));
      const first = reports.at(-1) as ReportJson;
      assert.deepEqual(Object.keys(first).sort(), ["canonical_alias", "id", "name", "reason", "received_ts", "room_id", "topic", "user_id"]);
      assert.equal(first["room_id"], namedRoom);
      assert.equal(first["user_id"], bob.userId);
      assert.equal(first["reason"], "reason 0");
      assert.equal(first["name"], "Reported room");
      assert.equal(first["topic"], "Things to report");
      assert.equal(first["canonical_alias"], "#reported:test.local");
      assert.equal(typeof first["received_ts"], "number");
      const plain = reports.find((r) => r["room_id"] === plainRoom) as ReportJson;
      assert.equal(plain["name"], null);
      assert.equal(plain["topic"], null);
      assert.equal(plain["canonical_alias"], null);
    });

    it("pages from a report on, next_batch naming the next page's first report", async () => {
      const all = newestFirst();
      const page1 = await list("?limit=2");
      assert.deepEqual(ids(page1.reports), all.slice(0, 2));
      assert.equal(page1.next, all[2]);
      assert.equal(page1.total, 5);
      const page2 = await list(`?limit=2&from=${page1.next}`);
      assert.deepEqual(ids(page2.reports), all.slice(2, 4));
      const page3 = await list(`?limit=2&from=${page2.next}`);
      assert.deepEqual(ids(page3.reports), all.slice(4));
      assert.equal(page3.next, undefined);
      // The total counts every match, wherever the page starts.
      assert.equal(page3.total, 5);
      assert.deepEqual(ids((await list("?from=0")).reports), []);
    });

    it("filters by reporter and by room", async () => {
      const byCarol = await list(`?user_id=${enc(carol.userId)}`);
      assert.equal(byCarol.total, 3);
      assert.deepEqual(ids(byCarol.reports), made.filter(([, reporter]) => reporter === carol).map(([id]) => id).reverse());
      // Whole IDs, not parts of them.
      assert.equal((await list(`?user_id=${enc("carol")}`)).total, 0);
      const ofNamed = await list(`?room_id=${enc(namedRoom)}`);
      assert.deepEqual(ids(ofNamed.reports), made.filter(([, , roomId]) => roomId === namedRoom).map(([id]) => id).reverse());
      const both = await list(`?user_id=${enc(carol.userId)}&room_id=${enc(namedRoom)}&limit=1`);
      assert.equal(both.total, 2);
      assert.equal(both.reports.length, 1);
      assert.equal(both.next, made[1]?.[0]);
    });

    it("shows one report, and deletes it", async () => {
      const [id] = made[2] as [number, TestUser, string];
      const one = await call(hs, "GET", `${BASE}/${id}`, { token: admin });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body["id"], id);
      assert.equal(one.body["room_id"], plainRoom);
      assert.equal(one.body["user_id"], bob.userId);
      assert.equal(one.body["reason"], "reason 2");

      const deleted = await call(hs, "DELETE", `${BASE}/${id}`, { token: admin });
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, {});
      assertError(await call(hs, "GET", `${BASE}/${id}`, { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "DELETE", `${BASE}/${id}`, { token: admin }), 404, "M_NOT_FOUND");
      const after = await list();
      assert.equal(after.total, 4);
      assert.ok(!ids(after.reports).includes(id));
    });

    it("answers only server admins, before reading anything", async () => {
      assertError(await call(hs, "GET", BASE, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `${BASE}/${made[0]?.[0]}`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "DELETE", `${BASE}/${made[0]?.[0]}`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", BASE), 401, "M_MISSING_TOKEN");
      assert.equal((await list()).reports.length >= 4, true);
    });

    it("refuses bad parameters with M_INVALID_PARAM, and knows no report of another kind", async () => {
      for (const query of ["?limit=0", "?limit=-1", "?limit=x", "?from=-1", "?from=x"]) {
        assertError(await call(hs, "GET", `${BASE}${query}`, { token: admin }), 400, "M_INVALID_PARAM");
      }
      for (const id of ["abc", "0", "-1", "1.5"]) assertError(await call(hs, "GET", `${BASE}/${id}`, { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", `${BASE}/999999`, { token: admin }), 404, "M_NOT_FOUND");
      // The event and user reports came first: IDs below the first room report's, not room reports.
      const lowest = Math.min(...made.map(([id]) => id));
      for (const id of [lowest - 1, lowest - 2]) {
        assertError(await call(hs, "GET", `${BASE}/${id}`, { token: admin }), 404, "M_NOT_FOUND");
        assertError(await call(hs, "DELETE", `${BASE}/${id}`, { token: admin }), 404, "M_NOT_FOUND");
      }
      // And the event report still stands.
      assert.equal((await call(hs, "GET", `/_synapse/admin/v1/event_reports/${lowest - 2}`, { token: admin })).status, 200);
    });
  });
}
