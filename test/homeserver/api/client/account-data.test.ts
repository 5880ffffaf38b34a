import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AccountDataChange } from "../../../../src/homeserver/account-data/account-data-service.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerUser, type TestUser } from "./helpers.ts";

const ROOM = "!room:test.local";

for (const engine of engines) {
  describe(`account data and tags [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    const changes: AccountDataChange[] = [];
    const base = (user: TestUser) => `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}`;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
      hs.server.services.accounts.accountData.onChange((c) => {
        changes.push(c);
      });
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("stores global and per-room account data, each on its own", async () => {
      const global = `${base(alice)}/account_data/org.example.settings`;
      const room = `${base(alice)}/rooms/${encodeURIComponent(ROOM)}/account_data/org.example.settings`;
      assertError(await call(hs, "GET", global, { token: alice.accessToken }), 404, "M_NOT_FOUND");
      assert.equal((await call(hs, "PUT", global, { token: alice.accessToken, body: { theme: "dark" } })).status, 200);
      assert.deepEqual((await call(hs, "GET", global, { token: alice.accessToken })).body, { theme: "dark" });
      assertError(await call(hs, "GET", room, { token: alice.accessToken }), 404, "M_NOT_FOUND");
      assert.equal((await call(hs, "PUT", room, { token: alice.accessToken, body: { muted: true } })).status, 200);
      assert.deepEqual((await call(hs, "GET", room, { token: alice.accessToken })).body, { muted: true });
      assert.equal((await call(hs, "PUT", global, { token: alice.accessToken, body: { theme: "light" } })).status, 200);
      assert.deepEqual((await call(hs, "GET", global, { token: alice.accessToken })).body, { theme: "light" });
    });

    it("keeps account data as a stream of positions sync can follow", async () => {
      const service = hs.server.services.accounts.accountData;
      const start = await service.currentPosition();
      const put = (type: string, content: unknown) => call(hs, "PUT", `${base(bob)}/account_data/${type}`, { token: bob.accessToken, body: content });
      await put("org.example.a", { n: 1 });
      await put("org.example.b", { n: 2 });
      await put("org.example.a", { n: 3 });
      const since = await service.changesSince(bob.userId, start);
      assert.deepEqual(since.map((c) => [c.type, c.content]), [["org.example.b", { n: 2 }], ["org.example.a", { n: 3 }]]);
      assert.ok(since[0]!.streamId < since[1]!.streamId);
      assert.equal(await service.currentPosition(), since[1]!.streamId);
      assert.deepEqual(await service.changesSince(bob.userId, since[1]!.streamId), []);
      const mine = changes.filter((c) => c.userId === bob.userId).map((c) => c.streamId);
      assert.deepEqual(mine, [...mine].sort((a, b) => a - b), "listeners see increasing positions");
    });

    it("refuses server-managed types with 405, other users with 403, and bad room IDs with 400", async () => {
      for (const type of ["m.fully_read", "m.push_rules"]) {
        assertError(await call(hs, "PUT", `${base(alice)}/account_data/${type}`, { token: alice.accessToken, body: {} }), 405, "M_BAD_JSON");
        assertError(await call(hs, "PUT", `${base(alice)}/rooms/${encodeURIComponent(ROOM)}/account_data/${type}`, { token: alice.accessToken, body: {} }), 405, "M_BAD_JSON");
      }
      assertError(await call(hs, "PUT", `${base(alice)}/account_data/org.example.x`, { token: bob.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `${base(alice)}/account_data/org.example.settings`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "PUT", `${base(alice)}/rooms/not-a-room/account_data/org.example.x`, { token: alice.accessToken, body: {} }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", `${base(alice)}/rooms/not-a-room/account_data/org.example.x`, { token: alice.accessToken }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", `${base(alice)}/account_data/org.example.x`, { token: alice.accessToken, rawBody: "[1]" }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", `${base(alice)}/account_data/org.example.x`, { token: alice.accessToken, rawBody: "nope" }), 400, "M_NOT_JSON");
    });

    it("validates m.ignored_user_list", async () => {
      const path = `${base(alice)}/account_data/m.ignored_user_list`;
      assert.equal((await call(hs, "PUT", path, { token: alice.accessToken, body: { ignored_users: { "@spam:example.org": {} } } })).status, 200);
      assertError(await call(hs, "PUT", path, { token: alice.accessToken, body: {} }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", path, { token: alice.accessToken, body: { ignored_users: ["@spam:example.org"] } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", path, { token: alice.accessToken, body: { ignored_users: { "not a user": {} } } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", path, { token: alice.accessToken, body: { ignored_users: { "@spam:example.org": true } } }), 400, "M_BAD_JSON");
      assert.deepEqual((await call(hs, "GET", path, { token: alice.accessToken })).body, { ignored_users: { "@spam:example.org": {} } });
    });

    it("adds, lists and removes room tags, kept as m.tag room account data", async () => {
      const tags = `${base(alice)}/rooms/${encodeURIComponent(ROOM)}/tags`;
      assert.deepEqual((await call(hs, "GET", tags, { token: alice.accessToken })).body, { tags: {} });
      assert.equal((await call(hs, "PUT", `${tags}/m.favourite`, { token: alice.accessToken, body: { order: 0.25 } })).status, 200);
      assert.equal((await call(hs, "PUT", `${tags}/u.Work`, { token: alice.accessToken, body: {} })).status, 200);
      assert.deepEqual((await call(hs, "GET", tags, { token: alice.accessToken })).body, { tags: { "m.favourite": { order: 0.25 }, "u.Work": {} } });
      const mTag = await call(hs, "GET", `${base(alice)}/rooms/${encodeURIComponent(ROOM)}/account_data/m.tag`, { token: alice.accessToken });
      assert.deepEqual(mTag.body, { tags: { "m.favourite": { order: 0.25 }, "u.Work": {} } });
      assert.equal((await call(hs, "DELETE", `${tags}/m.favourite`, { token: alice.accessToken })).status, 200);
      assert.equal((await call(hs, "DELETE", `${tags}/m.never`, { token: alice.accessToken })).status, 200);
      assert.deepEqual((await call(hs, "GET", tags, { token: alice.accessToken })).body, { tags: { "u.Work": {} } });
      assertError(await call(hs, "PUT", `${tags}/u.x`, { token: alice.accessToken, body: { order: "first" } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", `${tags}/${"t".repeat(256)}`, { token: alice.accessToken, body: {} }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", tags, { token: bob.accessToken }), 403, "M_FORBIDDEN");
    });
  });
}
