import { it } from "node:test";
import assert from "node:assert/strict";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { FederationSender, type TransactionClient } from "../../../src/homeserver/federation/sender.ts";
import { FederationQueueStore } from "../../../src/storage/stores/federation-queue.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { waitFor } from "./federated-server.ts";

// The sending queues (server-server-api#transactions) against a fake destination.

interface Call {
  readonly destination: string;
  readonly path: string;
  readonly body: JsonObject;
}

class FakeClient implements TransactionClient {
  readonly calls: Call[] = [];
  failing = new Set<string>();
  inFlight = new Map<string, number>();
  maxInFlight = 0;

  async put(destination: string, path: string, body: JsonObject): Promise<JsonObject> {
    const n = (this.inFlight.get(destination) ?? 0) + 1;
    this.inFlight.set(destination, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      this.calls.push({ destination, path, body });
      if (this.failing.has(destination)) throw new Error(`${destination} is down`);
      return { pdus: {} };
    } finally {
      this.inFlight.set(destination, n - 1);
    }
  }

  delivered(destination: string): { pdus: string[]; edus: number } {
    const ok = this.calls.filter((c) => c.destination === destination && !this.failedCalls.has(c));
    return { pdus: ok.flatMap((c) => (c.body["pdus"] as JsonObject[]).map((p) => String(p["event_id"]))), edus: ok.reduce((n, c) => n + ((c.body["edus"] as unknown[] | undefined)?.length ?? 0), 0) };
  }

  readonly failedCalls = new Set<Call>();
}

const loadPdus = async (ids: readonly string[]): Promise<Map<string, Pdu>> => new Map(ids.map((id) => [id, { event_id: id }]));

function sender(store: FederationQueueStore, client: FakeClient): FederationSender {
  return new FederationSender({ serverName: "me.test", store, client, loadPdus, initialBackoffMs: 10, maxBackoffMs: 20 });
}

forEachEngine("FederationSender", (getDb) => {
  it("sends transactions of at most 50 PDUs and 100 EDUs, in order, one at a time per destination", async () => {
    const client = new FakeClient();
    const s = sender(new FederationQueueStore(getDb()), client);
    await s.start();
    const ids = Array.from({ length: 120 }, (_, i) => `$e${i}`);
    for (const id of ids) s.queuePdu("!r:x", id, ["one.test", "two.test", "me.test"]);
    for (let i = 0; i < 150; i++) s.enqueueEdu("one.test", { edu_type: "m.receipt", content: { i } });
    await waitFor("both destinations served", async () => {
      await s.settled();
      return client.delivered("one.test").pdus.length === 120 && client.delivered("two.test").pdus.length === 120;
    });
    assert.deepEqual(client.delivered("one.test").pdus, ids);
    assert.equal(client.delivered("one.test").edus, 150);
    for (const call of client.calls) {
      assert.ok((call.body["pdus"] as unknown[]).length <= 50);
      assert.ok(((call.body["edus"] as unknown[] | undefined) ?? []).length <= 100);
      assert.equal(call.body["origin"], "me.test");
      assert.match(call.path, /^\/_matrix\/federation\/v1\/send\/[^/]+$/);
    }
    // Never ourselves; never two transactions at once to one destination.
    assert.ok(!client.calls.some((c) => c.destination === "me.test"));
    assert.equal(client.maxInFlight, 1);
    assert.equal(new Set(client.calls.map((c) => c.path)).size, client.calls.length);
    await s.close();
  });

  it("retries a failed transaction as it was, then catches the destination up with the newest event per room", async () => {
    const client = new FakeClient();
    const store = new FederationQueueStore(getDb());
    const s = sender(store, client);
    await s.start();
    client.failing.add("down.test");
    s.queuePdu("!a:x", "$a0", ["down.test"]);
    await waitFor("a failed attempt", () => client.calls.length >= 1);
    for (let i = 1; i <= 60; i++) s.queuePdu(i % 2 === 0 ? "!a:x" : "!b:x", `$${i % 2 === 0 ? "a" : "b"}${i}`, ["down.test"]);
    await waitFor("a few retries", () => client.calls.length >= 3);
    const failed = client.calls.slice();
    for (const call of failed) client.failedCalls.add(call);
    // Every attempt so far was the same transaction: same ID, same body.
    assert.equal(new Set(failed.map((c) => c.path)).size, 1);
    assert.deepEqual(new Set(failed.map((c) => JSON.stringify(c.body["pdus"]))).size, 1);
    assert.ok(s.failures("down.test") >= 1);
    client.failing.delete("down.test");
    s.wake("down.test");
    await waitFor("the destination served", async () => {
      await s.settled();
      return s.failures("down.test") === 0 && (await store.pending("down.test")).pdus === 0;
    });
    const delivered = client.delivered("down.test").pdus;
    // The failed transaction first, then only the newest event of each room.
    assert.deepEqual(delivered, ["$a0", "$b59", "$a60"]);
    await s.close();
  });

  it("resumes after a restart what a previous run queued", async () => {
    const store = new FederationQueueStore(getDb());
    const first = new FakeClient();
    first.failing.add("later.test");
    const before = sender(store, first);
    await before.start();
    before.queuePdu("!r:x", "$kept", ["later.test"]);
    before.enqueueEdu("later.test", { edu_type: "m.device_list_update", content: { user_id: "@u:me.test" } });
    await waitFor("a failed attempt", () => first.calls.length >= 1);
    await before.close();

    const second = new FakeClient();
    const after = sender(store, second);
    await after.start();
    after.wake("later.test");
    await waitFor("the queue resumed", async () => {
      await after.settled();
      return second.delivered("later.test").pdus.length === 1;
    });
    assert.deepEqual(second.delivered("later.test"), { pdus: ["$kept"], edus: 1 });
    await after.close();
  });
});
