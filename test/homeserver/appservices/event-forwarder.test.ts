// The event forwarder and the transaction senders against a scripted room engine, on both engines'
// stores: the stored positions never pass an event not yet in a stored transaction (also when a
// lower position is told after a higher one, as two rooms' commits may be on PostgreSQL), they move
// past events no service is interested in while running, the catch-up after a start offers each
// event once (those heard live meanwhile are left to the live path), and a failed catch-up leaves
// the stored positions where they were.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { RoomEvent } from "../../../src/core/events/room-event.ts";
import { Appservice } from "../../../src/homeserver/appservices/appservice.ts";
import { AppserviceClient } from "../../../src/homeserver/appservices/client.ts";
import { EventForwarder } from "../../../src/homeserver/appservices/event-forwarder.ts";
import { parseRegistration } from "../../../src/homeserver/appservices/registration.ts";
import { StreamProgress } from "../../../src/homeserver/appservices/stream-progress.ts";
import { TransactionSender } from "../../../src/homeserver/appservices/transaction-sender.ts";
import type { OutputListener, RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import type { Database } from "../../../src/storage/database.ts";
import { AppserviceStore } from "../../../src/storage/stores/appservices.ts";
import { forEachEngine } from "../../storage/engines.ts";

const silent = { warn: () => undefined, error: () => undefined };

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The room engine as the forwarder sees it: a room stream, its outputs, and the batches in flight. */
class ScriptedEngine {
  readonly events = new Map<number, RoomEvent>();
  readonly #listeners = new Set<OutputListener>();
  inFlight: Promise<void> = Promise.resolve();
  /** How many times the batches in flight were waited for. */
  inFlightAsked = 0;
  /** Runs once, before the first read of the stream answers. */
  beforeFirstRead: (() => void) | undefined;
  failReads = false;

  batchesInFlight(): Promise<void> {
    this.inFlightAsked++;
    return this.inFlight;
  }

  subscribe(listener: OutputListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Commits an event at the position; told to the listeners unless `told` is false. */
  commit(position: number, sender: string, told = true): void {
    const event = { eventId: `$e${position}`, roomId: "!r:test", type: "m.room.message", stateKey: undefined, sender, content: { body: `e${position}` } } as unknown as RoomEvent;
    this.events.set(position, event);
    if (told) this.tell(position);
  }

  tell(position: number): void {
    const event = this.events.get(position) as RoomEvent;
    const output: RoomserverOutput = { kind: "new_room_event", roomId: event.roomId, event, streamOrdering: position, local: true, stateDelta: new Map(), forwardExtremities: [] };
    for (const listener of this.#listeners) listener(output);
  }

  async streamSince(position: number, limit: number): Promise<Array<{ streamOrdering: number; eventId: string }>> {
    await Promise.resolve();
    if (this.failReads) throw new Error("the stream cannot be read");
    const before = this.beforeFirstRead;
    this.beforeFirstRead = undefined;
    before?.();
    return [...this.events]
      .filter(([p]) => p > position)
      .sort(([a], [b]) => a - b)
      .slice(0, limit)
      .map(([p, e]) => ({ streamOrdering: p, eventId: e.eventId }));
  }

  async getEvent(eventId: string): Promise<{ event: RoomEvent; outlier: boolean } | undefined> {
    await Promise.resolve();
    const event = [...this.events.values()].find((e) => e.eventId === eventId);
    return event === undefined ? undefined : { event, outlier: false };
  }

  get head(): number {
    return Math.max(0, ...this.events.keys());
  }
}

/** A service that takes every transaction once `gate` lets it, recording the events' bodies. */
class FakeService {
  readonly txns: Array<{ txnId: number; bodies: string[] }> = [];
  gate: Promise<void> = Promise.resolve();

  readonly fetch: typeof fetch = async (input, init) => {
    await this.gate;
    const body = JSON.parse(String(init?.body)) as { events: Array<{ body: string }> };
    this.txns.push({ txnId: Number(String(input).split("/").pop()), bodies: body.events.map((e) => e.body) });
    return new Response("{}", { status: 200 });
  };

  get bodies(): string[] {
    return this.txns.flatMap((t) => t.bodies);
  }
}

function setUp(db: Database, engine: ScriptedEngine, id: string, service: FakeService): { forwarder: EventForwarder; store: AppserviceStore } {
  const store = new AppserviceStore(db);
  const progress = new StreamProgress(() => engine.batchesInFlight());
  const registration = parseRegistration(
    { id, url: "http://service.invalid", as_token: `as-${id}`, hs_token: `hs-${id}`, sender_localpart: `${id}_bot`, namespaces: { users: [{ regex: `@${id}_.*`, exclusive: true }] } },
    `${id}.yaml`,
  );
  const appservice = new Appservice(registration, "test");
  const client = new AppserviceClient({ fetch: service.fetch });
  const sender = new TransactionSender({ appservice, store, client, log: silent, forwardedUpTo: () => progress.forwardedUpTo(), minBackoffMs: 5, maxBackoffMs: 20 });
  const forwarder = new EventForwarder({
    source: engine,
    senders: new Map([[appservice, sender]]),
    progress,
    store,
    streamSince: (position, limit) => engine.streamSince(position, limit),
    getEvent: (eventId) => engine.getEvent(eventId),
    streamHead: () => engine.head,
    batchesInFlight: () => engine.batchesInFlight(),
    lookups: { joinedMembers: () => Promise.resolve([]), aliasesOf: () => Promise.resolve([]) },
    serialize: (event) => Promise.resolve({ event_id: event.eventId, body: event.content["body"] ?? null }),
    log: silent,
  });
  return { forwarder, store };
}

async function positionOf(store: AppserviceStore, id: string): Promise<number | undefined> {
  return (await store.streamState(id))?.streamOrdering;
}

forEachEngine("application service event forwarding", (getDb) => {
  it("keeps the stored position under an event told after a higher one until it is in a transaction", async () => {
    const engine = new ScriptedEngine();
    const service = new FakeService();
    const { forwarder, store } = setUp(getDb(), engine, "ooo", service);
    forwarder.start();
    await forwarder.idle();
    assert.equal(await positionOf(store, "ooo"), 0, "a new service begins at the head");

    const taken = deferred();
    service.gate = taken.promise;
    // Position 9's batch is still committing (another room) while 10 is told and put in a transaction.
    const nine = deferred();
    engine.inFlight = nine.promise;
    const asked = engine.inFlightAsked;
    engine.commit(10, "@ooo_a:test");
    // 10 is looked at and its transaction is being made: the sender waits for the batches in flight.
    await until(() => engine.inFlightAsked > asked, "the transaction of 10 under way");
    engine.commit(9, "@ooo_a:test");
    engine.inFlight = Promise.resolve();
    nine.resolve();
    await until(async () => (await store.streamState("ooo"))?.lastTxnId === 1, "the first transaction");
    assert.ok(((await positionOf(store, "ooo")) as number) < 9, "the position stays under 9, which is in no transaction yet");

    taken.resolve();
    await forwarder.idle();
    assert.deepEqual(service.txns, [
      { txnId: 1, bodies: ["e10"] },
      { txnId: 2, bodies: ["e9"] },
    ]);
    assert.equal(await positionOf(store, "ooo"), 10);
    await forwarder.close();
  });

  it("settles positionsRead once a new service's position is stored at the head, before reading the stream on", async () => {
    const engine = new ScriptedEngine();
    const service = new FakeService();
    const { forwarder, store } = setUp(getDb(), engine, "pr", service);
    for (let p = 1; p <= 3; p++) engine.commit(p, "@pr_a:test", false);
    let readFirst: { read: boolean; position: number | undefined } | undefined;
    engine.beforeFirstRead = () => {
      // A transaction of ephemeral data may be stored from now on without giving the service the history.
      void Promise.race([forwarder.positionsRead, Promise.resolve(undefined)]).then(async (read) => {
        readFirst = { read: read === true, position: await positionOf(store, "pr") };
      });
    };
    forwarder.start();
    await forwarder.idle();
    await until(() => readFirst !== undefined, "the check");
    assert.deepEqual(readFirst, { read: true, position: 3 });
    await forwarder.close();
    assert.equal(await forwarder.positionsRead, true);
  });

  it("stores the position past events the service is not interested in while running", async () => {
    const engine = new ScriptedEngine();
    const service = new FakeService();
    const { forwarder, store } = setUp(getDb(), engine, "quiet", service);
    forwarder.start();
    await forwarder.idle();
    for (let p = 1; p <= 1500; p++) engine.commit(p, "@someone:test");
    await forwarder.idle();
    await until(async () => ((await positionOf(store, "quiet")) ?? 0) >= 1000, "a stored position past 1000");
    assert.equal((await store.streamState("quiet"))?.lastTxnId, 0);
    await forwarder.close();
    assert.equal(await positionOf(store, "quiet"), 1500, "and the rest at close");
    assert.deepEqual(service.txns, []);
  });

  it("catches up from the stored position and offers each event once, those heard meanwhile by the live path", async () => {
    const engine = new ScriptedEngine();
    const service = new FakeService();
    const { forwarder, store } = setUp(getDb(), engine, "cu", service);
    for (let p = 1; p <= 10; p++) engine.commit(p, "@cu_a:test", false);
    await store.advancePosition("cu", 5);
    // 9 and 10 are told after the subscription (their commits were still being told), and 11 is new.
    engine.beforeFirstRead = () => {
      engine.tell(9);
      engine.tell(10);
      engine.commit(11, "@cu_a:test");
    };
    forwarder.start();
    await forwarder.idle();
    assert.deepEqual(service.bodies, ["e6", "e7", "e8", "e9", "e10", "e11"]);
    await forwarder.close();
    assert.equal(await positionOf(store, "cu"), 11);
  });

  it("leaves the stored position where it was when the catch-up fails, and still sends live events", async () => {
    const engine = new ScriptedEngine();
    const service = new FakeService();
    const { forwarder, store } = setUp(getDb(), engine, "cf", service);
    for (let p = 1; p <= 10; p++) engine.commit(p, "@cf_a:test", false);
    await store.advancePosition("cf", 5);
    engine.failReads = true;
    forwarder.start();
    await forwarder.idle();
    engine.commit(20, "@cf_a:test");
    await forwarder.idle();
    assert.deepEqual(service.bodies, ["e20"]);
    await forwarder.close();
    assert.equal(await positionOf(store, "cf"), 5, "the next start reads 6-10 again");
  });
});
