import assert from "node:assert/strict";
import { it } from "node:test";
import { ReceiptStore } from "../../../src/storage/stores/receipts.ts";
import { forEachEngine } from "../engines.ts";

forEachEngine("ReceiptStore", (getDb) => {
  const write = (roomId: string, userId: string, eventId: string, position: number, extra: { receiptType?: string; threadId?: string } = {}) => ({
    roomId,
    receiptType: extra.receiptType ?? "m.read",
    userId,
    threadId: extra.threadId,
    eventId,
    eventStreamOrdering: position,
    ts: 1000 + position,
  });

  it("keeps one receipt per (room, type, user, thread), each change at a new stream position", async () => {
    const store = new ReceiptStore(getDb());
    const start = await store.maxStreamId();
    const p1 = await store.put(write("!a:hs", "@u:hs", "$1", 1));
    const p2 = await store.put(write("!a:hs", "@u:hs", "$2", 2));
    const p3 = await store.put(write("!a:hs", "@u:hs", "$3", 3, { threadId: "main" }));
    const p4 = await store.put(write("!a:hs", "@u:hs", "$4", 4, { receiptType: "m.read.private" }));
    assert.ok(p1 !== undefined && p2 !== undefined && p3 !== undefined && p4 !== undefined);
    assert.ok(start < p1 && p1 < p2 && p2 < p3 && p3 < p4);
    const changes = await store.changesInRooms(["!a:hs"], start, p4);
    assert.deepEqual(
      changes.map((r) => [r.receiptType, r.threadId, r.eventId, r.eventStreamOrdering]),
      [
        ["m.read", undefined, "$2", 2],
        ["m.read", "main", "$3", 3],
        ["m.read.private", undefined, "$4", 4],
      ],
    );
    assert.deepEqual((await store.changesInRooms(["!a:hs"], p2, p3)).map((r) => r.eventId), ["$3"], "the range is (since, upTo]");
    assert.equal(await store.maxStreamId(), p4);
  });

  it("leaves the stored receipt when told to keep it", async () => {
    const store = new ReceiptStore(getDb());
    const ahead = await store.put(write("!b:hs", "@u:hs", "$9", 9));
    const behind = await store.put(write("!b:hs", "@u:hs", "$5", 5), (current) => (current.eventStreamOrdering ?? 0) > 5);
    assert.ok(ahead !== undefined);
    assert.equal(behind, undefined);
    assert.deepEqual((await store.ofUser("@u:hs")).filter((r) => r.roomId === "!b:hs").map((r) => r.eventId), ["$9"]);
  });

  it("commits concurrent writes in position order and reads many rooms at once", async () => {
    const store = new ReceiptStore(getDb());
    const start = await store.maxStreamId();
    const rooms = Array.from({ length: 600 }, (_, i) => `!many${i}:hs`);
    const positions = await Promise.all(rooms.map((roomId, i) => store.put(write(roomId, "@v:hs", `$m${i}`, i))));
    const changes = await store.changesInRooms(rooms, start, await store.maxStreamId());
    assert.equal(changes.length, rooms.length);
    assert.deepEqual(changes.map((c) => c.streamId), [...positions].sort((a, b) => (a ?? 0) - (b ?? 0)));
    assert.equal((await store.ofUser("@v:hs")).length, rooms.length);
  });
});
