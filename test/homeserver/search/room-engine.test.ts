// The search index fed by the real room engine, on both engines: another server's accepted events
// are indexed; its rejected, soft-failed and outlier events never are (the room stream, which the
// indexer follows, holds none of them).
import assert from "node:assert/strict";
import { it } from "node:test";
import { SearchIndexer } from "../../../src/homeserver/search/indexer.ts";
import { parseSearchTerm } from "../../../src/storage/stores/search-query.ts";
import { SearchStore } from "../../../src/storage/stores/search.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { createLocalRoom, key, local, placeRemoteEvent, remote, REMOTE, RemoteServer, remoteKey, startRoomserver, version } from "../roomserver/harness.ts";

const alice = local("alice");
const bob = remote("bob");

forEachEngine("the search index and the room engine", (getDb) => {
  it("indexes accepted events of other servers, never rejected, soft-failed or outlier ones", async () => {
    const { roomserver } = startRoomserver(getDb());
    const store = new SearchStore(getDb());
    const indexer = new SearchIndexer({ roomserver, store, streamSince: (position, limit) => roomserver.store.streamSince(position, limit) });
    await indexer.start();
    const { roomId } = await createLocalRoom(roomserver, "11");
    const server = new RemoteServer(REMOTE, remoteKey, version("11"));
    const join = await roomserver.input({ kind: "new", pdu: await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join" } }) });
    assert.equal(join.outcome, "accepted");

    const message = (body: string) => ({ type: "m.room.message", sender: bob, content: { msgtype: "m.text", body } });
    const accepted = await roomserver.input({ kind: "new", pdu: await placeRemoteEvent(roomserver, server, roomId, message("accepted quasar")) });
    assert.equal(accepted.outcome, "accepted");
    const outlier = await roomserver.input({ kind: "outlier", pdu: await placeRemoteEvent(roomserver, server, roomId, message("outlier quasar")) });
    assert.equal(outlier.outcome, "accepted");
    const current = await roomserver.currentState(roomId);
    const wrongAuth = [key("m.room.power_levels"), key("m.room.member", bob), key("m.room.join_rules")].map((k) => current?.get(k) as string);
    const rejected = await roomserver.input({ kind: "new", pdu: await placeRemoteEvent(roomserver, server, roomId, message("rejected quasar"), { authEvents: wrongAuth }) });
    assert.equal(rejected.outcome, "rejected");
    await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: bob, sender: alice, content: { membership: "ban" } });
    const evading = await placeRemoteEvent(roomserver, server, roomId, message("softfailed quasar"), { prevEvents: [join.eventId as string], authFrom: join.eventId as string });
    assert.equal((await roomserver.input({ kind: "new", pdu: evading })).outcome, "soft_failed");

    await indexer.settled();
    const terms = parseSearchTerm("quasar");
    assert.ok(terms !== undefined);
    const hits = await store.search({ terms, rooms: [{ roomId, upTo: undefined }], keys: ["content.body"], senders: undefined, notSenders: [], containsUrl: undefined }, "recent", undefined, 10);
    assert.deepEqual(hits.map((h) => h.eventId), [accepted.eventId]);
    await indexer.close();
    await roomserver.close();
  });
});
