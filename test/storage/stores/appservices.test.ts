// Application service transactions on both engines: the transaction IDs count up from 1 whether
// the service's row was made by its first transaction or by a position stored before it, and the
// stored position never moves back.
import assert from "node:assert/strict";
import { it } from "node:test";
import { AppserviceStore } from "../../../src/storage/stores/appservices.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("AppserviceStore", (getDb) => {
  it("counts transaction IDs from 1 and keeps the highest position", async () => {
    const store = new AppserviceStore(getDb());
    assert.equal(await store.createTransaction("first", '{"events":[1]}', 10), 1);
    assert.equal(await store.createTransaction("first", '{"events":[2]}', 7), 2);
    assert.deepEqual(await store.streamState("first"), { streamOrdering: 10, lastTxnId: 2 });
    assert.deepEqual(
      (await store.pending("first")).map((t) => t.txnId),
      [1, 2],
    );
    await store.completeTransaction("first", 1);
    assert.deepEqual(
      (await store.pending("first")).map((t) => t.txnId),
      [2],
    );
  });

  it("stores a position without a transaction, and the first transaction after it is still 1", async () => {
    const store = new AppserviceStore(getDb());
    await store.advancePosition("new", 40);
    assert.deepEqual(await store.streamState("new"), { streamOrdering: 40, lastTxnId: 0 });
    await store.advancePosition("new", 30);
    assert.deepEqual(await store.streamState("new"), { streamOrdering: 40, lastTxnId: 0 }, "never back");
    assert.equal(await store.createTransaction("new", '{"events":[]}', 35), 1);
    assert.deepEqual(await store.streamState("new"), { streamOrdering: 40, lastTxnId: 1 });
    await store.advancePosition("new", 55);
    assert.equal(await store.createTransaction("new", '{"events":[]}', 50), 2);
    assert.deepEqual(await store.streamState("new"), { streamOrdering: 55, lastTxnId: 2 });
    assert.equal(await store.streamState("other"), undefined);
  });
});
