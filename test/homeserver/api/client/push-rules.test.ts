import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { engines } from "../../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerUser, type TestUser } from "./helpers.ts";

interface Rule {
  rule_id: string;
  enabled: boolean;
  default: boolean;
  actions: unknown[];
  pattern?: string;
}
type Ruleset = Record<"override" | "content" | "room" | "sender" | "underride", Rule[]>;

for (const engine of engines) {
  describe(`push rules API (pushrules.yaml) [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    const rules = "/_matrix/client/v3/pushrules";
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("serves the server defaults to a new user under /pushrules/ and /pushrules/global/", async () => {
      const all = await call(hs, "GET", `${rules}/`, { token: alice.accessToken });
      assert.equal(all.status, 200);
      const global = (all.body as { global: Ruleset }).global;
      assert.equal(global.override[0]?.rule_id, ".m.rule.master");
      assert.equal(global.underride.at(-1)?.rule_id, ".m.rule.encrypted");
      const invite = global.override.find((r) => r.rule_id === ".m.rule.invite_for_me") as unknown as { conditions: { pattern: string }[] };
      assert.equal(invite.conditions[2]?.pattern, alice.userId);
      const alone = await call(hs, "GET", `${rules}/global/`, { token: alice.accessToken });
      assert.deepEqual(alone.body, global);
      assertError(await call(hs, "GET", `${rules}/`), 401, "M_MISSING_TOKEN");
    });

    it("creates, reads, orders, updates and deletes rules, and each change reaches /sync as m.push_rules", async () => {
      const token = bob.accessToken;
      const first = await call(hs, "GET", "/_matrix/client/v3/sync?timeout=0", { token });
      const since = (first.body as { next_batch: string }).next_batch;
      const cake = `${rules}/global/content/SSByZWFsbHkgbGlrZSBjYWtl`;
      assert.equal((await call(hs, "PUT", cake, { token, body: { pattern: "cake", actions: ["notify", { set_tweak: "sound", value: "cakealarm.wav" }] } })).status, 200);
      const lie = `${rules}/global/content/U3BvbmdlIGNha2UgaXMgYmVzdA?before=SSByZWFsbHkgbGlrZSBjYWtl`;
      assert.equal((await call(hs, "PUT", lie, { token, body: { pattern: "cake*lie", actions: ["notify"] } })).status, 200);
      const content = ((await call(hs, "GET", `${rules}/global/`, { token })).body as Ruleset).content;
      assert.deepEqual(content.map((r) => r.rule_id), ["U3BvbmdlIGNha2UgaXMgYmVzdA", "SSByZWFsbHkgbGlrZSBjYWtl"]);
      assert.deepEqual((await call(hs, "GET", cake, { token })).body, {
        rule_id: "SSByZWFsbHkgbGlrZSBjYWtl",
        default: false,
        enabled: true,
        pattern: "cake",
        actions: ["notify", { set_tweak: "sound", value: "cakealarm.wav" }],
      });
      const room = `${rules}/global/room/${encodeURIComponent("!dj234r78wl45Gh4D:matrix.org")}`;
      assert.equal((await call(hs, "PUT", room, { token, body: { actions: [] } })).status, 200);
      assert.equal((await call(hs, "PUT", `${room}/enabled`, { token, body: { enabled: false } })).status, 200);
      assert.deepEqual((await call(hs, "GET", `${room}/enabled`, { token })).body, { enabled: false });
      assert.equal((await call(hs, "PUT", `${room}/actions`, { token, body: { actions: ["notify"] } })).status, 200);
      assert.deepEqual((await call(hs, "GET", `${room}/actions`, { token })).body, { actions: ["notify"] });
      assert.equal((await call(hs, "DELETE", room, { token })).status, 200);
      assertError(await call(hs, "GET", room, { token }), 404, "M_NOT_FOUND");
      // Default rules: enabled and actions can change, the rule cannot be replaced or deleted.
      const master = `${rules}/global/override/.m.rule.master`;
      assert.equal((await call(hs, "PUT", `${master}/enabled`, { token, body: { enabled: true } })).status, 200);
      assert.deepEqual((await call(hs, "GET", `${master}/enabled`, { token })).body, { enabled: true });
      assertError(await call(hs, "PUT", master, { token, body: { actions: [] } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "DELETE", master, { token }), 400, "M_INVALID_PARAM");

      const next = await call(hs, "GET", `/_matrix/client/v3/sync?timeout=0&since=${encodeURIComponent(since)}`, { token });
      const events = (next.body as { account_data?: { events: { type: string; content: { global: Ruleset } }[] } }).account_data?.events ?? [];
      const pushRules = events.find((e) => e.type === "m.push_rules");
      assert.ok(pushRules, "m.push_rules is in account_data");
      assert.equal(pushRules.content.global.override[0]?.enabled, true);
      assert.deepEqual(pushRules.content.global.content.map((r) => r.rule_id), ["U3BvbmdlIGNha2UgaXMgYmVzdA", "SSByZWFsbHkgbGlrZSBjYWtl"]);
      // Another user's rules are their own.
      const alices = ((await call(hs, "GET", `${rules}/global/`, { token: alice.accessToken })).body as Ruleset).content;
      assert.deepEqual(alices, []);
    });

    it("answers the spec's errors for bad kinds, bad IDs, unknown anchors and bad bodies", async () => {
      const token = alice.accessToken;
      assertError(await call(hs, "GET", `${rules}/global/nonsense/x`, { token }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "GET", `${rules}/global/override/nope`, { token }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "PUT", `${rules}/global/override/.mine`, { token, body: { actions: [] } }), 400, "M_INVALID_PARAM");
      assertError(await call(hs, "PUT", `${rules}/global/override/x?after=nope`, { token, body: { actions: [] } }), 400, "M_UNKNOWN");
      assertError(await call(hs, "PUT", `${rules}/global/override/x`, { token, body: { actions: "notify" } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", `${rules}/global/content/x`, { token, body: { actions: [] } }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "PUT", `${rules}/global/override/nope/enabled`, { token, body: { enabled: true } }), 404, "M_NOT_FOUND");
      assertError(await call(hs, "PUT", `${rules}/global/override/.m.rule.master/enabled`, { token, body: { enabled: "yes" } }), 400, "M_BAD_JSON");
      assertError(await call(hs, "PUT", `${rules}/global/override/.m.rule.master/actions`, { token, body: {} }), 400, "M_MISSING_PARAM");
      assertError(await call(hs, "PUT", `${rules}/global/override/x`, { token, rawBody: "nope" }), 400, "M_NOT_JSON");
      // Nothing of the refused changes was stored.
      const override = ((await call(hs, "GET", `${rules}/global/`, { token })).body as Ruleset).override;
      assert.ok(override.every((r) => r.rule_id.startsWith(".")));
    });
  });
}
