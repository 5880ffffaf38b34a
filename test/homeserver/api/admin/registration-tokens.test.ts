import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { assertError, call, registerUser } from "../client/helpers.ts";
import { ADMIN_YAML, registerAdmin } from "./helpers.ts";

const BASE = "/_synapse/admin/v1/registration_tokens";

for (const engine of engines) {
  describe(`registration tokens admin API [${engine}]`, () => {
    let hs: TestHomeserver;
    let admin: string;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ADMIN_YAML });
      admin = await registerAdmin(hs, "root");
    });
    after(() => hs.stop());

    it("creates tokens, random or chosen, with Synapse's object shape", async () => {
      const random = await call(hs, "POST", `${BASE}/new`, { token: admin, body: {} });
      assert.equal(random.status, 200);
      assert.match(random.body["token"] as string, /^[A-Za-z0-9_-]{16}$/);
      assert.deepEqual({ ...random.body, token: "" }, { token: "", uses_allowed: null, pending: 0, completed: 0, expiry_time: null });
      const short = await call(hs, "POST", `${BASE}/new`, { token: admin, body: { length: 5 } });
      assert.equal((short.body["token"] as string).length, 5);
      const expiry = Date.now() + 3_600_000;
      const chosen = await call(hs, "POST", `${BASE}/new`, { token: admin, body: { token: "invite.2024~a", uses_allowed: 3, expiry_time: expiry } });
      assert.deepEqual(chosen.body, { token: "invite.2024~a", uses_allowed: 3, pending: 0, completed: 0, expiry_time: expiry });
    });

    it("refuses bad values with M_INVALID_PARAM", async () => {
      const refuse = async (body: Record<string, unknown>, errcode = "M_INVALID_PARAM") =>
        assertError(await call(hs, "POST", `${BASE}/new`, { token: admin, body }), 400, errcode);
      await refuse({ token: "has space" });
      await refuse({ token: "x".repeat(65) });
      await refuse({ token: "" });
      await refuse({ length: 0 });
      await refuse({ length: 65 });
      await refuse({ uses_allowed: -1 });
      await refuse({ expiry_time: Date.now() - 1000 });
      await refuse({ uses_allowed: "many" }, "M_BAD_JSON");
      await call(hs, "POST", `${BASE}/new`, { token: admin, body: { token: "dup" } });
      await refuse({ token: "dup" });
    });

    it("lists, gets, updates and deletes tokens", async () => {
      await call(hs, "POST", `${BASE}/new`, { token: admin, body: { token: "used-up", uses_allowed: 0 } });
      await call(hs, "POST", `${BASE}/new`, { token: admin, body: { token: "open" } });
      const all = (await call(hs, "GET", BASE, { token: admin })).body["registration_tokens"] as { token: string }[];
      assert.ok(all.some((t) => t.token === "used-up") && all.some((t) => t.token === "open"));
      const valid = (await call(hs, "GET", `${BASE}?valid=true`, { token: admin })).body["registration_tokens"] as { token: string }[];
      const invalid = (await call(hs, "GET", `${BASE}?valid=false`, { token: admin })).body["registration_tokens"] as { token: string }[];
      assert.ok(valid.some((t) => t.token === "open") && !valid.some((t) => t.token === "used-up"));
      assert.ok(invalid.some((t) => t.token === "used-up") && !invalid.some((t) => t.token === "open"));
      assertError(await call(hs, "GET", `${BASE}?valid=maybe`, { token: admin }), 400, "M_INVALID_PARAM");

      assert.equal((await call(hs, "GET", `${BASE}/open`, { token: admin })).body["token"], "open");
      const updated = await call(hs, "PUT", `${BASE}/open`, { token: admin, body: { uses_allowed: 10 } });
      assert.deepEqual(updated.body, { token: "open", uses_allowed: 10, pending: 0, completed: 0, expiry_time: null });
      const unchanged = await call(hs, "PUT", `${BASE}/open`, { token: admin, body: {} });
      assert.equal(unchanged.body["uses_allowed"], 10);
      const unlimited = await call(hs, "PUT", `${BASE}/open`, { token: admin, body: { uses_allowed: null } });
      assert.equal(unlimited.body["uses_allowed"], null);
      assert.deepEqual((await call(hs, "DELETE", `${BASE}/open`, { token: admin })).body, {});
      assertError(await call(hs, "GET", `${BASE}/open`, { token: admin }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "PUT", `${BASE}/open`, { token: admin, body: {} }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "DELETE", `${BASE}/open`, { token: admin }), 404, "M_NOT_FOUND");
    });

    it("is for server admins only", async () => {
      const user = await registerUser(hs, "plain");
      assertError(await call(hs, "GET", BASE, { token: user.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `${BASE}/new`, { token: user.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "DELETE", `${BASE}/dup`, { token: user.accessToken }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "GET", BASE), 401, "M_MISSING_TOKEN");
    });
  });
}
