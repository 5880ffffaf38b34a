import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../../../src/core/errors.ts";
import type { AnyEndpoint } from "../../../src/http/endpoint.ts";
import { FederationRateLimiter } from "../../../src/http/federation-rate-limit.ts";
import { FederationRequestError } from "../../../src/homeserver/federation/client.ts";
import { engines } from "../../storage/engines.ts";
import { waitFor } from "./federated-server.ts";
import { createTestPki, type TestPki } from "./pki.ts";
import { startTlsHomeserver, type TlsHomeserver } from "./tls-homeserver.ts";

// rc_federation (Synapse's keys): per origin server, `concurrent` requests in process, at most
// `reject_limit` waiting (the next is 429 M_LIMIT_EXCEEDED), and beyond `sleep_limit` requests in
// `window_size` each further one waits `sleep_delay` first.

describe("FederationRateLimiter", () => {
  const settings = { windowSize: 1000, sleepLimit: 3, sleepDelay: 500, rejectLimit: 2, concurrent: 1 };

  it("processes `concurrent` at a time, queues up to reject_limit, refuses the next, per origin", async () => {
    const limiter = new FederationRateLimiter(settings, { now: () => 0, sleep: () => new Promise(() => undefined) });
    const gates: Array<() => void> = [];
    const running: string[] = [];
    const hold = (name: string) => () =>
      new Promise<string>((resolve) => {
        running.push(name);
        gates.push(() => resolve(name));
      });
    const first = limiter.run("a.test", "test", hold("1"));
    const second = limiter.run("a.test", "test", hold("2"));
    const third = limiter.run("a.test", "test", hold("3"));
    await waitFor("the first to run", () => running.length === 1);
    assert.deepEqual(limiter.load("a.test"), { active: 1, sleeping: 0, queued: 2 });
    await assert.rejects(limiter.run("a.test", "test", hold("4")), (err: unknown) => {
      assert.ok(err instanceof MatrixError);
      assert.equal(err.errcode, "M_LIMIT_EXCEEDED");
      assert.equal(err.status, 429);
      assert.equal(err.extra["retry_after_ms"], 1000);
      return true;
    });
    // Another server is not held up by this one.
    const other = limiter.run("b.test", "test", async () => "other");
    assert.equal(await other, "other");
    // One at a time, in arrival order.
    gates.shift()?.();
    assert.equal(await first, "1");
    await waitFor("the second to run", () => running.length === 2);
    assert.deepEqual(running, ["1", "2"]);
    assert.deepEqual(limiter.load("a.test"), { active: 1, sleeping: 0, queued: 1 });
    gates.shift()?.();
    assert.equal(await second, "2");
    await waitFor("the third to run", () => running.length === 3);
    gates.shift()?.();
    assert.equal(await third, "3");
    assert.deepEqual(limiter.load("a.test"), { active: 0, sleeping: 0, queued: 0 });
  });

  it("delays the requests beyond sleep_limit within the window by sleep_delay, and frees a slot on failure", async () => {
    let now = 0;
    const sleeps: number[] = [];
    const limiter = new FederationRateLimiter({ ...settings, concurrent: 10, rejectLimit: 10 }, {
      now: () => now,
      sleep: async (ms) => void sleeps.push(ms),
      neverDelayed: ["send"],
    });
    for (let i = 0; i < 3; i++) await limiter.run("a.test", "test", async () => i);
    assert.deepEqual(sleeps, []);
    await limiter.run("a.test", "test", async () => 4);
    await limiter.run("a.test", "test", async () => 5);
    assert.deepEqual(sleeps, [500, 500]);
    // Transactions are not delayed (they still count).
    await limiter.run("a.test", "send", async () => 0);
    assert.deepEqual(sleeps, [500, 500]);
    // The window moves on: the earlier requests no longer count.
    now += 1000;
    await limiter.run("a.test", "test", async () => 6);
    assert.deepEqual(sleeps, [500, 500]);
    await assert.rejects(limiter.run("a.test", "test", async () => Promise.reject(new Error("boom"))), /boom/);
    assert.deepEqual(limiter.load("a.test"), { active: 0, sleeping: 0, queued: 0 });
  });

  it("refuses nothing that would not wait, even with reject_limit 0", async () => {
    const limiter = new FederationRateLimiter({ windowSize: 1000, sleepLimit: 100, sleepDelay: 500, rejectLimit: 0, concurrent: 1 });
    let release: () => void = () => undefined;
    const held = limiter.run("a.test", "test", () => new Promise<void>((resolve) => (release = resolve)));
    await assert.rejects(limiter.run("a.test", "test", async () => 1), { errcode: "M_LIMIT_EXCEEDED" });
    release();
    await held;
    assert.equal(await limiter.run("a.test", "test", async () => 2), 2);
  });
});

for (const engine of engines) {
  describe(`rc_federation on inbound requests, over TLS [${engine}]`, () => {
    let pki: TestPki;
    let a: TlsHomeserver;
    let b: TlsHomeserver;
    let inside = 0;
    let most = 0;
    let gate: Promise<void> = Promise.resolve();
    let open: () => void = () => undefined;
    const close = (): void => {
      gate = new Promise((resolve) => (open = resolve));
    };

    /** An endpoint of B that holds each request until the test opens the gate. */
    const holdEndpoint: AnyEndpoint = {
      name: "test.federation_hold",
      method: "GET",
      paths: ["/_matrix/federation/v1/test_hold"],
      resource: "federation",
      auth: "federation",
      handler: async () => {
        inside++;
        most = Math.max(most, inside);
        try {
          await gate;
        } finally {
          inside--;
        }
        return {};
      },
    };

    before(async () => {
      pki = await createTestPki();
      a = await startTlsHomeserver(engine, pki, { host: "localhost" });
      b = await startTlsHomeserver(engine, pki, {
        host: "127.0.0.1",
        extraEndpoints: [holdEndpoint],
        yaml: "rc_federation: {window_size: 600000, sleep_limit: 4, sleep_delay: 200, reject_limit: 1, concurrent: 2}",
      });
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await pki?.cleanup();
    });

    it("holds a server to `concurrent`, refuses beyond reject_limit with 429, and delays beyond sleep_limit", async () => {
      const limiter = b.server.services.http.federationRateLimiter;
      assert.ok(limiter !== undefined);
      const hold = () => a.server.services.federation.client.get(b.serverName, "/_matrix/federation/v1/test_hold");
      close();
      const first = [hold(), hold()];
      await waitFor("two requests in process", () => inside === 2);
      const third = hold();
      await waitFor("the third to queue", () => limiter.load(a.serverName).queued === 1);
      await assert.rejects(hold(), (err: unknown) => err instanceof FederationRequestError && err.status === 429 && err.errcode === "M_LIMIT_EXCEEDED");
      open();
      await Promise.all([...first, third]);
      assert.equal(most, 2);

      // Three arrived in the window (the refused one does not count), and sleep_limit is 4: the
      // fourth goes straight through, the fifth sleeps first.
      await hold();
      assert.deepEqual(limiter.load(a.serverName), { active: 0, sleeping: 0, queued: 0 });
      const fifth = hold();
      await waitFor("the fifth to sleep", () => limiter.load(a.serverName).sleeping === 1);
      await fifth;
      assert.deepEqual(limiter.load(a.serverName), { active: 0, sleeping: 0, queued: 0 });
    });
  });
}
