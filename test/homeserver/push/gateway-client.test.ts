// POST /_matrix/push/v1/notify to a gateway over HTTPS or HTTP (push_notifier.yaml): the `rejected` answer,
// errors to retry, and ip_range_blacklist, which a gateway at a blocked address never gets past.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { systemResolver } from "../../../src/homeserver/federation/dns.ts";
import { IpRangePolicy } from "../../../src/homeserver/federation/ip-ranges.ts";
import { HttpsTransport } from "../../../src/homeserver/federation/transport.ts";
import { GatewayError, PushGatewayClient } from "../../../src/homeserver/push/gateway-client.ts";
import { createTestPki, type TestPki } from "../federation/pki.ts";
import { startFakeGateway, type FakeGateway } from "./gateway.ts";

describe("push gateway client", () => {
  let pki: TestPki;
  let gateway: FakeGateway;
  const transports: HttpsTransport[] = [];
  const client = (blocklist: string[], allowlist: string[] = []) => {
    const transport = new HttpsTransport({
      resolver: systemResolver,
      ipRanges: new IpRangePolicy(blocklist, allowlist),
      verifyCertificates: true,
      extraCaCertificates: [pki.caCert],
    });
    transports.push(transport);
    return new PushGatewayClient(transport);
  };
  const body = { notification: { event_id: "$e", room_id: "!r:hs", counts: {}, devices: [{ app_id: "a", pushkey: "k" }] } };

  before(async () => {
    pki = await createTestPki();
    gateway = await startFakeGateway(pki);
  });
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await gateway.close();
    await pki.cleanup();
  });

  it("posts the notification and reads the rejected pushkeys", async () => {
    gateway.answer = () => ({ status: 200, body: { rejected: ["k", 5] } });
    assert.deepEqual(await client([]).notify(gateway.url, body), { rejected: ["k"] });
    assert.deepEqual((await gateway.next(1))[0], body.notification);
    gateway.answer = () => ({ status: 200, body: "not an object" });
    assert.deepEqual(await client([]).notify(gateway.url, body), { rejected: [] });
    await gateway.next(1);
  });

  it("takes an HTTP error as a failure to retry", async () => {
    gateway.answer = () => ({ status: 500, body: {} });
    await assert.rejects(client([]).notify(gateway.url, body), GatewayError);
    await gateway.next(1);
    gateway.answer = () => ({ status: 200, body: { rejected: [] } });
  });

  it("never connects to an address ip_range_blacklist blocks, unless ip_range_whitelist allows it", async () => {
    const before = gateway.received.length;
    await assert.rejects(client(["127.0.0.0/8"]).notify(gateway.url, body), (e: unknown) => e instanceof GatewayError && /blacklist/.test(e.message));
    await assert.rejects(client(["127.0.0.0/8"]).notify(gateway.url.replace("127.0.0.1", "localhost"), body), GatewayError, "names are checked once resolved");
    assert.equal(gateway.received.length, before);
    assert.deepEqual(await client(["127.0.0.0/8"], ["127.0.0.1"]).notify(gateway.url, body), { rejected: [] });
    await gateway.next(1);
  });

  it("talks plain HTTP to a gateway whose URL says http, under the same ip_range_blacklist", async () => {
    const plain = await startFakeGateway(pki, { plain: true });
    try {
      assert.match(plain.url, /^http:/);
      assert.deepEqual(await client([]).notify(plain.url, body), { rejected: [] });
      assert.deepEqual((await plain.next(1))[0], body.notification);
      await assert.rejects(client(["127.0.0.0/8"]).notify(plain.url, body), (e: unknown) => e instanceof GatewayError && /blacklist/.test(e.message));
    } finally {
      await plain.close();
    }
  });

  it("refuses a URL that is not http(s), and a certificate it does not trust", async () => {
    await assert.rejects(client([]).notify(gateway.url.replace("https:", "ftp:"), body), GatewayError);
    // HTTP spoken to an HTTPS gateway gets no answer either.
    await assert.rejects(client([]).notify(gateway.url.replace("https:", "http:"), body), GatewayError);
    const untrusting = new HttpsTransport({ resolver: systemResolver, ipRanges: new IpRangePolicy([]), verifyCertificates: true });
    transports.push(untrusting);
    await assert.rejects(new PushGatewayClient(untrusting).notify(gateway.url, body), GatewayError);
  });
});
