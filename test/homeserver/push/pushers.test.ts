// GET /pushers and POST /pushers/set (pusher.yaml) over real HTTP on both engines: setting,
// replacing, deleting, `append`, the errors, and pushers going with the device that set them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { engines } from "../../storage/engines.ts";
import { login, passwordAuth, withPasswordUia } from "../api/client/helpers.ts";
import type { TestHomeserver } from "../harness.ts";
import { assertError, call, registerGuest, registerUser, startRoomsHomeserver, type TestUser } from "../rooms/helpers.ts";

const URL_OK = "https://push.example.com/_matrix/push/v1/notify";

const pusherBody = (over: JsonObject = {}): JsonObject => ({
  kind: "http",
  app_id: "com.example.app.ios",
  pushkey: "pushkey-1",
  app_display_name: "Mat Rix",
  device_display_name: "iPhone 9",
  lang: "en",
  data: { url: URL_OK },
  ...over,
});

for (const engine of engines) {
  describe(`pushers API (pusher.yaml) [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    const setPusher = (user: TestUser, body: JsonObject) => call(hs, "POST", "/_matrix/client/v3/pushers/set", { token: user.accessToken, body });
    const pushers = async (user: TestUser | { accessToken: string }) => {
      const reply = await call(hs, "GET", "/_matrix/client/v3/pushers", { token: user.accessToken });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return reply.body["pushers"] as JsonObject[];
    };

    before(async () => {
      hs = await startRoomsHomeserver(engine, "allow_guest_access: true");
      alice = await registerUser(hs, "pushers_alice");
      bob = await registerUser(hs, "pushers_bob");
    });
    after(() => hs.stop());

    it("lists no pushers at first, then the one set, as it was set", async () => {
      assert.deepEqual(await pushers(alice), []);
      const body = pusherBody({ profile_tag: "xyz", data: { url: URL_OK, format: "event_id_only", custom: { a: [1] } } });
      const set = await setPusher(alice, body);
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(set.body, {});
      assert.deepEqual(await pushers(alice), [
        {
          pushkey: "pushkey-1",
          kind: "http",
          app_id: "com.example.app.ios",
          app_display_name: "Mat Rix",
          device_display_name: "iPhone 9",
          profile_tag: "xyz",
          lang: "en",
          data: { url: URL_OK, format: "event_id_only", custom: { a: [1] } },
        },
      ]);
      assert.deepEqual(await pushers(bob), [], "another user's pushers are not listed");
    });

    it("replaces the pusher with the same app_id and pushkey, and deletes it with kind null", async () => {
      assert.equal((await setPusher(alice, pusherBody({ lang: "fr" }))).status, 200);
      assert.equal((await setPusher(alice, pusherBody({ pushkey: "pushkey-2" }))).status, 200);
      const listed = await pushers(alice);
      assert.deepEqual(
        listed.map((p) => [p["pushkey"], p["lang"], "profile_tag" in p]),
        [
          ["pushkey-1", "fr", false],
          ["pushkey-2", "en", false],
        ],
      );
      assert.equal((await setPusher(alice, { kind: null, app_id: "com.example.app.ios", pushkey: "pushkey-2" })).status, 200);
      assert.deepEqual((await pushers(alice)).map((p) => p["pushkey"]), ["pushkey-1"]);
      const again = await setPusher(alice, { kind: null, app_id: "com.example.app.ios", pushkey: "pushkey-2" });
      assert.equal(again.status, 200, "deleting a pusher that is not there is no error");
      assert.equal((await setPusher(alice, { kind: null, app_id: "com.example.app.ios", pushkey: "pushkey-1" })).status, 200);
      assert.deepEqual(await pushers(alice), []);
    });

    it("removes other users' pushers of the same app_id and pushkey, unless append is true", async () => {
      const shared = { app_id: "org.shared.app", pushkey: "shared-key" };
      assert.equal((await setPusher(alice, pusherBody(shared))).status, 200);
      assert.equal((await setPusher(bob, pusherBody({ ...shared, append: true }))).status, 200);
      assert.equal((await pushers(alice)).length, 1, "append keeps alice's");
      assert.equal((await setPusher(bob, pusherBody(shared))).status, 200);
      assert.deepEqual(await pushers(alice), [], "append false removes alice's");
      assert.equal((await pushers(bob)).length, 1);
      assert.equal((await setPusher(bob, { kind: null, ...shared })).status, 200);
    });

    it("answers the spec's 400s for bad pushers, never storing them", async () => {
      const missing = await setPusher(alice, { kind: "http", app_id: "a", pushkey: "k", app_display_name: "A", device_display_name: "D" });
      assertError(missing, 400, "M_MISSING_PARAM");
      assert.match(String(missing.body["error"]), /lang, data/);
      assertError(await setPusher(alice, { kind: "http", app_id: "a" }), 400, "M_MISSING_PARAM");
      assertError(await setPusher(alice, pusherBody({ data: {} })), 400, "M_MISSING_PARAM");
      assertError(await setPusher(alice, pusherBody({ data: { url: "ftp://push.example.com/_matrix/push/v1/notify" } })), 400, "M_INVALID_PARAM");
      assertError(await setPusher(alice, pusherBody({ data: { url: "https://push.example.com/other" } })), 400, "M_INVALID_PARAM");
      assertError(await setPusher(alice, pusherBody({ data: { url: URL_OK, format: 5 } })), 400, "M_BAD_JSON");
      assertError(await setPusher(alice, pusherBody({ app_id: "a".repeat(65) })), 400, "M_INVALID_PARAM");
      assertError(await setPusher(alice, pusherBody({ pushkey: "k".repeat(513) })), 400, "M_INVALID_PARAM");
      assertError(await setPusher(alice, pusherBody({ kind: "email", app_id: "m.email", pushkey: "a@example.com" })), 400, "M_INVALID_PARAM");
      assertError(await setPusher(alice, pusherBody({ kind: 5 })), 400, "M_BAD_JSON");
      assertError(await setPusher(alice, pusherBody({ data: "x" })), 400, "M_BAD_JSON");
      assertError(await setPusher(alice, pusherBody({ append: "no" })), 400, "M_BAD_JSON");
      assertError(await call(hs, "POST", "/_matrix/client/v3/pushers/set", { token: alice.accessToken, rawBody: "{" }), 400, "M_NOT_JSON");
      assert.deepEqual(await pushers(alice), []);
    });

    it("wants an access token, and no guest", async () => {
      assertError(await call(hs, "GET", "/_matrix/client/v3/pushers"), 401, "M_MISSING_TOKEN");
      assertError(await call(hs, "POST", "/_matrix/client/v3/pushers/set", { body: pusherBody() }), 401, "M_MISSING_TOKEN");
      const guest = await registerGuest(hs);
      assertError(await call(hs, "GET", "/_matrix/client/v3/pushers", { token: guest.accessToken }), 403, "M_GUEST_ACCESS_FORBIDDEN");
      assertError(await setPusher(guest, pusherBody()), 403, "M_GUEST_ACCESS_FORBIDDEN");
    });

    it("removes a pusher when the device that set it logs out or is deleted, not the others", async () => {
      const carol = await registerUser(hs, "pushers_carol");
      assert.equal((await setPusher(carol, pusherBody({ pushkey: "carol-main" }))).status, 200);
      const phone = await login(hs, carol.userId, carol.password);
      const phoneToken = phone.body["access_token"] as string;
      const tablet = await login(hs, carol.userId, carol.password);
      assert.equal((await call(hs, "POST", "/_matrix/client/v3/pushers/set", { token: phoneToken, body: pusherBody({ pushkey: "carol-phone" }) })).status, 200);
      const tabletUser = { ...carol, accessToken: tablet.body["access_token"] as string, deviceId: tablet.body["device_id"] as string };
      assert.equal((await setPusher(tabletUser, pusherBody({ pushkey: "carol-tablet" }))).status, 200);
      assert.deepEqual((await pushers(carol)).map((p) => p["pushkey"]).sort(), ["carol-main", "carol-phone", "carol-tablet"]);

      assert.equal((await call(hs, "POST", "/_matrix/client/v3/logout", { token: phoneToken, body: {} })).status, 200);
      assert.deepEqual((await pushers(carol)).map((p) => p["pushkey"]).sort(), ["carol-main", "carol-tablet"]);
      const deleted = await withPasswordUia(hs, "DELETE", `/_matrix/client/v3/devices/${encodeURIComponent(tabletUser.deviceId)}`, carol);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assert.deepEqual((await pushers(carol)).map((p) => p["pushkey"]), ["carol-main"]);
    });

    it("removes every pusher of a deactivated user", async () => {
      const dave = await registerUser(hs, "pushers_dave");
      assert.equal((await setPusher(dave, pusherBody({ pushkey: "dave-1" }))).status, 200);
      assert.equal((await setPusher(dave, pusherBody({ pushkey: "dave-2" }))).status, 200);
      const deactivated = await call(hs, "POST", "/_matrix/client/v3/account/deactivate", { token: dave.accessToken, body: { auth: passwordAuth(dave) } });
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
      assert.deepEqual(hs.server.services.push.pushers.list(dave.userId), []);
    });
  });
}
