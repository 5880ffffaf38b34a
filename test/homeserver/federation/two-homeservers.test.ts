import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateSigningKey } from "../../../src/core/crypto/ed25519.ts";
import type { AnyEndpoint } from "../../../src/http/endpoint.ts";
import { weftVersion } from "../../../src/homeserver/api/federation/version.ts";
import { systemResolver } from "../../../src/homeserver/federation/dns.ts";
import { IpRangePolicy } from "../../../src/homeserver/federation/ip-ranges.ts";
import { signRequest } from "../../../src/homeserver/federation/request-auth.ts";
import { HttpsTransport } from "../../../src/homeserver/federation/transport.ts";
import { engines } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { startTlsHomeserver, type TlsHomeserver } from "./tls-homeserver.ts";

// Two Weft homeservers federating over TLS on loopback: one calls the other, signing its requests;
// the other verifies them with the first one's key, fetched over TLS.

/** Endpoints with X-Matrix auth, served beside hs B's own: they answer who called. */
const whoamiEndpoints: AnyEndpoint[] = [
  {
    name: "test.federation_whoami",
    method: "GET",
    paths: ["/_matrix/federation/v1/test_whoami"],
    resource: "federation",
    auth: "federation",
    handler: async (req) => ({ origin: req.origin ?? null }),
  },
  {
    name: "test.federation_echo",
    method: "PUT",
    paths: ["/_matrix/federation/v1/test_echo/:id"],
    resource: "federation",
    auth: "federation",
    handler: async (req) => ({ origin: req.origin ?? null, id: req.params["id"] ?? null, body: req.body as never }),
  },
];

for (const engine of engines) {
  describe(`two homeservers federating [${engine}]`, () => {
    let pki: TestPki;
    let a: TlsHomeserver;
    let b: TlsHomeserver;
    let raw: HttpsTransport;

    before(async () => {
      pki = await createTestPki();
      a = await startTlsHomeserver(engine, pki, { host: "localhost" });
      b = await startTlsHomeserver(engine, pki, { host: "127.0.0.1", extraEndpoints: whoamiEndpoints });
      raw = new HttpsTransport({
        resolver: systemResolver,
        ipRanges: new IpRangePolicy([], []),
        verifyCertificates: true,
        extraCaCertificates: [pki.caCert],
      });
    });
    after(async () => {
      await raw.close();
      await a.stop();
      await b.stop();
      await pki.cleanup();
    });

    /** A request to B as sent, with whatever Authorization header a test makes. */
    async function sendToB(path: string, authorization: string | undefined) {
      const response = await raw.request({
        target: { host: "127.0.0.1", port: b.port },
        hostHeader: b.serverName,
        method: "GET",
        path,
        headers: authorization === undefined ? {} : { authorization },
        timeoutMs: 10_000,
        maxResponseBytes: 100_000,
      });
      return { status: response.status, body: JSON.parse(response.body.toString("utf8")) as Record<string, unknown> };
    }

    it("answers GET /_matrix/federation/v1/version", async () => {
      const answer = await a.server.services.federation.client.get(b.serverName, "/_matrix/federation/v1/version");
      assert.deepEqual(answer, { server: { name: "Weft", version: weftVersion() } });
    });

    it("authenticates A's signed requests, fetching A's key over TLS", async () => {
      const client = a.server.services.federation.client;
      assert.deepEqual(await client.get(b.serverName, "/_matrix/federation/v1/test_whoami"), { origin: a.serverName });
      assert.deepEqual(await client.put(b.serverName, "/_matrix/federation/v1/test_echo/a%20b", { hello: ["world"] }), {
        origin: a.serverName,
        id: "a b",
        body: { hello: ["world"] },
      });
      const stored = await b.server.services.db.read("test_read_keys", (trx) =>
        trx.selectFrom("server_keys").select(["server_name", "key_id"]).execute(),
      );
      assert.deepEqual(stored, [{ server_name: a.serverName, key_id: a.server.services.serverKeys.signingKey.keyId }]);
    });

    it("refuses requests signed for another destination, forged, or unsigned, with 401 M_UNAUTHORIZED", async () => {
      const path = "/_matrix/federation/v1/test_whoami";
      const key = a.server.services.serverKeys.signingKey;
      const forger = generateSigningKey(key.version);
      for (const authorization of [
        signRequest({ method: "GET", uri: path, origin: a.serverName, destination: "elsewhere.test" }, key),
        signRequest({ method: "GET", uri: path, origin: a.serverName, destination: b.serverName }, forger),
        signRequest({ method: "GET", uri: `${path}?x=1`, origin: a.serverName, destination: b.serverName }, key),
        undefined,
        "X-Matrix garbage",
      ]) {
        const { status, body } = await sendToB(path, authorization);
        assert.equal(status, 401, String(authorization));
        assert.equal(body["errcode"], "M_UNAUTHORIZED");
      }
      // The same request properly signed passes, so the refusals above were for the reasons given.
      const ok = await sendToB(path, signRequest({ method: "GET", uri: path, origin: a.serverName, destination: b.serverName }, key));
      assert.deepEqual(ok, { status: 200, body: { origin: a.serverName } });
    });
  });
}
