// The accounts at Synapse's admin API over real HTTP on both engines: the server's version; pages
// of the accounts with their filters, order and next_token; one account; resetting a password (the
// devices logged out, the new password working); deactivating an account; the admin flag; a user's
// devices and joined rooms, and whois at Synapse's path. Server admins only, and the errors of bad
// requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, login, registerGuest, registerUser, type TestUser } from "../client/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const enc = encodeURIComponent;

for (const engine of engines) {
  describe(`admin users [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let guest: TestUser;

    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: `${ADMIN_YAML}\nallow_guest_access: true` });
      admin = await registerAdmin(hs, "root");
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
      carol = await registerUser(hs, "carol");
      guest = await registerGuest(hs);
      assert.equal((await call(hs, "PUT", `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: "Bobby Tables" } })).status, 200);
    });
    after(() => hs.stop());

    type UserJson = Record<string, unknown>;
    const list = async (query = ""): Promise<{ users: UserJson[]; total: number; next: string | undefined }> => {
      const reply = await call(hs, "GET", `/_synapse/admin/v2/users${query}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return { users: reply.body["users"] as UserJson[], total: reply.body["total"] as number, next: reply.body["next_token"] as string | undefined };
    };
    const names = (users: UserJson[]): string[] => users.map((u) => u["name"] as string);

    it("answers the server's version to anyone", async () => {
      const reply = await call(hs, "GET", "/_synapse/admin/v1/server_version");
      assert.equal(reply.status, 200);
      assert.match(reply.body["server_version"] as string, /^Weft \d+\.\d+\.\d+/);
    });

    it("lists the accounts by user ID, with their flags, guests included and deactivated ones not", async () => {
      const { users, total, next } = await list();
      assert.equal(total, 5);
      assert.equal(next, undefined);
      assert.deepEqual(names(users), [alice.userId, bob.userId, carol.userId, "@root:test.local", guest.userId].sort());
      const bobJson = users.find((u) => u["name"] === bob.userId) as UserJson;
      assert.equal(bobJson["displayname"], "Bobby Tables");
      assert.equal(bobJson["admin"], false);
      assert.equal(bobJson["is_guest"], false);
      assert.equal(bobJson["deactivated"], false);
      assert.equal(bobJson["locked"], false);
      assert.equal(typeof bobJson["creation_ts"], "number");
      assert.equal((users.find((u) => u["name"] === "@root:test.local") as UserJson)["admin"], true);
      assert.equal((users.find((u) => u["name"] === guest.userId) as UserJson)["is_guest"], true);
    });

    it("pages by offset either way, and filters", async () => {
      const all = names((await list()).users);
      const page1 = await list("?limit=2");
      assert.deepEqual(names(page1.users), all.slice(0, 2));
      assert.equal(page1.next, "2");
      const page2 = await list(`?limit=2&from=${page1.next}`);
      assert.deepEqual(names(page2.users), all.slice(2, 4));
      assert.deepEqual(names((await list("?dir=b&limit=1")).users), [all.at(-1)]);
      assert.deepEqual(names((await list("?guests=false")).users), all.filter((n) => n !== guest.userId));
      assert.deepEqual(names((await list("?admins=true")).users), ["@root:test.local"]);
      assert.equal((await list("?admins=false")).total, 4);
      assert.deepEqual(names((await list(`?user_id=${enc("ali")}`)).users), [alice.userId]);
      // name: the user ID or the display name, whatever the case.
      assert.deepEqual(names((await list(`?name=${enc("TABLES")}`)).users), [bob.userId]);
      assert.deepEqual(names((await list(`?name=${enc("CAROL")}`)).users), [carol.userId]);
      const newestFirst = await list("?order_by=creation_ts&dir=b&guests=false");
      assert.equal(names(newestFirst.users)[0], carol.userId);
    });

    it("shows one account", async () => {
      const reply = await call(hs, "GET", `/_synapse/admin/v2/users/${enc(alice.userId)}`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body["name"], alice.userId);
      assert.deepEqual(reply.body["threepids"], []);
      assert.equal(reply.body["deactivated"], false);
      assert.equal(reply.body["erased"], false);
      assertError(await call(hs, "GET", `/_synapse/admin/v2/users/${enc("@nobody:test.local")}`, { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", `/_synapse/admin/v2/users/${enc("@alice:elsewhere.example")}`, { token: admin }), 400, "M_INVALID_PARAM");
    });

    it("resets a password: the old one no longer works, the new one does, the devices are logged out", async () => {
      const reply = await call(hs, "POST", `/_synapse/admin/v1/reset_password/${enc(carol.userId)}`, { token: admin, body: { new_password: "Brand-new-pass-2" } });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assertError(await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: carol.accessToken }), 401, "M_UNKNOWN_TOKEN");
      assert.equal((await login(hs, carol.userId, carol.password)).status, 403);
      const fresh = await login(hs, carol.userId, "Brand-new-pass-2");
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
      // logout_devices: false keeps them.
      const token = fresh.body["access_token"] as string;
      assert.equal((await call(hs, "POST", `/_synapse/admin/v1/reset_password/${enc(carol.userId)}`, { token: admin, body: { new_password: "Third-pass-3", logout_devices: false } })).status, 200);
      assert.equal((await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token })).status, 200);
    });

    it("deactivates an account: it cannot log in, its tokens are gone, and it is listed only when asked", async () => {
      const reply = await call(hs, "POST", `/_synapse/admin/v1/deactivate/${enc(alice.userId)}`, { token: admin, body: { erase: true } });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { id_server_unbind_result: "success" });
      assertError(await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: alice.accessToken }), 401, "M_UNKNOWN_TOKEN");
      assert.notEqual((await login(hs, alice.userId, alice.password)).status, 200);
      assert.ok(!names((await list()).users).includes(alice.userId));
      const withDeactivated = await list("?deactivated=true");
      const aliceJson = withDeactivated.users.find((u) => u["name"] === alice.userId) as UserJson;
      assert.equal(aliceJson["deactivated"], true);
      assert.equal(aliceJson["erased"], true);
      assertError(await call(hs, "POST", `/_synapse/admin/v1/reset_password/${enc(alice.userId)}`, { token: admin, body: { new_password: "x-Pass-1" } }), 400, "M_INVALID_PARAM");
    });

    it("makes a user a server admin and back, but never demotes the admin asking", async () => {
      const path = `/_synapse/admin/v1/users/${enc(bob.userId)}/admin`;
      assert.deepEqual((await call(hs, "GET", path, { token: admin })).body, { admin: false });
      assert.equal((await call(hs, "PUT", path, { token: admin, body: { admin: true } })).status, 200);
      assert.deepEqual((await call(hs, "GET", path, { token: admin })).body, { admin: true });
      // Bob is an admin now: he may list the users.
      assert.equal((await call(hs, "GET", "/_synapse/admin/v2/users", { token: bob.accessToken })).status, 200);
      assert.equal((await call(hs, "PUT", path, { token: admin, body: { admin: false } })).status, 200);
      assertError(await call(hs, "GET", "/_synapse/admin/v2/users", { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "PUT", `/_synapse/admin/v1/users/${enc("@root:test.local")}/admin`, { token: admin, body: { admin: false } }), 400, "M_INVALID_PARAM");
    });

    it("creates an account, changes it, deactivates and reactivates it", async () => {
      const path = `/_synapse/admin/v2/users/${enc("@dave:test.local")}`;
      const created = await call(hs, "PUT", path, { token: admin, body: { password: "Dave-pass-1", displayname: "Dave", admin: false, threepids: [] } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body["name"], "@dave:test.local");
      assert.equal(created.body["displayname"], "Dave");
      const first = await login(hs, "@dave:test.local", "Dave-pass-1");
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const token = first.body["access_token"] as string;
      // Changed: the display name reaches the profile, the new password logs the devices out.
      const changed = await call(hs, "PUT", path, { token: admin, body: { displayname: "David", password: "Dave-pass-2" } });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.equal(changed.body["displayname"], "David");
      assert.deepEqual((await call(hs, "GET", `/_matrix/client/v3/profile/${enc("@dave:test.local")}/displayname`)).body, { displayname: "David" });
      assertError(await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token }), 401, "M_UNKNOWN_TOKEN");
      // Locked, then deactivated; reactivation takes a password.
      const locked = await call(hs, "PUT", path, { token: admin, body: { locked: true } });
      assert.equal(locked.body["locked"], true, JSON.stringify(locked.body));
      assert.equal((await call(hs, "PUT", path, { token: admin, body: { locked: false, deactivated: true } })).body["deactivated"], true);
      assert.notEqual((await login(hs, "@dave:test.local", "Dave-pass-2")).status, 200);
      assertError(await call(hs, "PUT", path, { token: admin, body: { deactivated: false } }), 400, "M_INVALID_PARAM");
      const back = await call(hs, "PUT", path, { token: admin, body: { deactivated: false, password: "Dave-pass-3" } });
      assert.equal(back.status, 200, JSON.stringify(back.body));
      assert.equal(back.body["deactivated"], false);
      assert.equal((await login(hs, "@dave:test.local", "Dave-pass-3")).status, 200);
      // 3PIDs are kept (more in test/homeserver/threepids); what is not kept here is refused rather than dropped.
      const withThreepid = await call(hs, "PUT", path, { token: admin, body: { threepids: [{ medium: "email", address: "D@example.org" }] } });
      assert.deepEqual((withThreepid.body["threepids"] as Array<Record<string, unknown>>).map((t) => t["address"]), ["d@example.org"]);
      // external_ids (SSO): set, listed, found by Synapse's auth_providers lookup, refused when another account's.
      const withExternal = await call(hs, "PUT", path, { token: admin, body: { external_ids: [{ auth_provider: "oidc-github", external_id: "d-123" }] } });
      assert.deepEqual(withExternal.body["external_ids"], [{ auth_provider: "oidc-github", external_id: "d-123" }]);
      assert.deepEqual((await call(hs, "GET", `/_synapse/admin/v1/auth_providers/oidc-github/users/d-123`, { token: admin })).body, { user_id: "@dave:test.local" });
      assertError(await call(hs, "GET", `/_synapse/admin/v1/auth_providers/oidc-github/users/nobody`, { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/auth_providers/oidc-github/users/d-123`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
      const otherPath = `/_synapse/admin/v2/users/${enc("@erin:test.local")}`;
      assert.equal((await call(hs, "PUT", otherPath, { token: admin, body: { password: "Erin-pass-1" } })).status, 201);
      assertError(await call(hs, "PUT", otherPath, { token: admin, body: { external_ids: [{ auth_provider: "oidc-github", external_id: "d-123" }] } }), 409, "M_UNKNOWN");
      assertError(await call(hs, "PUT", path, { token: admin, body: { external_ids: [{ auth_provider: "oidc-github" }] } }), 400, "M_INVALID_PARAM");
      assert.deepEqual((await call(hs, "PUT", path, { token: admin, body: { external_ids: [] } })).body["external_ids"], []);
      assertError(await call(hs, "PUT", path, { token: admin, body: { user_type: "bot" } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", `/_synapse/admin/v2/users/${enc("@dave:elsewhere.example")}`, { token: admin, body: {} }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", path, { token: bob.accessToken, body: { admin: true } }), 403, "M_FORBIDDEN");
    });

    it("tells whether a username is free, as /register/available does", async () => {
      const ask = (username: string) => call(hs, "GET", `/_synapse/admin/v1/username_available?username=${enc(username)}`, { token: admin });
      assert.deepEqual((await ask("someone-new")).body, { available: true });
      assertError(await ask("bob"), 400, "M_USER_IN_USE");
      assertError(await ask("not valid!"), 400, "M_INVALID_USERNAME");
      assertError(await call(hs, "GET", "/_synapse/admin/v1/username_available", { token: admin }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "GET", "/_synapse/admin/v1/username_available?username=x", { token: bob.accessToken }), 403, "M_FORBIDDEN");
    });

    it("shows a user's account data and pushers", async () => {
      // Carol's first token went with the password reset above.
      const fresh = (await login(hs, carol.userId, "Third-pass-3")).body["access_token"] as string;
      const roomId = (await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: fresh, body: {} })).body["room_id"] as string;
      const base = `/_matrix/client/v3/user/${enc(carol.userId)}`;
      assert.equal((await call(hs, "PUT", `${base}/account_data/org.example.global`, { token: fresh, body: { a: 1 } })).status, 200);
      assert.equal((await call(hs, "PUT", `${base}/rooms/${enc(roomId)}/account_data/org.example.room`, { token: fresh, body: { b: 2 } })).status, 200);
      assert.equal((await call(hs, "PUT", `${base}/account_data/org.example.global`, { token: fresh, body: { a: 3 } })).status, 200);
      const data = await call(hs, "GET", `/_synapse/admin/v1/users/${enc(carol.userId)}/accountdata`, { token: admin });
      assert.equal(data.status, 200, JSON.stringify(data.body));
      const accountData = data.body["account_data"] as { global: Record<string, unknown>; rooms: Record<string, Record<string, unknown>> };
      assert.deepEqual(accountData.global["org.example.global"], { a: 3 });
      assert.deepEqual(accountData.rooms[roomId], { "org.example.room": { b: 2 } });

      const pusher = { kind: "http", app_id: "com.example.app", pushkey: "key-1", app_display_name: "App", device_display_name: "Phone", lang: "en", data: { url: "https://push.example.com/_matrix/push/v1/notify" } };
      assert.equal((await call(hs, "POST", "/_matrix/client/v3/pushers/set", { token: fresh, body: pusher })).status, 200);
      const pushers = await call(hs, "GET", `/_synapse/admin/v1/users/${enc(carol.userId)}/pushers`, { token: admin });
      assert.equal(pushers.status, 200, JSON.stringify(pushers.body));
      assert.equal(pushers.body["total"], 1);
      assert.equal((pushers.body["pushers"] as Array<Record<string, unknown>>)[0]?.["pushkey"], "key-1");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/users/${enc(carol.userId)}/pushers`, { token: fresh }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/users/${enc(carol.userId)}/accountdata`, { token: fresh }), 403, "M_FORBIDDEN");
    });

    it("lists, renames and deletes a user's devices", async () => {
      const second = (await login(hs, bob.userId, bob.password)).body["device_id"] as string;
      const base = `/_synapse/admin/v2/users/${enc(bob.userId)}`;
      const listed = await call(hs, "GET", `${base}/devices`, { token: admin });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.equal(listed.body["total"], 2);
      assert.deepEqual((listed.body["devices"] as UserJson[]).map((d) => d["device_id"]).sort(), [bob.deviceId, second].sort());
      assert.equal((await call(hs, "PUT", `${base}/devices/${enc(second)}`, { token: admin, body: { display_name: "Laptop" } })).status, 200);
      const one = await call(hs, "GET", `${base}/devices/${enc(second)}`, { token: admin });
      assert.equal(one.body["display_name"], "Laptop");
      assert.equal(one.body["user_id"], bob.userId);
      assertError(await call(hs, "GET", `${base}/devices/NOPE`, { token: admin }), 404, "M_NOT_FOUND");
      assert.equal((await call(hs, "DELETE", `${base}/devices/${enc(second)}`, { token: admin })).status, 200);
      assertError(await call(hs, "GET", `${base}/devices/${enc(second)}`, { token: admin }), 404, "M_NOT_FOUND");
      const third = (await login(hs, bob.userId, bob.password)).body as Record<string, string>;
      assert.equal((await call(hs, "POST", `${base}/delete_devices`, { token: admin, body: { devices: [third["device_id"] as string, "GONE"] } })).status, 200);
      assertError(await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: third["access_token"] }), 401, "M_UNKNOWN_TOKEN");
      // Bob's first device stands.
      assert.equal((await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: bob.accessToken })).status, 200);
    });

    it("lists a user's joined rooms, and answers whois at Synapse's path", async () => {
      const roomId = (await call(hs, "POST", "/_matrix/client/v3/createRoom", { token: bob.accessToken, body: {} })).body["room_id"] as string;
      const reply = await call(hs, "GET", `/_synapse/admin/v1/users/${enc(bob.userId)}/joined_rooms`, { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, { joined_rooms: [roomId], total: 1 });
      const whois = await call(hs, "GET", `/_synapse/admin/v1/whois/${enc(bob.userId)}`, { token: admin });
      assert.equal(whois.status, 200, JSON.stringify(whois.body));
      assert.equal(whois.body["user_id"], bob.userId);
      assert.ok(Object.keys(whois.body["devices"] as object).includes(bob.deviceId));
    });

    it("answers only server admins, and refuses bad parameters", async () => {
      const token = bob.accessToken;
      assertError(await call(hs, "GET", "/_synapse/admin/v2/users", { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v2/users/${enc(bob.userId)}`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/reset_password/${enc(bob.userId)}`, { token, body: { new_password: "Abc-12345" } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/deactivate/${enc(bob.userId)}`, { token, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "PUT", `/_synapse/admin/v1/users/${enc(bob.userId)}/admin`, { token, body: { admin: true } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v2/users/${enc(bob.userId)}/devices`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `/_synapse/admin/v2/users/${enc(carol.userId)}/delete_devices`, { token, body: { devices: [] } }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/users/${enc(carol.userId)}/joined_rooms`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", `/_synapse/admin/v1/whois/${enc(carol.userId)}`, { token }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", "/_synapse/admin/v2/users"), 401, "M_MISSING_TOKEN");
      for (const query of ["?limit=0", "?limit=x", "?from=-1", "?guests=yes", "?deactivated=1", "?admins=maybe", "?order_by=password", "?dir=up"]) {
        assertError(await call(hs, "GET", `/_synapse/admin/v2/users${query}`, { token: admin }), 400, "M_INVALID_PARAM");
      }
      assertError(await call(hs, "POST", `/_synapse/admin/v1/reset_password/${enc(bob.userId)}`, { token: admin, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "PUT", `/_synapse/admin/v1/users/${enc(bob.userId)}/admin`, { token: admin, body: { admin: "yes" } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "POST", `/_synapse/admin/v1/deactivate/${enc("@nobody:test.local")}`, { token: admin, body: {} }), 404, "M_NOT_FOUND");
    });
  });
}
