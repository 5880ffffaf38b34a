import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerUser, type TestUser } from "./helpers.ts";

/** The example filter of filter.yaml. */
const EXAMPLE = {
  room: {
    state: { types: ["m.room.*"], not_rooms: ["!726s6s6q:example.com"] },
    timeline: { limit: 10, types: ["m.room.message"], not_rooms: ["!726s6s6q:example.com"], not_senders: ["@spam:example.com"] },
    ephemeral: { types: ["m.receipt", "m.typing"], not_rooms: ["!726s6s6q:example.com"], not_senders: ["@spam:example.com"] },
  },
  presence: { types: ["m.presence"], not_senders: ["@alice:example.com"] },
  event_format: "client",
  event_fields: ["type", "content", "sender"],
};

for (const engine of engines) {
  describe(`filters [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    const filterPath = (user: TestUser) => `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/filter`;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("stores a filter and gives it back by ID", async () => {
      const created = await call(hs, "POST", filterPath(alice), { token: alice.accessToken, body: EXAMPLE });
      assert.equal(created.status, 200);
      const id = created.body["filter_id"] as string;
      assert.match(id, /^[0-9]+$/, "never starts with {");
      assert.deepEqual((await call(hs, "GET", `${filterPath(alice)}/${id}`, { token: alice.accessToken })).body, EXAMPLE);
      const empty = await call(hs, "POST", filterPath(alice), { token: alice.accessToken, body: {} });
      assert.notEqual(empty.body["filter_id"], id);
    });

    it("refuses filters that do not match the spec's schema with M_BAD_JSON", async () => {
      const bad = [
        { event_format: "xml" },
        { room: { timeline: { limit: 0 } } },
        { room: { timeline: { limit: "ten" } } },
        { room: { rooms: "!a:b" } },
        { room: { state: { not_rooms: ["#alias:b"] } } },
        { presence: { senders: ["alice"] } },
        { room: { include_leave: "yes" } },
        { event_fields: [1] },
      ];
      for (const filter of bad) {
        assertError(await call(hs, "POST", filterPath(alice), { token: alice.accessToken, body: filter }), 400, "M_BAD_JSON");
      }
    });

    it("keeps each user's filters to themselves", async () => {
      const id = (await call(hs, "POST", filterPath(alice), { token: alice.accessToken, body: EXAMPLE })).body["filter_id"] as string;
      assertError(await call(hs, "GET", `${filterPath(alice)}/${id}`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `${filterPath(bob)}/${id}`, { token: bob.accessToken }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "POST", filterPath(alice), { token: bob.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `${filterPath(alice)}/abc`, { token: alice.accessToken }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", `${filterPath(alice)}/999999999`, { token: alice.accessToken }), 404, "M_NOT_FOUND");
    });
  });
}
