import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ProfileChangeEvent } from "../../../../src/homeserver/profile/profile-service.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerUser, type TestUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`profiles [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    const changes: ProfileChangeEvent[] = [];
    const path = (user: TestUser, key?: string) =>
      `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}${key === undefined ? "" : `/${encodeURIComponent(key)}`}`;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
      hs.server.services.accounts.profiles.onChange((change) => {
        changes.push(change);
      });
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("starts with the localpart as display name, and sets display name and avatar", async () => {
      assert.deepEqual((await call(hs, "GET", path(alice))).body, { displayname: "alice" });
      assert.equal((await call(hs, "PUT", path(alice, "displayname"), { token: alice.accessToken, body: { displayname: "Alice A." } })).status, 200);
      assert.equal((await call(hs, "PUT", path(alice, "avatar_url"), { token: alice.accessToken, body: { avatar_url: "mxc://test.local/abc" } })).status, 200);
      assert.deepEqual((await call(hs, "GET", path(alice))).body, { displayname: "Alice A.", avatar_url: "mxc://test.local/abc" });
      assert.deepEqual((await call(hs, "GET", path(alice, "displayname"))).body, { displayname: "Alice A." });
      assert.deepEqual((await call(hs, "GET", path(alice, "avatar_url"))).body, { avatar_url: "mxc://test.local/abc" });
      // r0 clients use the same paths.
      const r0 = await call(hs, "GET", `/_matrix/client/r0/profile/${encodeURIComponent(alice.userId)}/displayname`);
      assert.deepEqual(r0.body, { displayname: "Alice A." });
      assert.deepEqual(
        changes.filter((c) => c.userId === alice.userId).map((c) => [c.key, c.value]),
        [["displayname", "Alice A."], ["avatar_url", "mxc://test.local/abc"]],
      );
      assert.deepEqual(changes.at(-1)?.profile, { displayname: "Alice A.", avatar_url: "mxc://test.local/abc" });
    });

    it("stores custom fields and m.tz, and deletes fields", async () => {
      const put = (key: string, value: unknown) => call(hs, "PUT", path(alice, key), { token: alice.accessToken, body: { [key]: value } });
      assert.equal((await put("m.tz", "Europe/London")).status, 200);
      assert.equal((await put("org.example.job", { title: "baker", since: 2020 })).status, 200);
      assert.equal((await put("org.example.nothing", null)).status, 200, "null is stored, not a deletion");
      assert.deepEqual((await call(hs, "GET", path(alice, "org.example.job"))).body, { "org.example.job": { title: "baker", since: 2020 } });
      assert.deepEqual((await call(hs, "GET", path(alice, "org.example.nothing"))).body, { "org.example.nothing": null });
      const whole = (await call(hs, "GET", path(alice))).body;
      assert.equal(whole["m.tz"], "Europe/London");

      assert.equal((await call(hs, "DELETE", path(alice, "org.example.job"), { token: alice.accessToken })).status, 200);
      assertError(await call(hs, "GET", path(alice, "org.example.job")), 404, "M_NOT_FOUND");
      assert.equal((await call(hs, "DELETE", path(alice, "org.example.job"), { token: alice.accessToken })).status, 200, "already gone is fine");
      assert.equal((await call(hs, "DELETE", path(alice, "avatar_url"), { token: alice.accessToken })).status, 200);
      assertError(await call(hs, "GET", path(alice, "avatar_url")), 404, "M_NOT_FOUND");
    });

    it("checks keys, values and sizes", async () => {
      const put = (key: string, body: unknown) => call(hs, "PUT", path(bob, key), { token: bob.accessToken, body });
      assertError(await put("Not-A-Key", { "Not-A-Key": 1 }), 400, "M_INVALID_PARAM");
      assertError(await put("nodots", { nodots: 1 }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", path(bob, "bad key")), 400, "M_INVALID_PARAM");
      const longKey = `org.${"a".repeat(260)}`;
      assertError(await put(longKey, { [longKey]: 1 }), 400, "M_KEY_TOO_LARGE");
      assertError(await put("org.example.x", { other: 1 }), 400, "M_MISSING_PARAM");
      assertError(await put("displayname", { displayname: 5 }), 400, "M_INVALID_PARAM");
      assertError(await put("avatar_url", { avatar_url: "https://example.org/a.png" }), 400, "M_INVALID_PARAM");
      assertError(await put("m.tz", { "m.tz": 1 }), 400, "M_INVALID_PARAM");
      assertError(await put("org.example.x", [1]), 400, "M_BAD_JSON");
      // The whole profile must stay under 64 KiB.
      assert.equal((await put("org.example.big", { "org.example.big": "x".repeat(40_000) })).status, 200);
      assertError(await put("org.example.bigger", { "org.example.bigger": "y".repeat(30_000) }), 400, "M_PROFILE_TOO_LARGE");
      assertError(await call(hs, "GET", path(bob, "org.example.bigger")), 404, "M_NOT_FOUND");
    });

    it("lets users change only their own profile", async () => {
      assertError(await call(hs, "PUT", path(alice, "displayname"), { token: bob.accessToken, body: { displayname: "Mallory" } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "DELETE", path(alice, "displayname"), { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "PUT", path(alice, "displayname"), { body: { displayname: "Anon" } }), 401, "M_MISSING_TOKEN");
    });

    it("answers 404 for unknown users and 400 for what is not a user ID", async () => {
      assertError(await call(hs, "GET", "/_matrix/client/v3/profile/%40nobody%3Atest.local"), 404, "M_NOT_FOUND");
      // Another server's user is asked of their server: one that cannot be reached is 502, as Synapse answers.
      assert.equal((await call(hs, "GET", "/_matrix/client/v3/profile/%40someone%3Aelsewhere.example")).status, 502);
      assertError(await call(hs, "GET", "/_matrix/client/v3/profile/not-a-user"), 400, "M_INVALID_PARAM");
    });
  });
}
