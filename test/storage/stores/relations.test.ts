import assert from "node:assert/strict";
import { it } from "node:test";
import { RelationStore, type RelationRow } from "../../../src/storage/stores/relations.ts";
import { forEachEngine } from "../engines.ts";

function row(eventId: string, relatesToId: string, relType: string, streamOrdering: number, extra: Partial<RelationRow> = {}): RelationRow {
  return {
    eventId,
    roomId: "!room:x",
    relatesToId,
    relType,
    eventType: "m.room.message",
    sender: "@a:x",
    key: undefined,
    streamOrdering,
    originServerTs: streamOrdering * 10,
    ...extra,
  };
}

forEachEngine("RelationStore", (getDb) => {
  it("stores children, lists them by position with filters and recursion, and forgets removed ones", async () => {
    const store = new RelationStore(getDb());
    await store.write({
      add: [
        row("$c1", "$p", "m.thread", 1),
        row("$c2", "$p", "m.thread", 2, { sender: "@b:x" }),
        row("$c3", "$p", "m.reference", 3, { eventType: "org.example.vote" }),
        row("$g1", "$c1", "m.annotation", 4, { eventType: "m.reaction", key: "k" }),
        row("$g2", "$g1", "m.annotation", 5, { eventType: "m.reaction", key: "k" }),
        row("$other-room", "$p", "m.thread", 6, { roomId: "!elsewhere:x" }),
      ],
      threadRoots: [{ threadId: "$p", roomId: "!room:x", sender: "@root:x" }],
      remove: [],
      position: 6,
    });
    const children = (query: Partial<Parameters<RelationStore["children"]>[0]>) =>
      store.children({ roomId: "!room:x", parentId: "$p", dir: "b", limit: 50, depth: 1, ...query }).then((rows) => rows.map((r) => r.eventId));
    assert.deepEqual(await children({}), ["$c3", "$c2", "$c1"]);
    assert.deepEqual(await children({ dir: "f", after: 1 }), ["$c2", "$c3"]);
    assert.deepEqual(await children({ upTo: 2 }), ["$c2", "$c1"]);
    assert.deepEqual(await children({ relType: "m.reference" }), ["$c3"]);
    assert.deepEqual(await children({ relType: "m.thread", eventType: "org.example.vote" }), []);
    assert.deepEqual(await children({ depth: 2 }), ["$g1", "$c3", "$c2", "$c1"]);
    assert.deepEqual(await children({ depth: 3 }), ["$g2", "$g1", "$c3", "$c2", "$c1"]);
    assert.deepEqual(await children({ depth: 3, limit: 2 }), ["$g2", "$g1"]);
    assert.equal(await store.hasAnnotation("$c1", "@a:x", "m.reaction", "k"), true);
    assert.equal(await store.hasAnnotation("$c1", "@a:x", "m.reaction", "other"), false);
    const byParent = await store.childrenOfParents("!room:x", ["$p", "$c1"], "m.thread");
    assert.deepEqual(byParent.get("$p")?.map((r) => r.eventId), ["$c1", "$c2"]);
    assert.equal(byParent.get("$c1"), undefined);
    // Several types at once, parents of several rooms: a child in another room than its parent is none.
    const many = await store.childrenOfParentsIn(new Map([["$p", "!room:x"], ["$c1", "!room:x"], ["$absent", "!room:x"]]), ["m.thread", "m.reference"]);
    assert.deepEqual(many.get("$p")?.map((r) => [r.eventId, r.relType]), [["$c1", "m.thread"], ["$c2", "m.thread"], ["$c3", "m.reference"]]);
    assert.deepEqual([...many.keys()], ["$p"]);
    const elsewhere = await store.childrenOfParentsIn(new Map([["$p", "!elsewhere:x"]]), ["m.thread"]);
    assert.deepEqual(elsewhere.get("$p")?.map((r) => r.eventId), ["$other-room"]);

    await store.write({ add: [], threadRoots: [], remove: ["$g1"], position: 7 });
    assert.equal(await store.hasAnnotation("$c1", "@a:x", "m.reaction", "k"), false);
    assert.deepEqual((await store.relationsOf(["$g1", "$g2"])).size, 1);
  });

  it("lists threads by latest activity, and those a user took part in", async () => {
    const store = new RelationStore(getDb());
    await store.write({
      add: [row("$t1", "$A", "m.thread", 10, { roomId: "!t:x", sender: "@b:x" }), row("$t2", "$B", "m.thread", 11, { roomId: "!t:x", sender: "@c:x" }), row("$t3", "$A", "m.thread", 12, { roomId: "!t:x", sender: "@c:x" })],
      threadRoots: [
        { threadId: "$A", roomId: "!t:x", sender: "@a:x" },
        { threadId: "$B", roomId: "!t:x", sender: undefined },
      ],
      remove: [],
      position: 12,
    });
    const threads = (options: { upTo?: number; participant?: string }) =>
      store.threads("!t:x", { upTo: options.upTo, limit: 10, participant: options.participant }).then((t) => t.map((x) => [x.threadId, x.latestStreamOrdering]));
    assert.deepEqual(await threads({}), [["$A", 12], ["$B", 11]]);
    assert.deepEqual(await threads({ upTo: 11 }), [["$B", 11]]);
    assert.deepEqual(await threads({ participant: "@a:x" }), [["$A", 12]]);
    assert.deepEqual(await threads({ participant: "@c:x" }), [["$A", 12], ["$B", 11]]);
    assert.deepEqual(await threads({ participant: "@d:x" }), []);
  });

  it("keeps the position it has read to, never moving it back", async () => {
    const store = new RelationStore(getDb());
    await store.write({ add: [], threadRoots: [], remove: [], position: 100 });
    await store.write({ add: [], threadRoots: [], remove: [], position: 50 });
    assert.equal(await store.position(), 100);
  });
});
