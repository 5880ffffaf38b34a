import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeBase64 } from "../../src/core/crypto/base64.ts";
import { verifyJsonSignature } from "../../src/core/crypto/signing.ts";
import type { JsonObject } from "../../src/core/json.ts";
import { sharedSecretRegistrationMac } from "../../src/homeserver/users/shared-secret.ts";
import { engines } from "../storage/engines.ts";
import { startTestHomeserver, type TestHomeserver } from "./harness.ts";

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

for (const engine of engines) {
  describe(`homeserver foundation [${engine}]`, () => {
    let hs: TestHomeserver;
    before(async () => {
      hs = await startTestHomeserver(engine, {
        yaml: ["registration_shared_secret: s3cret", "public_baseurl: https://matrix.test.local/", "serve_server_wellknown: true"].join("\n"),
      });
    });
    after(async () => hs.stop());

    it("answers /_matrix/client/versions with v1.x versions", async () => {
      const body = await json(await fetch(`${hs.baseUrl}/_matrix/client/versions`));
      const versions = body["versions"] as string[];
      assert.ok(versions.includes("v1.1") && versions.includes("v1.19"));
      assert.deepEqual(body["unstable_features"], {});
    });

    it("publishes its signing key, signed by itself, at both key paths", async () => {
      for (const path of ["/_matrix/key/v2/server", "/_matrix/key/v2/server/ed25519:whatever"]) {
        const body = (await json(await fetch(hs.baseUrl + path))) as JsonObject;
        assert.equal(body["server_name"], "test.local");
        const verifyKeys = body["verify_keys"] as Record<string, { key: string }>;
        const [keyId, { key }] = Object.entries(verifyKeys)[0] as [string, { key: string }];
        assert.match(keyId, /^ed25519:/);
        const publicKey = decodeBase64(key);
        assert.ok(publicKey !== undefined && publicKey.length === 32);
        assert.ok(verifyJsonSignature(body, "test.local", keyId, publicKey));
        assert.ok((body["valid_until_ts"] as number) > Date.now() + 60 * 60 * 1000, "valid for more than an hour");
      }
    });

    it("serves the .well-known documents from config", async () => {
      const client = await json(await fetch(`${hs.baseUrl}/.well-known/matrix/client`));
      assert.deepEqual(client, { "m.homeserver": { base_url: "https://matrix.test.local/" } });
      const server = await json(await fetch(`${hs.baseUrl}/.well-known/matrix/server`));
      assert.deepEqual(server, { "m.server": "matrix.test.local:443" });
    });

    it("answers the health check", async () => {
      const res = await fetch(`${hs.baseUrl}/health`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "OK");
    });

    it("refuses bad input with the spec's errors, never a 500", async () => {
      const notJson = await fetch(`${hs.baseUrl}/_synapse/admin/v1/register`, { method: "POST", body: "{nope" });
      assert.equal(notJson.status, 400);
      assert.equal((await json(notJson))["errcode"], "M_NOT_JSON");
      const badJson = await fetch(`${hs.baseUrl}/_synapse/admin/v1/register`, {
        method: "POST",
        body: JSON.stringify({ nonce: 1, username: "a", password: "b", mac: "c" }),
      });
      assert.equal(badJson.status, 400);
      assert.equal((await json(badJson))["errcode"], "M_BAD_JSON");
      const tooLarge = await fetch(`${hs.baseUrl}/_synapse/admin/v1/register`, {
        method: "POST",
        body: JSON.stringify({ pad: "x".repeat(hs.config.maxRequestSize + 1) }),
      });
      assert.equal(tooLarge.status, 413);
      assert.equal((await json(tooLarge))["errcode"], "M_TOO_LARGE");
      const unknown = await fetch(`${hs.baseUrl}/_matrix/client/v3/no/such/endpoint`);
      assert.equal(unknown.status, 404);
      assert.equal((await json(unknown))["errcode"], "M_UNRECOGNIZED");
      const wrongMethod = await fetch(`${hs.baseUrl}/_matrix/client/versions`, { method: "DELETE" });
      assert.equal(wrongMethod.status, 405);
      assert.equal((await json(wrongMethod))["errcode"], "M_UNRECOGNIZED");
    });

    describe("shared-secret registration (/_synapse/admin/v1/register)", () => {
      async function nonce(): Promise<string> {
        return (await json(await fetch(`${hs.baseUrl}/_synapse/admin/v1/register`)))["nonce"] as string;
      }
      async function register(fields: { nonce: string; username: string; password: string; admin: boolean }, secret = "s3cret") {
        const mac = sharedSecretRegistrationMac(secret, fields);
        return fetch(`${hs.baseUrl}/_synapse/admin/v1/register`, {
          method: "POST",
          body: JSON.stringify({ ...fields, mac }),
        });
      }

      it("registers a user whose MAC is right, and the token it returns authenticates", async () => {
        const res = await register({ nonce: await nonce(), username: "alice", password: "correct horse", admin: true });
        assert.equal(res.status, 200);
        const body = await json(res);
        assert.equal(body["user_id"], "@alice:test.local");
        assert.equal(body["home_server"], "test.local");
        assert.equal(typeof body["device_id"], "string");
        const token = body["access_token"] as string;
        assert.ok(Buffer.from(token.replace(/^wft_/, ""), "base64url").length >= 16, "at least 128 bits");
        const user = await hs.server.services.users.authenticateAccessToken(token);
        assert.equal(user.userId, "@alice:test.local");
        assert.equal(user.deviceId, body["device_id"]);
      });

      it("refuses a wrong MAC with 403 and never accepts a nonce twice", async () => {
        const n = await nonce();
        const wrong = await register({ nonce: n, username: "mallory", password: "pw", admin: false }, "not-the-secret");
        assert.equal(wrong.status, 403);
        assert.equal((await json(wrong))["errcode"], "M_FORBIDDEN");
        const replay = await register({ nonce: n, username: "mallory", password: "pw", admin: false });
        assert.equal(replay.status, 400, "the nonce was used up by the failed attempt");
        const unknown = await register({ nonce: "made-up", username: "mallory", password: "pw", admin: false });
        assert.equal(unknown.status, 400);
      });

      it("refuses a taken user ID with M_USER_IN_USE and an invalid one with M_INVALID_USERNAME", async () => {
        assert.equal((await register({ nonce: await nonce(), username: "bob", password: "pw", admin: false })).status, 200);
        const taken = await register({ nonce: await nonce(), username: "bob", password: "pw2", admin: false });
        assert.equal(taken.status, 400);
        assert.equal((await json(taken))["errcode"], "M_USER_IN_USE");
        const invalid = await register({ nonce: await nonce(), username: "Bob Smith", password: "pw", admin: false });
        assert.equal(invalid.status, 400);
        assert.equal((await json(invalid))["errcode"], "M_INVALID_USERNAME");
      });
    });
  });
}

describe("shared-secret registration when no secret is configured", () => {
  let hs: TestHomeserver;
  before(async () => {
    hs = await startTestHomeserver("sqlite");
  });
  after(async () => hs.stop());

  it("is refused", async () => {
    const res = await fetch(`${hs.baseUrl}/_synapse/admin/v1/register`);
    assert.equal(res.status, 400);
    assert.equal((await json(res))["errcode"], "M_FORBIDDEN");
  });
});

describe("graceful shutdown", () => {
  it("finishes a request accepted before close, then stops listening", async () => {
    const hs = await startTestHomeserver("sqlite", { yaml: "registration_shared_secret: s3cret" });
    const nonceRes = await fetch(`${hs.baseUrl}/_synapse/admin/v1/register`);
    const { nonce } = (await nonceRes.json()) as { nonce: string };
    const fields = { nonce, username: "carol", password: "pw", admin: false };
    // Registration hashes the password (tens of milliseconds): close once the handler is in it. (A
    // fixed delay raced a loaded machine: a connection whose request was not read yet is idle, and reset.)
    const users = hs.server.services.users;
    const register = users.register.bind(users);
    let handlerReached!: () => void;
    const reached = new Promise<void>((resolve) => (handlerReached = resolve));
    users.register = (...args) => {
      handlerReached();
      return register(...args);
    };
    const inFlight = fetch(`${hs.baseUrl}/_synapse/admin/v1/register`, {
      method: "POST",
      body: JSON.stringify({ ...fields, mac: sharedSecretRegistrationMac("s3cret", fields) }),
    });
    await reached;
    const stopping = hs.stop();
    const res = await inFlight;
    assert.equal(res.status, 200);
    await stopping;
    await assert.rejects(fetch(`${hs.baseUrl}/_matrix/client/versions`));
  });
});

describe("federation request authentication", () => {
  it("answers an unsigned request 401 M_UNAUTHORIZED before looking at its body", async () => {
    const hs = await startTestHomeserver("sqlite", { resources: "federation" });
    try {
      // invites-v2.yaml's body needs room_version and event: this one has neither, and no X-Matrix header.
      const res = await fetch(`${hs.baseUrl}/_matrix/federation/v2/invite/${encodeURIComponent("!r:test.local")}/${encodeURIComponent("$e")}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as Record<string, unknown>)["errcode"], "M_UNAUTHORIZED");
    } finally {
      await hs.stop();
    }
  });
});

describe("a federation listener", () => {
  it("serves the server's keys and OpenID userinfo beside federation, as Synapse's does, and no client API", async () => {
    const hs = await startTestHomeserver("sqlite", { resources: "federation" });
    try {
      assert.equal((await fetch(`${hs.baseUrl}/_matrix/key/v2/server`)).status, 200);
      assert.equal((await fetch(`${hs.baseUrl}/_matrix/federation/v1/version`)).status, 200);
      assert.equal((await fetch(`${hs.baseUrl}/_matrix/client/versions`)).status, 404);
      // Synapse's `federation` implies `media` too.
      assert.equal((await fetch(`${hs.baseUrl}/_matrix/client/v1/media/config`)).status, 401);
    } finally {
      await hs.stop();
    }
  });
});

describe("a client listener", () => {
  it("serves the media repository too, as Synapse's `client` resource implies `media`", async () => {
    const hs = await startTestHomeserver("sqlite", { resources: "client" });
    try {
      const reply = await fetch(`${hs.baseUrl}/_matrix/client/v1/media/config`);
      assert.equal(reply.status, 401);
      assert.equal(((await reply.json()) as { errcode: string }).errcode, "M_MISSING_TOKEN");
      assert.equal((await fetch(`${hs.baseUrl}/_matrix/federation/v1/version`)).status, 404);
    } finally {
      await hs.stop();
    }
  });
});
