// Logging in as a user at Synapse's admin API over real HTTP on both engines: a token of the user on
// no device (not in their device list), ended alone by /logout, by the user's /logout/all, or when
// its valid_until_ms passes; server admins only, never as oneself, and the errors of bad requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import type { TestHomeserver } from "../../harness.ts";
import { assertError, call, enc, registerUser, startEventsHomeserver, type TestUser } from "../../events/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

for (const engine of engines) {
  describe(`admin login as a user [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let adminId: string;

    const loginAs = (userId: string, body: Record<string, unknown> = {}, token = admin) =>
      call(hs, "POST", `/_synapse/admin/v1/users/${enc(userId)}/login`, { token, body });
    const whoami = (token: string) => call(hs, "GET", "/_matrix/client/v3/account/whoami", { token });

    before(async () => {
      hs = await startEventsHomeserver(engine, ADMIN_YAML);
      admin = await registerAdmin(hs, "root");
      adminId = (await whoami(admin)).body["user_id"] as string;
      alice = await registerUser(hs, "alice");
    });
    after(() => hs.stop());

    it("answers a token of the user on no device, which /logout ends alone", async () => {
      const reply = await loginAs(alice.userId);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const token = reply.body["access_token"] as string;
      assert.deepEqual((await whoami(token)).body, { user_id: alice.userId, is_guest: false });
      const devices = await call(hs, "GET", "/_matrix/client/v3/devices", { token: alice.accessToken });
      assert.deepEqual((devices.body["devices"] as Array<Record<string, unknown>>).map((d) => d["device_id"]), [alice.deviceId]);
      const created = await call(hs, "POST", "/_matrix/client/v3/createRoom", { token, body: {} });
      assert.equal(created.status, 200, "it acts as the user");
      assert.equal((await call(hs, "POST", "/_matrix/client/v3/logout", { token, body: {} })).status, 200);
      assertError(await whoami(token), 401, "M_UNKNOWN_TOKEN");
      assert.equal((await whoami(alice.accessToken)).status, 200, "the user's own session goes on");
    });

    it("ends with the user's /logout/all, and when valid_until_ms passes", async () => {
      const lasting = (await loginAs(alice.userId)).body["access_token"] as string;
      const brief = (await loginAs(alice.userId, { valid_until_ms: Date.now() + 400 })).body["access_token"] as string;
      assert.equal((await whoami(brief)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const expired = await whoami(brief);
      assertError(expired, 401, "M_UNKNOWN_TOKEN");
      assert.equal(expired.body["soft_logout"], true);
      const bob = await registerUser(hs, "bob");
      const forBob = (await loginAs(bob.userId)).body["access_token"] as string;
      assert.equal((await call(hs, "POST", "/_matrix/client/v3/logout/all", { token: bob.accessToken, body: {} })).status, 200);
      assertError(await whoami(forBob), 401, "M_UNKNOWN_TOKEN");
      assert.equal((await whoami(lasting)).status, 200, "another user's logout/all leaves it");
    });

    it("answers errors: admins only, never oneself, a user of ours that is active, a valid_until_ms to come", async () => {
      assertError(await loginAs(adminId, {}, alice.accessToken), 403, "M_FORBIDDEN");
      assertError(await loginAs(adminId), 400, "M_UNKNOWN");
      assertError(await loginAs("@eve:elsewhere.example"), 400, "M_INVALID_PARAM");
      assertError(await loginAs(`@ghost:${alice.userId.split(":")[1]}`), 404, "M_NOT_FOUND");
      assertError(await loginAs(alice.userId, { valid_until_ms: Date.now() - 1000 }), 400, "M_INVALID_PARAM");
      assertError(await loginAs(alice.userId, { valid_until_ms: "soon" }), 400, "M_BAD_JSON");
    });
  });
}
