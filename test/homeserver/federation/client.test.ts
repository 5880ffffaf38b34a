import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateSigningKey } from "../../../src/core/crypto/ed25519.ts";
import { FederationClient, FederationRequestError, encodeQuery } from "../../../src/homeserver/federation/client.ts";
import { ServerDiscovery } from "../../../src/homeserver/federation/discovery.ts";
import type { DnsResolver, SrvRecord } from "../../../src/homeserver/federation/dns.ts";
import { IpRangePolicy, unmapIPv4 } from "../../../src/homeserver/federation/ip-ranges.ts";
import { FederationAuthenticator } from "../../../src/homeserver/federation/request-auth.ts";
import { HttpsTransport, TransportError } from "../../../src/homeserver/federation/transport.ts";
import { fetchWellKnown } from "../../../src/homeserver/federation/well-known.ts";
import { DEFAULT_IP_RANGE_BLOCKLIST } from "../../../src/config/index.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { json, startStubServer, type StubServer } from "./stub-server.ts";

describe("IpRangePolicy", () => {
  it("blocks listed ranges unless allowed, IPv4-mapped IPv6 addresses as their IPv4 address", () => {
    const policy = new IpRangePolicy([...DEFAULT_IP_RANGE_BLOCKLIST, "0.0.0.0/32", "::/128"]);
    for (const blocked of ["127.0.0.1", "10.1.2.3", "192.168.0.1", "::1", "fe80::1", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:a01:203"]) {
      assert.ok(policy.isBlocked(blocked), blocked);
    }
    for (const open of ["8.8.8.8", "2001:4860::8888", "::ffff:8.8.8.8"]) assert.ok(!policy.isBlocked(open), open);
    const allowing = new IpRangePolicy(DEFAULT_IP_RANGE_BLOCKLIST, ["127.0.0.0/8"]);
    assert.ok(!allowing.isBlocked("127.0.0.1"));
    assert.ok(!allowing.isBlocked("::ffff:127.0.0.1"));
    assert.ok(allowing.isBlocked("::1"));
    assert.ok(policy.isBlocked("not-an-address"));
  });

  it("unmaps IPv4-mapped addresses in their spellings", () => {
    assert.equal(unmapIPv4("::ffff:1.2.3.4"), "1.2.3.4");
    assert.equal(unmapIPv4("::FFFF:0102:0304"), "1.2.3.4");
    assert.equal(unmapIPv4("0:0:0:0:0:ffff:1.2.3.4"), "1.2.3.4");
    assert.equal(unmapIPv4("::1"), undefined);
    assert.equal(unmapIPv4("64:ff9b::1.2.3.4"), undefined);
    assert.equal(unmapIPv4("1.2.3.4"), undefined);
  });
});

describe("encodeQuery", () => {
  it("writes repeated and escaped parameters, or nothing", () => {
    assert.equal(encodeQuery(undefined), "");
    assert.equal(encodeQuery({ a: undefined }), "");
    assert.equal(encodeQuery({ v: ["1", "2"], limit: 10, q: "a b&c" }), "?v=1&v=2&limit=10&q=a+b%26c");
  });
});

describe("FederationClient over HTTPS (stub server, stub DNS)", () => {
  const origin = "origin.test";
  const signingKey = generateSigningKey("k1");
  let pki: TestPki;
  let stub: StubServer;
  let untrusted: StubServer;
  let transport: HttpsTransport;
  let client: FederationClient;
  let srv: Record<string, SrvRecord[]>;

  const resolver: DnsResolver = {
    async lookup(hostname) {
      if (hostname === "nowhere.test") throw Object.assign(new Error("no such name"), { code: "ENOTFOUND" });
      return [{ address: "127.0.0.1", family: 4 }];
    },
    async resolveSrv(question) {
      return srv[question] ?? [];
    },
  };

  function makeClient(policy: IpRangePolicy, extraCa: string[] = [pki.caCert], verifyCertificates = true) {
    const t = new HttpsTransport({ resolver, ipRanges: policy, verifyCertificates, extraCaCertificates: extraCa });
    const discovery = new ServerDiscovery({ resolver, fetchWellKnown: (host) => fetchWellKnown(t, host, { port: stub.port }) });
    return { transport: t, client: new FederationClient({ serverName: origin, signingKey, discovery, transport: t }) };
  }

  before(async () => {
    pki = await createTestPki();
    stub = await startStubServer(pki.issue(["delegating.test", "delegated.test", "srv.test", "direct.test", "blocked.test"], ["127.0.0.1"]), () => undefined);
    const foreign = await createTestPki(); // a CA nobody trusts
    untrusted = await startStubServer(foreign.issue(["untrusted.test"]), (_req, res) => json(res, 200, {}));
    await foreign.cleanup();
    ({ transport, client } = makeClient(new IpRangePolicy(["127.0.0.0/8"], ["127.0.0.0/8"])));
  });
  after(async () => {
    await transport.close();
    await stub.close();
    await untrusted.close();
    await pki.cleanup();
  });

  it("follows a well-known delegation, with the delegated Host and SNI, and signs for the original name", async () => {
    srv = {};
    stub.requests.length = 0;
    stub.handler = (req, res) => {
      if (req.url === "/.well-known/matrix/server") json(res, 200, { "m.server": `delegated.test:${stub.port}` });
      else json(res, 200, { server: { name: "stub" } });
    };
    const answer = await client.get("delegating.test", "/_matrix/federation/v1/version", { query: { a: "b c" } });
    assert.deepEqual(answer, { server: { name: "stub" } });
    const request = stub.requests[1];
    assert.equal(request?.url, "/_matrix/federation/v1/version?a=b+c");
    assert.equal(request?.host, `delegated.test:${stub.port}`);
    assert.equal(request?.servername, "delegated.test");
    // The receiving side can verify the signature: destination is the name before delegation.
    const auth = new FederationAuthenticator("delegating.test", {
      getVerifyKey: async (server, keyId) => (server === origin && keyId === signingKey.keyId ? signingKey.publicKey : undefined),
    });
    assert.equal(await auth.authenticate({ method: "GET", uri: request.url, authorization: request.authorization, body: undefined }), origin);
  });

  it("uses SRV targets with the server name as Host and SNI, and sends JSON bodies signed", async () => {
    srv = { "_matrix-fed._tcp.srv.test": [{ name: "target.test", port: stub.port, priority: 0, weight: 0 }] };
    stub.requests.length = 0;
    stub.handler = (req, res) => (req.url.startsWith("/.well-known") ? json(res, 404, {}) : json(res, 200, { ok: true }));
    assert.deepEqual(await client.put("srv.test", "/_matrix/federation/v1/send/1", { pdus: [] }), { ok: true });
    const request = stub.requests.find((r) => r.method === "PUT");
    assert.equal(request?.host, "srv.test");
    assert.equal(request?.servername, "srv.test");
    assert.deepEqual(JSON.parse(request?.body ?? ""), { pdus: [] });
    const auth = new FederationAuthenticator("srv.test", { getVerifyKey: async () => signingKey.publicKey });
    assert.equal(await auth.authenticate({ method: "PUT", uri: request.url, authorization: request.authorization, body: { pdus: [] } }), origin);
  });

  it("sends no SNI to an IP literal, whose certificate names the address", async () => {
    stub.requests.length = 0;
    stub.handler = (_req, res) => json(res, 200, {});
    await client.get(`127.0.0.1:${stub.port}`, "/_matrix/federation/v1/version");
    assert.equal(stub.requests[0]?.servername, false);
    assert.equal(stub.requests[0]?.host, `127.0.0.1:${stub.port}`);
  });

  it("throws a typed error carrying the status and errcode of an error answer", async () => {
    stub.handler = (_req, res) => json(res, 403, { errcode: "M_FORBIDDEN", error: "no" });
    await assert.rejects(client.get(`direct.test:${stub.port}`, "/_matrix/federation/v1/x"), (err: unknown) => {
      assert.ok(err instanceof FederationRequestError);
      assert.equal(err.reason, "http");
      assert.equal(err.status, 403);
      assert.equal(err.errcode, "M_FORBIDDEN");
      assert.equal(err.destination, `direct.test:${stub.port}`);
      return true;
    });
  });

  it("parses answers strictly: not an object, or numbers canonical JSON forbids, are invalid", async () => {
    stub.handler = (_req, res) => json(res, 200, "[1]");
    await assert.rejects(client.get(`direct.test:${stub.port}`, "/x"), { reason: "invalid-response" });
    stub.handler = (_req, res) => json(res, 200, '{"depth": 1.5}');
    await assert.rejects(client.get(`direct.test:${stub.port}`, "/x"), { reason: "invalid-response" });
    assert.deepEqual(await client.get(`direct.test:${stub.port}`, "/x", { lenientNumbers: true }), { depth: 1.5 });
  });

  it("refuses answers larger than the limit", async () => {
    stub.handler = (_req, res) => json(res, 200, { big: "x".repeat(10_000) });
    await assert.rejects(client.get(`direct.test:${stub.port}`, "/x", { maxResponseBytes: 1000 }), { reason: "too-large" });
    stub.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }); // chunked: no length announced
      res.write('{"big": "');
      res.end(`${"y".repeat(10_000)}"}`);
    };
    await assert.rejects(client.get(`direct.test:${stub.port}`, "/x", { maxResponseBytes: 1000 }), { reason: "too-large" });
  });

  it("gives up on a server that never answers", async () => {
    stub.handler = () => undefined; // never answers
    await assert.rejects(client.get(`direct.test:${stub.port}`, "/x", { timeoutMs: 300 }), { reason: "timeout" });
  });

  it("refuses a certificate from an untrusted CA, unless verification is off", async () => {
    await assert.rejects(client.get(`untrusted.test:${untrusted.port}`, "/x"), { reason: "connection" });
    const lax = makeClient(new IpRangePolicy(["127.0.0.0/8"], ["127.0.0.0/8"]), [], false);
    try {
      assert.deepEqual(await lax.client.get(`untrusted.test:${untrusted.port}`, "/x"), {});
    } finally {
      await lax.transport.close();
    }
  });

  it("refuses to connect to a blocked address, by name or literal, unless allowed", async () => {
    const strict = makeClient(new IpRangePolicy(DEFAULT_IP_RANGE_BLOCKLIST));
    stub.requests.length = 0;
    stub.handler = (_req, res) => json(res, 200, {});
    try {
      for (const destination of [`blocked.test:${stub.port}`, `127.0.0.1:${stub.port}`, `[::ffff:127.0.0.1]:${stub.port}`]) {
        await assert.rejects(strict.client.get(destination, "/x"), (err: unknown) => {
          assert.ok(err instanceof FederationRequestError, String(err));
          assert.equal(err.reason, "blocked", `${destination}: ${err.message}`);
          return true;
        });
      }
      assert.equal(stub.requests.length, 0);
    } finally {
      await strict.transport.close();
    }
  });

  it("reports unknown hosts and invalid destinations", async () => {
    await assert.rejects(client.get(`nowhere.test:${stub.port}`, "/x"), { reason: "connection" });
    await assert.rejects(client.get("not a server", "/x"), { reason: "bad-destination" });
    await assert.rejects(transport.request({ target: { host: "nowhere.test", port: 1 }, hostHeader: "x", method: "GET", path: "/", timeoutMs: 1000, maxResponseBytes: 1 }), TransportError);
  });
});
