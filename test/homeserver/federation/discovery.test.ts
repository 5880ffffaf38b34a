import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseServerName, type ServerName } from "../../../src/core/identifiers/index.ts";
import { ServerDiscovery } from "../../../src/homeserver/federation/discovery.ts";
import { orderSrvRecords, type DnsResolver, type SrvRecord } from "../../../src/homeserver/federation/dns.ts";
import { IpRangePolicy } from "../../../src/homeserver/federation/ip-ranges.ts";
import { HttpsTransport } from "../../../src/homeserver/federation/transport.ts";
import {
  fetchWellKnown,
  parseWellKnownBody,
  wellKnownCacheMs,
  type WellKnownResult,
} from "../../../src/homeserver/federation/well-known.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { json, startStubServer, type StubServer } from "./stub-server.ts";

const HOUR = 60 * 60 * 1000;

function name(s: string): ServerName {
  const parsed = parseServerName(s);
  assert.ok(parsed !== undefined, s);
  return parsed;
}

/** A resolver answering from tables: every name resolves to 127.0.0.1 unless listed. */
function stubResolver(srv: Record<string, SrvRecord[]> = {}): DnsResolver & { srvAsked: string[] } {
  const srvAsked: string[] = [];
  return {
    srvAsked,
    async lookup() {
      return [{ address: "127.0.0.1", family: 4 }];
    },
    async resolveSrv(question) {
      srvAsked.push(question);
      return srv[question] ?? [];
    },
  };
}

/** A well-known fetcher answering from a table, counting fetches. */
function stubWellKnown(answers: Record<string, WellKnownResult>) {
  const fetched: string[] = [];
  return {
    fetched,
    fetch: async (hostname: string): Promise<WellKnownResult> => {
      fetched.push(hostname);
      return answers[hostname] ?? { delegated: undefined, cacheMs: HOUR };
    },
  };
}

describe("ServerDiscovery (server-server-api#resolving-server-names)", () => {
  it("step 1: an IP literal is used as it is, with its port or 8448, Host the server name", async () => {
    const wellKnown = stubWellKnown({});
    const discovery = new ServerDiscovery({ resolver: stubResolver(), fetchWellKnown: wellKnown.fetch });
    assert.deepEqual(await discovery.resolve(name("192.0.2.7")), { targets: [{ host: "192.0.2.7", port: 8448 }], hostHeader: "192.0.2.7" });
    assert.deepEqual(await discovery.resolve(name("192.0.2.7:1234")), { targets: [{ host: "192.0.2.7", port: 1234 }], hostHeader: "192.0.2.7:1234" });
    assert.deepEqual(await discovery.resolve(name("[2001:db8::1]:8449")), {
      targets: [{ host: "2001:db8::1", port: 8449 }],
      hostHeader: "[2001:db8::1]:8449",
    });
    assert.deepEqual(wellKnown.fetched, []);
  });

  it("step 2: a hostname with an explicit port is connected to directly, without well-known", async () => {
    const wellKnown = stubWellKnown({});
    const discovery = new ServerDiscovery({ resolver: stubResolver(), fetchWellKnown: wellKnown.fetch });
    assert.deepEqual(await discovery.resolve(name("example.test:1234")), {
      targets: [{ host: "example.test", port: 1234 }],
      hostHeader: "example.test:1234",
    });
    assert.deepEqual(wellKnown.fetched, []);
  });

  it("step 3.1 and 3.2: a delegation to an IP literal or a hostname with port", async () => {
    const wellKnown = stubWellKnown({
      "ip.test": { delegated: name("192.0.2.9"), cacheMs: HOUR },
      "port.test": { delegated: name("delegated.test:4321"), cacheMs: HOUR },
    });
    const discovery = new ServerDiscovery({ resolver: stubResolver(), fetchWellKnown: wellKnown.fetch });
    assert.deepEqual(await discovery.resolve(name("ip.test")), { targets: [{ host: "192.0.2.9", port: 8448 }], hostHeader: "192.0.2.9" });
    assert.deepEqual(await discovery.resolve(name("port.test")), {
      targets: [{ host: "delegated.test", port: 4321 }],
      hostHeader: "delegated.test:4321",
    });
  });

  it("steps 3.3 to 3.5: a delegation without port goes through SRV of the delegated name, then 8448", async () => {
    const resolver = stubResolver({
      "_matrix-fed._tcp.fed.test": [{ name: "target1.test", port: 5555, priority: 10, weight: 0 }],
      "_matrix._tcp.legacy.test": [{ name: "target2.test.", port: 6666, priority: 10, weight: 0 }],
    });
    const wellKnown = stubWellKnown({
      "a.test": { delegated: name("fed.test"), cacheMs: HOUR },
      "b.test": { delegated: name("legacy.test"), cacheMs: HOUR },
      "c.test": { delegated: name("plain.test"), cacheMs: HOUR },
    });
    const discovery = new ServerDiscovery({ resolver, fetchWellKnown: wellKnown.fetch });
    // The Host header (and certificate) stay the delegated hostname, not the SRV target.
    assert.deepEqual(await discovery.resolve(name("a.test")), { targets: [{ host: "target1.test", port: 5555 }], hostHeader: "fed.test" });
    assert.deepEqual(await discovery.resolve(name("b.test")), { targets: [{ host: "target2.test", port: 6666 }], hostHeader: "legacy.test" });
    assert.deepEqual(await discovery.resolve(name("c.test")), { targets: [{ host: "plain.test", port: 8448 }], hostHeader: "plain.test" });
    assert.deepEqual(resolver.srvAsked, [
      "_matrix-fed._tcp.fed.test",
      "_matrix-fed._tcp.legacy.test",
      "_matrix._tcp.legacy.test",
      "_matrix-fed._tcp.plain.test",
      "_matrix._tcp.plain.test",
    ]);
  });

  it("steps 4 to 6: without delegation, SRV of the hostname itself, then 8448", async () => {
    const resolver = stubResolver({ "_matrix-fed._tcp.srv.test": [{ name: "t.test", port: 7777, priority: 0, weight: 0 }] });
    const discovery = new ServerDiscovery({ resolver, fetchWellKnown: stubWellKnown({}).fetch });
    assert.deepEqual(await discovery.resolve(name("srv.test")), { targets: [{ host: "t.test", port: 7777 }], hostHeader: "srv.test" });
    assert.deepEqual(await discovery.resolve(name("none.test")), { targets: [{ host: "none.test", port: 8448 }], hostHeader: "none.test" });
  });

  it("caches well-known answers, errors included, for as long as they say", async () => {
    let now = 1_000_000;
    const wellKnown = stubWellKnown({ "ok.test": { delegated: name("d.test:1"), cacheMs: 24 * HOUR } });
    const discovery = new ServerDiscovery({ resolver: stubResolver(), fetchWellKnown: wellKnown.fetch, now: () => now });
    await discovery.resolve(name("ok.test"));
    await discovery.resolve(name("broken.test"));
    await Promise.all([discovery.resolve(name("broken.test")), discovery.resolve(name("ok.test"))]);
    assert.deepEqual(wellKnown.fetched, ["ok.test", "broken.test"]);
    now += HOUR + 1; // the error's hour is over; the success's day is not
    await discovery.resolve(name("broken.test"));
    await discovery.resolve(name("ok.test"));
    assert.deepEqual(wellKnown.fetched, ["ok.test", "broken.test", "broken.test"]);
    now += 24 * HOUR;
    await discovery.resolve(name("ok.test"));
    assert.deepEqual(wellKnown.fetched, ["ok.test", "broken.test", "broken.test", "ok.test"]);
  });

  it("fetches one well-known at a time for concurrent requests", async () => {
    const wellKnown = stubWellKnown({});
    const discovery = new ServerDiscovery({ resolver: stubResolver(), fetchWellKnown: wellKnown.fetch });
    await Promise.all([discovery.resolve(name("x.test")), discovery.resolve(name("x.test")), discovery.resolve(name("x.test"))]);
    assert.deepEqual(wellKnown.fetched, ["x.test"]);
  });
});

describe("orderSrvRecords", () => {
  it("orders by priority, and a lone '.' target means no service", () => {
    const records = [
      { name: "b", port: 2, priority: 20, weight: 5 },
      { name: "a", port: 1, priority: 10, weight: 0 },
      { name: "c", port: 3, priority: 30, weight: 1 },
    ];
    assert.deepEqual(orderSrvRecords(records).map((r) => r.name), ["a", "b", "c"]);
    assert.deepEqual(orderSrvRecords([{ name: ".", port: 0, priority: 0, weight: 0 }]), []);
  });
});

describe("well-known documents", () => {
  it("reads m.server, whatever the content type; anything else is no delegation", () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    assert.equal(parseWellKnownBody(bytes('{"m.server": "delegated.test:443"}')), "delegated.test:443");
    for (const bad of ["", "not json", "[]", "{}", '{"m.server": 1}', '{"m.server": "bad name!"}', '{"m.server":"a","m.server":"b"}']) {
      assert.equal(parseWellKnownBody(bytes(bad)), undefined, bad);
    }
  });

  it("caches per Cache-Control, then Expires, 24 h by default, within 5 min and 48 h", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(wellKnownCacheMs({}, now), 24 * HOUR);
    assert.equal(wellKnownCacheMs({ "cache-control": "public, max-age=7200" }, now), 2 * HOUR);
    assert.equal(wellKnownCacheMs({ "cache-control": "max-age=99999999" }, now), 48 * HOUR);
    assert.equal(wellKnownCacheMs({ "cache-control": "no-store" }, now), 5 * 60 * 1000);
    assert.equal(wellKnownCacheMs({ expires: "Thu, 01 Jan 2026 03:00:00 GMT" }, now), 3 * HOUR);
    assert.equal(wellKnownCacheMs({ "cache-control": "max-age=3600", expires: "Thu, 01 Jan 2026 03:00:00 GMT" }, now), HOUR);
  });

  describe("fetched over HTTPS from a stub server", () => {
    let pki: TestPki;
    let stub: StubServer;
    let transport: HttpsTransport;
    before(async () => {
      pki = await createTestPki();
      stub = await startStubServer(pki.issue(["wk.test", "other.test"]), () => undefined);
      transport = new HttpsTransport({
        resolver: stubResolver(),
        ipRanges: new IpRangePolicy(["127.0.0.0/8"], ["127.0.0.0/8"]),
        verifyCertificates: true,
        extraCaCertificates: [pki.caCert],
      });
    });
    after(async () => {
      await transport.close();
      await stub.close();
      await pki.cleanup();
    });

    const fetch = (hostname: string) => fetchWellKnown(transport, hostname, { port: stub.port, now: () => Date.parse("2026-01-01T00:00:00Z") });

    it("reads a delegation with its cache lifetime, sending SNI and Host for the hostname", async () => {
      stub.handler = (_req, res) => json(res, 200, { "m.server": "delegated.test:8443" }, { "cache-control": "max-age=7200", "content-type": "text/plain" });
      stub.requests.length = 0;
      assert.deepEqual(await fetch("wk.test"), { delegated: "delegated.test:8443", cacheMs: 2 * HOUR });
      assert.equal(stub.requests[0]?.url, "/.well-known/matrix/server");
      assert.equal(stub.requests[0]?.host, `wk.test:${stub.port}`);
      assert.equal(stub.requests[0]?.servername, "wk.test");
    });

    it("follows redirects, and gives up on loops", async () => {
      stub.handler = (req, res) => {
        if (req.url === "/.well-known/matrix/server") json(res, 302, {}, { location: `https://other.test:${stub.port}/moved` });
        else if (req.url === "/moved") json(res, 200, { "m.server": "moved.test" });
        else json(res, 404, {});
      };
      assert.equal((await fetch("wk.test")).delegated, "moved.test");
      stub.handler = (_req, res) => json(res, 301, {}, { location: "/.well-known/matrix/server" });
      assert.deepEqual(await fetch("wk.test"), { delegated: undefined, cacheMs: HOUR });
    });

    it("treats a non-200 answer, invalid JSON and an unreachable host as errors cached for an hour", async () => {
      stub.handler = (_req, res) => json(res, 404, { errcode: "M_NOT_FOUND" });
      assert.deepEqual(await fetch("wk.test"), { delegated: undefined, cacheMs: HOUR });
      stub.handler = (_req, res) => json(res, 200, "{not json");
      assert.deepEqual(await fetch("wk.test"), { delegated: undefined, cacheMs: HOUR });
      // No certificate for this name: the TLS handshake fails.
      stub.handler = (_req, res) => json(res, 200, { "m.server": "x.test" });
      assert.deepEqual(await fetch("nocert.test"), { delegated: undefined, cacheMs: HOUR });
    });
  });
});
