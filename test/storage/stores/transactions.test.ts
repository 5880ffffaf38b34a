import assert from "node:assert/strict";
import { it } from "node:test";
import { TransactionStore, insertEventTransactions } from "../../../src/storage/stores/transactions.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("TransactionStore", (getDb) => {
  it("finds the event of a transaction by user, device, scope and txnId", async () => {
    const store = new TransactionStore(getDb());
    const key = { userId: "@a:x", deviceId: "D1", scope: '["send","!r:x","m.room.message"]', txnId: "t1" };
    assert.equal(await store.eventFor(key), undefined);
    await store.record(key, "$one", 1000);
    await store.record(key, "$two", 2000); // a second record keeps the first
    assert.equal(await store.eventFor(key), "$one");
    assert.equal(await store.eventFor({ ...key, deviceId: "D2" }), undefined);
    assert.equal(await store.eventFor({ ...key, scope: '["redact","!r:x","$e"]' }), undefined);
    assert.deepEqual(await store.transactionIdsFor(["$one", "$other"], "@a:x", "D1"), new Map([["$one", "t1"]]));
    assert.deepEqual(await store.transactionIdsFor(["$one"], "@a:x", "D2"), new Map());
  });

  it("forgets transactions older than a cutoff", async () => {
    const store = new TransactionStore(getDb());
    const key = { userId: "@b:x", deviceId: "", scope: "s", txnId: "old" };
    await store.record(key, "$old", 10);
    await store.record({ ...key, txnId: "new" }, "$new", 10_000);
    assert.ok((await store.purgeBefore(100)) >= 1);
    assert.equal(await store.eventFor(key), undefined);
    assert.equal(await store.eventFor({ ...key, txnId: "new" }), "$new");
  });

  it("records transactions inside another write (the events' own), kept or rolled back with it", async () => {
    const db = getDb();
    const store = new TransactionStore(db);
    const key = (txnId: string) => ({ userId: "@c:x", deviceId: "D", scope: "s", txnId });
    await db.write("test_persist", async (trx) => {
      await insertEventTransactions(db, trx, [{ key: key("a"), eventId: "$a" }, { key: key("b"), eventId: "$b" }], 5);
    });
    await assert.rejects(
      db.write("test_persist_fails", async (trx) => {
        await insertEventTransactions(db, trx, [{ key: key("c"), eventId: "$c" }], 5);
        throw new Error("the batch failed");
      }),
    );
    // A key recorded already keeps its first event.
    await db.write("test_persist_again", async (trx) => {
      await insertEventTransactions(db, trx, [{ key: key("a"), eventId: "$other" }], 6);
    });
    assert.equal(await store.eventFor(key("a")), "$a");
    assert.equal(await store.eventFor(key("b")), "$b");
    assert.equal(await store.eventFor(key("c")), undefined);
  });
});
