// GET /admin/whois/{userId} (admin.yaml) over real HTTP on both engines: a user's devices with the
// address, time and client each was last seen with, for server admins and for the user themselves;
// authorisation before any lookup, local accounts only.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, registerUser, type TestUser } from "../client/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const whoisPath = (userId: string) => `/_matrix/client/v3/admin/whois/${encodeURIComponent(userId)}`;

for (const engine of engines) {
  describe(`admin whois [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ADMIN_YAML });
      admin = await registerAdmin(hs, "root");
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
    });
    after(() => hs.stop());

    it("shows an admin each device of the user with its last connection", async () => {
      const seen = await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token: alice.accessToken, headers: { "user-agent": "Weft-Test/1.0" } });
      assert.equal(seen.status, 200);
      const reply = await call(hs, "GET", whoisPath(alice.userId), { token: admin });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(reply.body["user_id"], alice.userId);
      const devices = reply.body["devices"] as Record<string, { sessions: Array<{ connections: Array<Record<string, unknown>> }> }>;
      assert.deepEqual(Object.keys(devices), [alice.deviceId]);
      const [connection] = devices[alice.deviceId]?.sessions[0]?.connections ?? [];
      assert.match(String(connection?.["ip"]), /127\.0\.0\.1|::1/);
      assert.equal(connection?.["user_agent"], "Weft-Test/1.0");
      assert.equal(typeof connection?.["last_seen"], "number");
    });

    it("lets users look themselves up, and refuses them anyone else before any lookup", async () => {
      assert.equal((await call(hs, "GET", whoisPath(bob.userId), { token: bob.accessToken })).status, 200);
      assertError(await call(hs, "GET", whoisPath(alice.userId), { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", whoisPath("@nobody:test.local"), { token: bob.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", whoisPath("@someone:elsewhere.example"), { token: bob.accessToken }), 403, "M_FORBIDDEN");
    });

    it("answers admins 400 for users of other servers and 404 for unknown ones", async () => {
      assertError(await call(hs, "GET", whoisPath("@someone:elsewhere.example"), { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", whoisPath("not a user"), { token: admin }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", whoisPath("@nobody:test.local"), { token: admin }), 404, "M_NOT_FOUND");
    });
  });
}
