import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateSigningKey } from "../../../src/core/crypto/ed25519.ts";
import { verifyJsonSignature } from "../../../src/core/crypto/signing.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { TrustedKeyServer } from "../../../src/config/index.ts";
import type { ServerName } from "../../../src/core/identifiers/index.ts";
import { FederationClient } from "../../../src/homeserver/federation/client.ts";
import { ServerDiscovery } from "../../../src/homeserver/federation/discovery.ts";
import { systemResolver } from "../../../src/homeserver/federation/dns.ts";
import { IpRangePolicy } from "../../../src/homeserver/federation/ip-ranges.ts";
import { Keyring, MAX_KEY_VALIDITY_MS, type KeyFetchClient } from "../../../src/homeserver/federation/keyring.ts";
import { ServerKeyPublisher } from "../../../src/homeserver/federation/server-keys.ts";
import { HttpsTransport } from "../../../src/homeserver/federation/transport.ts";
import { ServerKeyStore } from "../../../src/storage/stores/server-keys.ts";
import { openTestDatabase, type TestDatabase } from "../../storage/engines.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { startTlsHomeserver, type TlsHomeserver } from "./tls-homeserver.ts";

// The keyring of a server named "keyring.test", against real Weft homeservers over TLS on loopback:
// hs2 publishes keys, hs3 is a notary.

const DAY = 24 * 60 * 60 * 1000;

describe("Keyring", () => {
  let pki: TestPki;
  let hs2: TlsHomeserver;
  let hs3: TlsHomeserver;
  let testDb: TestDatabase;
  let transport: HttpsTransport;
  let client: FederationClient;
  const ownKey = generateSigningKey("own");
  const ownOld = generateSigningKey("retired");
  const ownKeys = new ServerKeyPublisher("keyring.test", [ownKey], [{ keyId: ownOld.keyId, publicKeyBase64: ownOld.publicKeyBase64, expiredTs: 5000 }]);

  /** The client, recording every request the keyring makes. */
  function counting(): KeyFetchClient & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      get: (destination, path, options) => {
        calls.push(`GET ${destination}${path}`);
        return client.get(destination, path, options);
      },
      post: (destination, path, body, options) => {
        calls.push(`POST ${destination}${path}`);
        return client.post(destination, path, body, options);
      },
    };
  }

  function keyring(fetcher: KeyFetchClient, options: { trustedKeyServers?: TrustedKeyServer[]; now?: () => number } = {}): Keyring {
    return new Keyring({ serverName: "keyring.test", ownKeys, store: new ServerKeyStore(testDb.db), client: fetcher, ...options });
  }

  const keyOf = (hs: TlsHomeserver) => hs.server.services.serverKeys.signingKey;

  before(async () => {
    pki = await createTestPki();
    hs2 = await startTlsHomeserver("sqlite", pki, { host: "localhost" });
    hs3 = await startTlsHomeserver("sqlite", pki, { host: "127.0.0.1" });
    testDb = await openTestDatabase("sqlite");
    transport = new HttpsTransport({
      resolver: systemResolver,
      ipRanges: new IpRangePolicy(["127.0.0.0/8", "::1/128"], ["127.0.0.0/8"]),
      verifyCertificates: true,
      extraCaCertificates: [pki.caCert],
    });
    const discovery = new ServerDiscovery({ resolver: systemResolver, fetchWellKnown: async () => ({ delegated: undefined, cacheMs: 1000 }) });
    client = new FederationClient({ serverName: "keyring.test", signingKey: ownKey, discovery, transport });
  });
  after(async () => {
    await transport.close();
    await testDb.cleanup();
    await hs2.stop();
    await hs3.stop();
    await pki.cleanup();
  });

  it("fetches a server's key from /_matrix/key/v2/server over TLS, then answers from its cache and storage", async () => {
    const fetcher = counting();
    const ring = keyring(fetcher);
    const expected = keyOf(hs2);
    assert.deepEqual(await ring.getVerifyKey(hs2.serverName, expected.keyId, Date.now()), expected.publicKey);
    assert.deepEqual(fetcher.calls, [`GET ${hs2.serverName}/_matrix/key/v2/server`]);
    assert.deepEqual(await ring.getVerifyKey(hs2.serverName, expected.keyId, Date.now()), expected.publicKey);
    // A keyring started afresh (a restart) finds it in storage.
    const restarted = counting();
    assert.deepEqual(await keyring(restarted).getVerifyKey(hs2.serverName, expected.keyId, Date.now()), expected.publicKey);
    assert.deepEqual([fetcher.calls.length, restarted.calls.length], [1, 0]);
  });

  it("fetches once for concurrent lookups of one server", async () => {
    await testDb.db.write("test_forget_keys", (trx) => trx.deleteFrom("server_keys").execute());
    const fetcher = counting();
    const ring = keyring(fetcher);
    const keyId = keyOf(hs2).keyId;
    const found = await Promise.all(Array.from({ length: 5 }, () => ring.getVerifyKey(hs2.serverName, keyId, Date.now())));
    assert.ok(found.every((k) => k !== undefined));
    assert.equal(fetcher.calls.length, 1);
  });

  it("answers undefined for an unknown key, and does not ask again straight away", async () => {
    const fetcher = counting();
    const ring = keyring(fetcher);
    assert.equal(await ring.getVerifyKey(hs2.serverName, "ed25519:nope", Date.now()), undefined);
    assert.equal(await ring.getVerifyKey(hs2.serverName, "ed25519:nope", Date.now()), undefined);
    assert.equal(fetcher.calls.length, 1);
  });

  it("refetches a cached key whose validity is over, or capped at 7 days after it was fetched", async () => {
    const store = new ServerKeyStore(testDb.db);
    const key = keyOf(hs2);
    const now = Date.now();
    const stale = { serverName: hs2.serverName, keyId: key.keyId, verifyKey: key.publicKeyBase64, expiredTs: null, keyJson: "{}" };
    for (const cached of [
      { ...stale, validUntilTs: now - 1000, fetchedTs: now - DAY }, // expired
      { ...stale, validUntilTs: now + 30 * DAY, fetchedTs: now - MAX_KEY_VALIDITY_MS - 1000 }, // valid_until_ts too far ahead
    ]) {
      await store.storeKeys([cached]);
      const fetcher = counting();
      assert.deepEqual(await keyring(fetcher).getVerifyKey(hs2.serverName, key.keyId, now), key.publicKey);
      assert.equal(fetcher.calls.length, 1);
      const refreshed = await store.getKey(hs2.serverName, key.keyId);
      assert.ok(refreshed !== undefined && refreshed.validUntilTs > now && refreshed.fetchedTs >= now);
    }
  });

  it("answers undefined when even a fresh response is not valid until the time asked", async () => {
    const fetcher = counting();
    assert.equal(await keyring(fetcher).getVerifyKey(hs2.serverName, keyOf(hs2).keyId, Date.now() + 3 * DAY), undefined);
    assert.equal(fetcher.calls.length, 1);
  });

  it("answers its own keys without fetching, retired ones only before they expired", async () => {
    const fetcher = counting();
    const ring = keyring(fetcher);
    assert.deepEqual(await ring.getVerifyKey("keyring.test", ownKey.keyId, Date.now() + 365 * DAY), ownKey.publicKey);
    assert.deepEqual(await ring.getVerifyKey("keyring.test", ownOld.keyId, 4000), ownOld.publicKey);
    assert.equal(await ring.getVerifyKey("keyring.test", ownOld.keyId, 6000), undefined);
    assert.equal(await ring.getVerifyKey("keyring.test", "ed25519:unknown", 0), undefined);
    assert.deepEqual(fetcher.calls, []);
  });

  it("serves stored responses for a notary, fetching only when stale, and not again soon after a failure", async () => {
    const fetcher = counting();
    const ring = keyring(fetcher);
    const responses = await ring.getServerKeyResponses(hs2.serverName, Date.now());
    assert.deepEqual(responses.map((r) => r["server_name"]), [hs2.serverName]);
    assert.deepEqual(fetcher.calls, []); // stored by the tests above, and fresh
    await ring.getServerKeyResponses(hs2.serverName, Date.now() + 3 * DAY); // asks for more than is stored
    assert.equal(fetcher.calls.length, 1);
    assert.deepEqual(await ring.getServerKeyResponses("localhost:1", Date.now()), []);
    assert.deepEqual(await ring.getServerKeyResponses("localhost:1", Date.now()), []);
    assert.equal(fetcher.calls.length, 2);
  });

  describe("through a notary", () => {
    const notary = (verifyKeys: Record<string, string>): TrustedKeyServer => ({
      serverName: hs3.serverName as ServerName,
      verifyKeys,
      acceptKeysInsecurely: false,
    });

    it("asks the trusted key server first, and checks its signature with the configured key", async () => {
      await testDb.db.write("test_forget_keys", (trx) => trx.deleteFrom("server_keys").execute());
      const fetcher = counting();
      const ring = keyring(fetcher, { trustedKeyServers: [notary({ [keyOf(hs3).keyId]: keyOf(hs3).publicKeyBase64 })] });
      assert.deepEqual(await ring.getVerifyKey(hs2.serverName, keyOf(hs2).keyId, Date.now()), keyOf(hs2).publicKey);
      assert.deepEqual(fetcher.calls, [`POST ${hs3.serverName}/_matrix/key/v2/query`]);
    });

    it("ignores a notary answer not signed by the configured key, and asks the server itself", async () => {
      await testDb.db.write("test_forget_keys", (trx) => trx.deleteFrom("server_keys").execute());
      const fetcher = counting();
      const ring = keyring(fetcher, { trustedKeyServers: [notary({ [keyOf(hs3).keyId]: generateSigningKey().publicKeyBase64 })] });
      assert.deepEqual(await ring.getVerifyKey(hs2.serverName, keyOf(hs2).keyId, Date.now()), keyOf(hs2).publicKey);
      assert.deepEqual(fetcher.calls, [`POST ${hs3.serverName}/_matrix/key/v2/query`, `GET ${hs2.serverName}/_matrix/key/v2/server`]);
    });
  });

  describe("the notary endpoints", () => {
    function assertSignedBy(response: JsonObject, hs: TlsHomeserver): void {
      const key = keyOf(hs);
      assert.ok(verifyJsonSignature(response, hs.serverName, key.keyId, key.publicKey), `signed by ${hs.serverName}`);
    }

    it("GET /_matrix/key/v2/query/{serverName} (and /{keyId}) answers the server's keys signed by it and the notary", async () => {
      for (const path of [
        `/_matrix/key/v2/query/${encodeURIComponent(hs2.serverName)}`,
        `/_matrix/key/v2/query/${encodeURIComponent(hs2.serverName)}/${encodeURIComponent(keyOf(hs2).keyId)}`,
      ]) {
        const answer = await client.get(hs3.serverName, path, { query: { minimum_valid_until_ts: Date.now() } });
        const keys = answer["server_keys"] as JsonObject[];
        assert.equal(keys.length, 1);
        const response = keys[0] as JsonObject;
        assert.equal(response["server_name"], hs2.serverName);
        assert.equal((response["verify_keys"] as Record<string, { key: string }>)[keyOf(hs2).keyId]?.key, keyOf(hs2).publicKeyBase64);
        assertSignedBy(response, hs2);
        assertSignedBy(response, hs3);
      }
    });

    it("POST /_matrix/key/v2/query answers several servers, itself included, leaving out the unreachable", async () => {
      const answer = await client.post(hs3.serverName, "/_matrix/key/v2/query", {
        server_keys: {
          [hs2.serverName]: { [keyOf(hs2).keyId]: { minimum_valid_until_ts: Date.now() } },
          [hs3.serverName]: {},
          "localhost:1": {},
          "not a server name": {},
        },
      });
      const keys = answer["server_keys"] as JsonObject[];
      assert.deepEqual(keys.map((k) => k["server_name"]).sort(), [hs2.serverName, hs3.serverName].sort());
      for (const response of keys) assertSignedBy(response, hs3);
      assert.deepEqual(await client.post(hs3.serverName, "/_matrix/key/v2/query", { server_keys: {} }), { server_keys: [] });
    });

    it("refuses malformed queries with the spec's errors", async () => {
      await assert.rejects(client.post(hs3.serverName, "/_matrix/key/v2/query", {}), { status: 400, errcode: "M_MISSING_PARAM" });
      await assert.rejects(
        client.get(hs3.serverName, `/_matrix/key/v2/query/${encodeURIComponent(hs2.serverName)}`, { query: { minimum_valid_until_ts: "soon" } }),
        { status: 400, errcode: "M_INVALID_PARAM" },
      );
    });
  });
});
