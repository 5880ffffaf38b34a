import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ROOM_VERSIONS } from "../../../../src/core/room-versions/room-versions.ts";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerUser } from "./helpers.ts";

for (const engine of engines) {
  describe(`GET /capabilities [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: `${ACCOUNTS_YAML}\ndefault_room_version: "11"` });
    });
    after(() => hs.stop());

    it("lists what users can do, and every stable room version with the configured default", async () => {
      const alice = await registerUser(hs, "alice");
      const reply = await call(hs, "GET", "/_matrix/client/v3/capabilities", { token: alice.accessToken });
      assert.equal(reply.status, 200);
      const caps = reply.body["capabilities"] as Record<string, Record<string, unknown>>;
      assert.deepEqual(caps["m.change_password"], { enabled: true });
      assert.deepEqual(caps["m.set_displayname"], { enabled: true });
      assert.deepEqual(caps["m.set_avatar_url"], { enabled: true });
      // enable_3pid_changes is on by default (Synapse's), turned off in test/homeserver/threepids.
      assert.deepEqual(caps["m.3pid_changes"], { enabled: true });
      assert.deepEqual(caps["m.get_login_token"], { enabled: true });
      assert.deepEqual(caps["m.profile_fields"], { enabled: true });
      const versions = caps["m.room_versions"] as { default: string; available: Record<string, string> };
      assert.equal(versions.default, "11");
      assert.deepEqual(Object.keys(versions.available).sort(), [...ROOM_VERSIONS.keys()].sort());
      assert.ok(Object.values(versions.available).every((s) => s === "stable"));
      assertError(await call(hs, "GET", "/_matrix/client/v3/capabilities"), 401, "M_MISSING_TOKEN");
    });
  });
}
