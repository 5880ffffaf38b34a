// A transaction sender's ephemeral data beside its events, on both engines' stores: taken into the
// next transaction with the events waiting then, or alone with `events: []`; `ephemeral` left out
// when there is none; at most 100 of each per transaction; a newer item under a waiting one's key
// replaces it; past the queue's bound the oldest is dropped (said once); a retry sends the same
// body; ephemeral data never holds the stored position back; and a transaction the database cannot
// store is tried again after a wait, not at once.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { Appservice } from "../../../src/homeserver/appservices/appservice.ts";
import { AppserviceClient } from "../../../src/homeserver/appservices/client.ts";
import { parseRegistration } from "../../../src/homeserver/appservices/registration.ts";
import { TransactionSender } from "../../../src/homeserver/appservices/transaction-sender.ts";
import type { Database } from "../../../src/storage/database.ts";
import { AppserviceStore } from "../../../src/storage/stores/appservices.ts";
import { forEachEngine } from "../../storage/engines.ts";

interface Body {
  readonly events: JsonObject[];
  readonly ephemeral?: JsonObject[];
}

/** A service that takes each transaction once `gate` lets it (or refuses it `refusals` times), recording the bodies. */
class FakeService {
  readonly txns: Array<{ txnId: number; body: Body }> = [];
  gate: Promise<void> = Promise.resolve();
  refusals = 0;
  /** Requests begun, gate passed or not. */
  begun = 0;

  readonly fetch: typeof fetch = async (input, init) => {
    this.begun++;
    await this.gate;
    this.txns.push({ txnId: Number(String(input).split("/").pop()), body: JSON.parse(String(init?.body)) as Body });
    if (this.refusals > 0) {
      this.refusals--;
      return new Response('{"errcode":"M_UNKNOWN"}', { status: 500 });
    }
    return new Response("{}", { status: 200 });
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the service has been sent a first request (held by its gate). */
async function firstRequest(service: FakeService): Promise<void> {
  await until(() => service.begun > 0, "the first request");
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setUp(db: Database, id: string, service: FakeService, forwarded = 0, minBackoffMs = 5) {
  const store = new AppserviceStore(db);
  const registration = parseRegistration(
    { id, url: "http://service.invalid", as_token: `as-${id}`, hs_token: `hs-${id}`, sender_localpart: `${id}_bot`, namespaces: {}, receive_ephemeral: true },
    `${id}.yaml`,
  );
  const warnings: string[] = [];
  const sender = new TransactionSender({
    appservice: new Appservice(registration, "test"),
    store,
    client: new AppserviceClient({ fetch: service.fetch }),
    log: { warn: (_fields, message) => void warnings.push(message), error: () => undefined },
    forwardedUpTo: () => Promise.resolve(forwarded),
    minBackoffMs,
    maxBackoffMs: Math.max(20, minBackoffMs),
  });
  return { sender, store, warnings };
}

const typing = (roomId: string, userIds: string[]): JsonObject => ({ type: "m.typing", room_id: roomId, content: { user_ids: userIds } });
const event = (n: number): JsonObject => ({ event_id: `$e${n}` });

forEachEngine("application service transactions with ephemeral data", (getDb) => {
  it("sends ephemeral data alone with events: [], and leaves `ephemeral` out when there is none", async () => {
    const service = new FakeService();
    const { sender } = setUp(getDb(), "alone", service);
    sender.enqueueEphemeral("t1", typing("!a:test", ["@u:test"]));
    await sender.idle();
    sender.enqueue(event(1), 1);
    await sender.idle();
    assert.deepEqual(service.txns, [
      { txnId: 1, body: { events: [], ephemeral: [typing("!a:test", ["@u:test"])] } },
      { txnId: 2, body: { events: [event(1)] } },
    ]);
    await sender.close();
  });

  it("takes the ephemeral data waiting into the next transaction with the events, 100 of each at most", async () => {
    const service = new FakeService();
    const { sender } = setUp(getDb(), "mixed", service);
    const taken = deferred();
    service.gate = taken.promise;
    sender.enqueue(event(0), 1); // its transaction waits for the gate while the rest is queued
    await firstRequest(service);
    for (let n = 1; n <= 150; n++) sender.enqueue(event(n), n + 1);
    for (let n = 0; n < 120; n++) sender.enqueueEphemeral(`r${n}`, { type: "m.receipt", n });
    taken.resolve();
    await sender.idle();
    const sizes = service.txns.map((t) => [t.body.events.length, t.body.ephemeral?.length ?? 0]);
    assert.deepEqual(sizes, [
      [1, 0],
      [100, 100],
      [50, 20],
    ]);
    assert.deepEqual(
      service.txns.flatMap((t) => t.body.ephemeral ?? []).map((e) => e["n"]),
      Array.from({ length: 120 }, (_, n) => n),
      "in the order given",
    );
    await sender.close();
  });

  it("replaces a waiting item given again under its key, in its place", async () => {
    const service = new FakeService();
    const { sender } = setUp(getDb(), "keys", service);
    const taken = deferred();
    service.gate = taken.promise;
    sender.enqueue(event(0), 1);
    await firstRequest(service);
    sender.enqueueEphemeral("typing !a", typing("!a:test", ["@u:test"]));
    sender.enqueueEphemeral("typing !b", typing("!b:test", ["@v:test"]));
    sender.enqueueEphemeral("typing !a", typing("!a:test", []));
    taken.resolve();
    await sender.idle();
    assert.deepEqual(service.txns[1]?.body.ephemeral, [typing("!a:test", []), typing("!b:test", ["@v:test"])]);
    await sender.close();
  });

  it("drops the oldest past the bound, saying so once", async () => {
    const service = new FakeService();
    const { sender, warnings } = setUp(getDb(), "full", service);
    const taken = deferred();
    service.gate = taken.promise;
    sender.enqueue(event(0), 1);
    await firstRequest(service);
    for (let n = 0; n < 10_002; n++) sender.enqueueEphemeral(`k${n}`, { n });
    assert.equal(warnings.filter((w) => w.includes("ephemeral queue full")).length, 1);
    taken.resolve();
    await sender.idle();
    const sent = service.txns.flatMap((t) => t.body.ephemeral ?? []).map((e) => e["n"] as number);
    assert.equal(sent.length, 10_000);
    assert.equal(sent[0], 2, "k0 and k1 were dropped");
    await sender.close();
  });

  it("sends a refused transaction again with the same ephemeral data, and data given meanwhile in the next", async () => {
    const service = new FakeService();
    const { sender } = setUp(getDb(), "retry", service);
    service.refusals = 1;
    const taken = deferred();
    service.gate = taken.promise;
    sender.enqueueEphemeral("a", typing("!a:test", ["@u:test"]));
    await firstRequest(service);
    sender.enqueueEphemeral("a", typing("!a:test", []));
    taken.resolve();
    // Polled: the sender's backoff timer does not keep the process alive.
    await until(() => service.txns.length === 3, "the retry and the next transaction");
    await sender.idle();
    assert.deepEqual(service.txns, [
      { txnId: 1, body: { events: [], ephemeral: [typing("!a:test", ["@u:test"])] } },
      { txnId: 1, body: { events: [], ephemeral: [typing("!a:test", ["@u:test"])] } },
      { txnId: 2, body: { events: [], ephemeral: [typing("!a:test", [])] } },
    ]);
    await sender.close();
  });

  it("stores a transaction of ephemeral data alone at the position the events allow", async () => {
    const service = new FakeService();
    const { sender, store } = setUp(getDb(), "pos", service, 42);
    sender.enqueueEphemeral("a", typing("!a:test", ["@u:test"]));
    await sender.idle();
    assert.deepEqual(await store.streamState("pos"), { streamOrdering: 42, lastTxnId: 1 });
    await sender.close();
  });

  it("waits before running again when a transaction cannot be stored, and then sends it", async () => {
    const service = new FakeService();
    const { sender, store } = setUp(getDb(), "dbdown", service);
    let attempts = 0;
    const create = store.createTransaction.bind(store);
    store.createTransaction = async (...args) => {
      if (++attempts <= 2) throw new Error("database unavailable");
      return await create(...args);
    };
    sender.enqueue(event(1), 1);
    await until(() => service.txns.length === 1, "the transaction, once stored");
    assert.equal(attempts, 3);
    assert.deepEqual(service.txns, [{ txnId: 1, body: { events: [event(1)] } }]);
    await sender.close();
  });

  it("does not retry a failing store at once, and stops waiting when closed", async () => {
    const service = new FakeService();
    // A minute's wait: a retry within the test would be one made at once.
    const { sender, store } = setUp(getDb(), "dbloop", service, 0, 60_000);
    let attempts = 0;
    store.createTransaction = () => {
      attempts++;
      return Promise.reject(new Error("database unavailable"));
    };
    sender.enqueue(event(1), 1);
    await until(() => attempts === 1, "the first attempt");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(attempts, 1);
    await sender.close();
    assert.equal(service.txns.length, 0);
  });
});
