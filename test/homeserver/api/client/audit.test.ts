// Account endpoints audited against the spec (v1.19) the way Complement, Sytest and Element exercise
// them: each test is a discrepancy that was found and fixed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { crossSigningKeyObject, crossSigningKeyPair } from "../../e2ee/helpers.ts";
import { ACCOUNTS_YAML, assertError, call, login, passwordAuth, registerUser } from "./helpers.ts";

const V3 = "/_matrix/client/v3";

for (const engine of engines) {
  describe(`account endpoints audit [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
    });
    after(() => hs.stop());

    // client-server-api#user-interactive-authentication-api: a request without `auth` gets the 401 with
    // the flows; Element and Complement ("POST {} returns a set of flows") discover them with `{}`.
    it("answers POST /register {} with the 401 and its flows, and asks for the password once auth comes", async () => {
      const first = await call(hs, "POST", `${V3}/register`, { body: {} });
      assert.equal(first.status, 401, JSON.stringify(first.body));
      assert.deepEqual(first.body["flows"], [{ stages: ["m.login.dummy"] }]);
      assert.equal(typeof first.body["session"], "string");
      const noPassword = await call(hs, "POST", `${V3}/register`, { body: { username: "nopass", auth: { type: "m.login.dummy" } } });
      assertError(noPassword, 400, "M_MISSING_PARAM");
    });

    // client-server-api#user-interactive-authentication-api: "If the request fails for a reason other
    // than authentication, the server returns an error message in the standard format" (Complement's
    // TestDeviceManagement: "requires UI auth user to match device owner" expects a 403).
    it("refuses another account's identifier in the m.login.password stage with 403 whatever the password, keeping the device", async () => {
      const alice = await registerUser(hs, "audit_alice");
      const bob = await registerUser(hs, "audit_bob");
      const second = await login(hs, "audit_alice", alice.password);
      const deviceId = second.body["device_id"] as string;
      const refused = await call(hs, "DELETE", `${V3}/devices/${deviceId}`, { token: alice.accessToken, body: { auth: passwordAuth(bob) } });
      assertError(refused, 403, "M_FORBIDDEN");
      assert.equal((await call(hs, "GET", `${V3}/devices/${deviceId}`, { token: alice.accessToken })).status, 200);
      // The same for a wrong password: the answer tells nothing of another account's password.
      const guessed = await call(hs, "DELETE", `${V3}/devices/${deviceId}`, { token: alice.accessToken, body: { auth: { ...passwordAuth(bob), password: "nope" } } });
      assertError(guessed, 403, "M_FORBIDDEN");
      // One's own wrong password stays a retryable attempt: 401 with the errcode.
      const wrong = await call(hs, "DELETE", `${V3}/devices/${deviceId}`, { token: alice.accessToken, body: { auth: { ...passwordAuth(alice), password: "nope" } } });
      assertError(wrong, 401, "M_FORBIDDEN");
    });

    // client-server-api#user-interactive-authentication-api: a failed stage answers "the same HTTP status
    // 401 response as above" (with `completed`) plus errcode and error (Sytest's "Can't deactivate account
    // with wrong password" wants error, errcode, params, completed and flows).
    it("carries completed, flows, params and session in the 401 of a failed first attempt", async () => {
      const carol = await registerUser(hs, "audit_carol");
      const failed = await call(hs, "POST", `${V3}/account/deactivate`, {
        token: carol.accessToken,
        body: { auth: { ...passwordAuth(carol), password: "wrong password" } },
      });
      assertError(failed, 401, "M_FORBIDDEN");
      assert.deepEqual(failed.body["completed"], []);
      assert.deepEqual(failed.body["params"], {});
      assert.deepEqual(failed.body["flows"], [{ stages: ["m.login.password"] }]);
      assert.equal(typeof failed.body["session"], "string");
    });

    // modules/push.md#historical-actions: historical actions MUST be ignored, "for instance" by stripping
    // them; Complement's TestPushRuleCacheHealth reads `dont_notify` back, so they are kept (and ignored).
    it("keeps dont_notify in the actions of a rule as the client set them", async () => {
      const dave = await registerUser(hs, "audit_dave");
      const path = `${V3}/pushrules/global/sender/${encodeURIComponent(dave.userId)}`;
      assert.equal((await call(hs, "PUT", path, { token: dave.accessToken, body: { actions: ["dont_notify"] } })).status, 200);
      const all = await call(hs, "GET", `${V3}/pushrules/`, { token: dave.accessToken });
      const sender = (all.body["global"] as { sender: { actions: unknown[] }[] }).sender;
      assert.deepEqual(sender[0]?.actions, ["dont_notify"]);
    });

    // modules/account_data.md#server-behaviour: "Servers must allow clients to read the above event types
    // as normal": m.push_rules is the user's ruleset, server defaults included, before any change too.
    it("serves m.push_rules through GET account_data as GET /pushrules/ does", async () => {
      const erin = await registerUser(hs, "audit_erin");
      const path = `${V3}/user/${encodeURIComponent(erin.userId)}/account_data/m.push_rules`;
      const before = await call(hs, "GET", path, { token: erin.accessToken });
      assert.equal(before.status, 200, JSON.stringify(before.body));
      assert.deepEqual(before.body, (await call(hs, "GET", `${V3}/pushrules/`, { token: erin.accessToken })).body);
      const master = await call(hs, "PUT", `${V3}/pushrules/global/override/.m.rule.master/enabled`, { token: erin.accessToken, body: { enabled: true } });
      assert.equal(master.status, 200);
      const after = await call(hs, "GET", path, { token: erin.accessToken });
      assert.deepEqual(after.body, (await call(hs, "GET", `${V3}/pushrules/`, { token: erin.accessToken })).body);
      const override = (after.body["global"] as { override: { rule_id: string; enabled: boolean }[] }).override;
      assert.equal(override.find((r) => r.rule_id === ".m.rule.master")?.enabled, true);
      // Still refused for writing (405), and room account data is not affected.
      assertError(await call(hs, "PUT", path, { token: erin.accessToken, body: {} }), 405, "M_BAD_JSON");
    });

    // modules/push.md: clients read the push rules from account data in /sync; an initial sync carries
    // them before the user changed any (Complement's TestPushSync).
    it("sends m.push_rules in the account data of an initial sync, defaults included", async () => {
      const hal = await registerUser(hs, "audit_hal");
      const initial = await call(hs, "GET", `${V3}/sync?timeout=0`, { token: hal.accessToken });
      const events = ((initial.body["account_data"] as Record<string, unknown> | undefined)?.["events"] as Array<Record<string, unknown>> | undefined) ?? [];
      const rules = events.find((e) => e["type"] === "m.push_rules")?.["content"] as Record<string, Record<string, Array<{ rule_id: string }>>> | undefined;
      assert.ok(rules?.["global"]?.["override"]?.some((r) => r.rule_id === ".m.rule.master"), "the server's default rules");
      const again = await call(hs, "GET", `${V3}/sync?timeout=0&since=${encodeURIComponent(initial.body["next_batch"] as string)}`, { token: hal.accessToken });
      assert.equal(again.body["account_data"], undefined, "not again in an incremental sync");
    });

    // login.yaml 403: "M_FORBIDDEN: ... or the requested device ID is the same as a cross-signing key ID"
    // (modules/end_to_end_encryption.md#cross-signing: servers MUST not allow such device IDs).
    it("refuses a login whose device_id is the ID of one of the user's cross-signing keys", async () => {
      const frank = await registerUser(hs, "audit_frank");
      const master = crossSigningKeyPair();
      const upload = await call(hs, "POST", `${V3}/keys/device_signing/upload`, {
        token: frank.accessToken,
        body: { master_key: crossSigningKeyObject(frank.userId, "master", master) },
      });
      assert.equal(upload.status, 200, JSON.stringify(upload.body));
      assertError(await login(hs, "audit_frank", frank.password, { device_id: master.publicKeyBase64 }), 403, "M_FORBIDDEN");
      assert.equal((await login(hs, "audit_frank", frank.password, { device_id: "FRANKPHONE" })).status, 200);
    });

    // definitions/client_device.yaml allows more properties; Sytest's 12device_management (GET /devices,
    // GET and PUT /devices/{deviceId}) requires `user_id` in each device, as Synapse serves it.
    it("names the owner (user_id) in GET /devices and GET /devices/{deviceId}", async () => {
      const gina = await registerUser(hs, "audit_gina");
      const one = await call(hs, "GET", `${V3}/devices/${gina.deviceId}`, { token: gina.accessToken });
      assert.equal(one.body["user_id"], gina.userId);
      const all = await call(hs, "GET", `${V3}/devices`, { token: gina.accessToken });
      assert.deepEqual((all.body["devices"] as { user_id: string }[]).map((d) => d.user_id), [gina.userId]);
    });
  });
}
