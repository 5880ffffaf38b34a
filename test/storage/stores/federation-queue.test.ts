import { it } from "node:test";
import assert from "node:assert/strict";
import { FederationInviteStore } from "../../../src/storage/stores/federation-invites.ts";
import { FederationQueueStore } from "../../../src/storage/stores/federation-queue.ts";
import { FederationTxnStore } from "../../../src/storage/stores/federation-txns.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("FederationQueueStore", (getDb) => {
  it("queues PDUs and EDUs per destination, peeks the oldest within limits, removes what was sent", async () => {
    const store = new FederationQueueStore(getDb());
    await store.enqueue(
      [
        { destination: "a.test", roomId: "!r:x", eventId: "$1" },
        { destination: "b.test", roomId: "!r:x", eventId: "$1" },
        { destination: "a.test", roomId: "!r:x", eventId: "$2" },
        { destination: "a.test", roomId: "!s:x", eventId: "$3" },
      ],
      [{ destination: "a.test", eduType: "m.typing", content: '{"typing":true}' }],
      1000,
    );
    assert.deepEqual(await store.destinationsWithPending(), ["a.test", "b.test"]);
    const first = await store.peek("a.test", 2, 10);
    assert.deepEqual(first.pdus.map((p) => p.eventId), ["$1", "$2"]);
    assert.deepEqual(first.edus.map((e) => [e.eduType, e.content]), [["m.typing", '{"typing":true}']]);
    await store.remove("a.test", first.pdus.map((p) => p.id), first.edus.map((e) => e.id));
    assert.deepEqual(await store.pending("a.test"), { pdus: 1, edus: 0 });
    // Another destination's rows are untouched by the removal, even with the same IDs given.
    await store.remove("b.test", first.pdus.map((p) => p.id), []);
    assert.deepEqual(await store.pending("b.test"), { pdus: 1, edus: 0 });
  });

  it("compacts a destination to catch up: the newest PDU of each room stays, typing goes", async () => {
    const store = new FederationQueueStore(getDb());
    const pdus = [];
    for (let i = 0; i < 10; i++) pdus.push({ destination: "c.test", roomId: i % 2 === 0 ? "!even:x" : "!odd:x", eventId: `$c${i}` });
    await store.enqueue(pdus, [
      { destination: "c.test", eduType: "m.typing", content: "{}" },
      { destination: "c.test", eduType: "m.receipt", content: "{}" },
    ], 1);
    assert.equal(await store.compactForCatchUp("c.test"), 8);
    const left = await store.peek("c.test", 50, 100);
    assert.deepEqual(left.pdus.map((p) => p.eventId), ["$c8", "$c9"]);
    assert.deepEqual(left.edus.map((e) => e.eduType), ["m.receipt"]);
  });

  it("keeps a destination's retry state until it is cleared", async () => {
    const store = new FederationQueueStore(getDb());
    assert.equal(await store.getRetry("down.test"), undefined);
    await store.setRetry({ destination: "down.test", failureCount: 1, retryAfterTs: 5_000_000_000_000, catchingUp: true });
    await store.setRetry({ destination: "down.test", failureCount: 2, retryAfterTs: 5_000_000_000_001, catchingUp: true });
    assert.deepEqual(await store.getRetry("down.test"), { destination: "down.test", failureCount: 2, retryAfterTs: 5_000_000_000_001, catchingUp: true });
    assert.ok((await store.retries()).some((r) => r.destination === "down.test"));
    await store.clearRetry("down.test");
    assert.equal(await store.getRetry("down.test"), undefined);
  });
});

forEachEngine("FederationTxnStore", (getDb) => {
  it("remembers the response to (origin, txnId), keeps the first, and prunes old ones", async () => {
    const store = new FederationTxnStore(getDb());
    assert.equal(await store.response("o.test", "t1"), undefined);
    await store.record("o.test", "t1", { pdus: { $a: {} } }, 100);
    await store.record("o.test", "t1", { pdus: {} }, 200);
    await store.record("p.test", "t1", { pdus: { $b: { error: "no" } } }, 300);
    assert.deepEqual(await store.response("o.test", "t1"), { pdus: { $a: {} } });
    assert.deepEqual(await store.response("p.test", "t1"), { pdus: { $b: { error: "no" } } });
    assert.equal(await store.prune(250), 1);
    assert.equal(await store.response("o.test", "t1"), undefined);
  });
});

forEachEngine("FederationInviteStore", (getDb) => {
  it("keeps the latest invite of a user to a room, lists a user's, forgets them", async () => {
    const store = new FederationInviteStore(getDb());
    const invite = {
      roomId: "!r:remote.test",
      userId: "@u:here.test",
      eventId: "$i1",
      roomVersion: "10",
      origin: "remote.test",
      event: { type: "m.room.member", content: { membership: "invite" } },
      inviteRoomState: [{ type: "m.room.name", content: { name: "R" } }],
      receivedTs: 10,
    };
    await store.put(invite);
    await store.put({ ...invite, eventId: "$i2", receivedTs: 20 });
    await store.put({ ...invite, roomId: "!s:remote.test", receivedTs: 15 });
    assert.deepEqual((await store.get("!r:remote.test", "@u:here.test"))?.eventId, "$i2");
    assert.deepEqual((await store.forUser("@u:here.test")).map((i) => i.roomId), ["!s:remote.test", "!r:remote.test"]);
    await store.remove("!r:remote.test", "@u:here.test");
    assert.deepEqual((await store.forUser("@u:here.test")).map((i) => i.roomId), ["!s:remote.test"]);
  });
});
