// OpenID tokens (client-server-api#openid): a client asks for one (openid.yaml request_token) and
// a third party exchanges it for the user's ID (server-server openid.yaml /openid/userinfo),
// without X-Matrix authorization; unknown and expired tokens are 401 M_UNKNOWN_TOKEN.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OpenidTokenStore } from "../../../src/storage/stores/openid-tokens.ts";
import { OPENID_TOKEN_LIFETIME_MS, OpenidTokens } from "../../../src/homeserver/users/openid-tokens.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseConfigText, type HomeserverConfig } from "../../../src/config/index.ts";
import { startHomeserver } from "../../../src/homeserver/server.ts";
import { createTestStorage, engines, forEachEngine } from "../../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "../harness.ts";
import { ACCOUNTS_YAML, assertError, call, registerUser, type TestUser } from "../api/client/helpers.ts";

const enc = encodeURIComponent;
const userinfo = (token: string): string => `/_matrix/federation/v1/openid/userinfo?access_token=${enc(token)}`;

for (const engine of engines) {
  describe(`OpenID tokens over HTTP [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: ACCOUNTS_YAML });
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
    });
    after(() => hs.stop());

    it("gives a token that a third party exchanges for the user's ID, without X-Matrix", async () => {
      const reply = await call(hs, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`, { token: alice.accessToken, body: {} });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(Object.keys(reply.body).sort(), ["access_token", "expires_in", "matrix_server_name", "token_type"]);
      assert.equal(reply.body["token_type"], "Bearer");
      assert.equal(reply.body["matrix_server_name"], "test.local");
      assert.equal(reply.body["expires_in"], 3600);
      const token = reply.body["access_token"] as string;
      assert.ok(token.length >= 32);
      const info = await call(hs, "GET", userinfo(token));
      assert.equal(info.status, 200);
      assert.deepEqual(info.body, { sub: alice.userId });
      // A second token is another token; both work.
      const second = await call(hs, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`, { token: alice.accessToken, body: {} });
      assert.notEqual(second.body["access_token"], token);
      assert.deepEqual((await call(hs, "GET", userinfo(second.body["access_token"] as string))).body, { sub: alice.userId });
    });

    it("is good for nothing else, and an access token is not an OpenID token", async () => {
      const reply = await call(hs, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`, { token: alice.accessToken, body: {} });
      const token = reply.body["access_token"] as string;
      assertError(await call(hs, "GET", "/_matrix/client/v3/account/whoami", { token }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`, { token, body: {} }), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "GET", userinfo(alice.accessToken)), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "GET", userinfo("wfo_unknown")), 401, "M_UNKNOWN_TOKEN");
      assertError(await call(hs, "GET", "/_matrix/federation/v1/openid/userinfo"), 400, "M_MISSING_PARAM");
    });

    it("is only for the user who asks, with an access token", async () => {
      assertError(await call(hs, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`, { token: bob.accessToken, body: {} }), 403, "M_FORBIDDEN");
      assertError(await call(hs, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`, { body: {} }), 401, "M_MISSING_TOKEN");
      assertError(await call(hs, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/openid/request_token`, { token: alice.accessToken, rawBody: "[]" }), 400, "M_BAD_JSON");
    });
  });
}

forEachEngine("OpenID tokens expire", (getDb) => {
  it("answers M_UNKNOWN_TOKEN once the token's lifetime is over, and forgets expired tokens", async () => {
    let now = 1_800_000_000_000;
    const tokens = new OpenidTokens(new OpenidTokenStore(getDb()), "example.org", () => now);
    const { access_token: token } = (await tokens.requestToken("@a:example.org", "@a:example.org")) as { access_token: string };
    now += OPENID_TOKEN_LIFETIME_MS - 1;
    assert.deepEqual(await tokens.userInfo(token), { sub: "@a:example.org" });
    now += 1;
    await assert.rejects(tokens.userInfo(token), { errcode: "M_UNKNOWN_TOKEN", status: 401 });
    // A new token clears the expired ones out of storage.
    await tokens.requestToken("@b:example.org", "@b:example.org");
    const rows = await getDb().read("count", (db) => db.selectFrom("openid_tokens").select("user_id").execute());
    assert.deepEqual(rows.map((r) => r.user_id), ["@b:example.org"]);
  });
});

for (const engine of engines) {
  describe(`an openid listener [${engine}]`, () => {
    it("serves /openid/userinfo and nothing else of federation", async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "weft-openid-"));
      const storage = await createTestStorage(engine);
      const yaml = [
        "server_name: test.local",
        "listeners:",
        "  - port: 1",
        "    bind_addresses: ['127.0.0.1']",
        "    type: http",
        "    resources: [{ names: [client, openid] }]",
        "log_level: silent",
        ACCOUNTS_YAML,
      ].join("\n");
      const { config: parsed } = parseConfigText(yaml, join(dataDir, "homeserver.yaml"));
      const config: HomeserverConfig = { ...parsed, listeners: parsed.listeners.map((l) => ({ ...l, port: 0 })), database: storage.config as HomeserverConfig["database"] };
      const server = await startHomeserver(config, pino({ level: "silent" }));
      const hs = { baseUrl: `http://127.0.0.1:${server.addresses[0]?.port}` } as TestHomeserver;
      try {
        const carol = await registerUser(hs, "carol");
        const reply = await call(hs, "POST", `/_matrix/client/v3/user/${enc(carol.userId)}/openid/request_token`, { token: carol.accessToken, body: {} });
        assert.deepEqual((await call(hs, "GET", userinfo(reply.body["access_token"] as string))).body, { sub: carol.userId });
        assertError(await call(hs, "GET", "/_matrix/federation/v1/version"), 404, "M_UNRECOGNIZED");
      } finally {
        await server.close();
        await storage.drop();
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
}
