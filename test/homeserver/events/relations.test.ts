import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { RelationsIndexer } from "../../../src/homeserver/events/relations/indexer.ts";
import { RelationStore } from "../../../src/storage/stores/relations.ts";
import { engines } from "../../storage/engines.ts";
import type { TestHomeserver } from "../harness.ts";
import {
  assertError,
  call,
  createRoom,
  enc,
  get,
  getOk,
  ids,
  registerUser,
  relatesTo,
  relationsOf,
  roomPath,
  send,
  setMembership,
  settled,
  startEventsHomeserver,
  text,
  type TestUser,
} from "./helpers.ts";

const edit = (original: string, body: string): JsonObject => ({ ...text(`* ${body}`), "m.new_content": text(body), ...relatesTo("m.replace", original) });
const reaction = (target: string, key: string): JsonObject => relatesTo("m.annotation", target, { key });

for (const engine of engines) {
  describe(`relations, threads and aggregations [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let roomId: string;
    before(async () => {
      hs = await startEventsHomeserver(engine);
      alice = await registerUser(hs, "alice");
      bob = await registerUser(hs, "bob");
      carol = await registerUser(hs, "carol");
      roomId = await createRoom(hs, alice);
      await setMembership(hs, roomId, bob, "join");
      await setMembership(hs, roomId, carol, "join");
    });
    after(() => hs.stop());

    const eventPath = (eventId: string, room = roomId) => roomPath(room, `/event/${enc(eventId)}`);
    const relationsPath = (eventId: string, rest = "", room = roomId) => roomPath(room, `/relations/${enc(eventId)}${rest}`, "v1");

    /** An event sent through the room engine at a chosen origin_server_ts. */
    async function sendAt(user: TestUser, content: JsonObject, originServerTs: number, type = "m.room.message"): Promise<string> {
      const { eventId } = await hs.server.services.roomserver.createLocalEvent({ roomId, type, sender: user.userId, content, originServerTs });
      await settled(hs);
      return eventId;
    }

    it("bundles the most recent valid edit, and falls back when it is redacted", async () => {
      const original = await send(hs, alice, roomId, text("original"));
      const t = Date.now();
      const older = await sendAt(alice, edit(original, "first edit"), t + 1000);
      const newer = await sendAt(alice, edit(original, "second edit"), t + 2000);
      // Not valid: another sender, no m.new_content, another event type.
      await sendAt(bob, edit(original, "bob's edit"), t + 3000);
      await sendAt(alice, { ...text("no new content"), ...relatesTo("m.replace", original) }, t + 4000);
      await sendAt(alice, edit(original, "other type"), t + 5000, "org.example.other");
      let bundled = relationsOf(await getOk(hs, carol, eventPath(original)))?.["m.replace"];
      assert.equal(bundled?.["event_id"], newer);
      assert.deepEqual((bundled?.["content"] as JsonObject)["m.new_content"], text("second edit"));
      // The original content is left intact.
      assert.deepEqual((await getOk(hs, carol, eventPath(original)))["content"], text("original"));

      // Redacting the latest edit reverts to the one before.
      await call(hs, "PUT", roomPath(roomId, `/redact/${enc(newer)}/e1`), { token: alice.accessToken, body: {} });
      await settled(hs);
      bundled = relationsOf(await getOk(hs, carol, eventPath(original)))?.["m.replace"];
      assert.equal(bundled?.["event_id"], older);

      // A redacted original gets no m.replace at all.
      await call(hs, "PUT", roomPath(roomId, `/redact/${enc(original)}/e2`), { token: alice.accessToken, body: {} });
      await settled(hs);
      assert.equal(relationsOf(await getOk(hs, carol, eventPath(original)))?.["m.replace"], undefined);
    });

    it("breaks ties between edits at the same timestamp by the larger event ID", async () => {
      const original = await send(hs, alice, roomId, text("tied"));
      const t = Date.now() + 10_000;
      const a = await sendAt(alice, edit(original, "a"), t);
      const b = await sendAt(alice, edit(original, "b"), t);
      const bundled = relationsOf(await getOk(hs, alice, eventPath(original)))?.["m.replace"];
      assert.equal(bundled?.["event_id"], a > b ? a : b);
    });

    it("refuses a duplicate annotation until the first is redacted, and does not bundle annotations", async () => {
      const target = await send(hs, alice, roomId, text("react to me"));
      const first = await send(hs, bob, roomId, reaction(target, "👍"), "m.reaction");
      assertError(
        await call(hs, "PUT", roomPath(roomId, "/send/m.reaction/dup1"), { token: bob.accessToken, body: reaction(target, "👍") }),
        400,
        "M_DUPLICATE_ANNOTATION",
      );
      await send(hs, bob, roomId, reaction(target, "🎉"), "m.reaction");
      await send(hs, carol, roomId, reaction(target, "👍"), "m.reaction");
      // Concurrent identical annotations: one wins.
      const racing = await Promise.all(
        [1, 2, 3].map((i) => call(hs, "PUT", roomPath(roomId, `/send/m.reaction/race${i}`), { token: alice.accessToken, body: reaction(target, "🚀") })),
      );
      assert.deepEqual(racing.map((r) => r.status).sort(), [200, 400, 400]);
      await call(hs, "PUT", roomPath(roomId, `/redact/${enc(first)}/a1`), { token: bob.accessToken, body: {} });
      await send(hs, bob, roomId, reaction(target, "👍"), "m.reaction");
      assert.equal(relationsOf(await getOk(hs, alice, eventPath(target))), undefined);
      const annotations = await getOk(hs, alice, relationsPath(target, "/m.annotation"));
      assert.equal(ids(annotations["chunk"]).length, 4);
      assert.ok(!ids(annotations["chunk"]).includes(first));
    });

    it("aggregates a thread: count, latest event with its own aggregations, participation", async () => {
      const root = await send(hs, alice, roomId, text("thread root"));
      const r1 = await send(hs, bob, roomId, { ...text("reply 1"), ...relatesTo("m.thread", root) });
      await send(hs, bob, roomId, { ...text("reply 2"), ...relatesTo("m.thread", root) });
      const r3 = await send(hs, bob, roomId, { ...text("reply 3"), ...relatesTo("m.thread", root, { is_falling_back: true, "m.in_reply_to": { event_id: r1 } }) });
      const r3edit = await send(hs, bob, roomId, edit(r3, "reply 3, edited"));
      const forAlice = relationsOf(await getOk(hs, alice, eventPath(root)))?.["m.thread"];
      assert.equal(forAlice?.["count"], 3);
      assert.equal(forAlice?.["current_user_participated"], true);
      const latest = forAlice?.["latest_event"] as Record<string, unknown>;
      assert.equal(latest["event_id"], r3);
      assert.equal(relationsOf(latest)?.["m.replace"]?.["event_id"], r3edit);
      assert.equal(relationsOf(await getOk(hs, bob, eventPath(root)))?.["m.thread"]?.["current_user_participated"], true);
      assert.equal(relationsOf(await getOk(hs, carol, eventPath(root)))?.["m.thread"]?.["current_user_participated"], false);
      // The thread's events, newest first.
      const threadEvents = await getOk(hs, carol, relationsPath(root, "/m.thread"));
      assert.equal(ids(threadEvents["chunk"]).length, 3);
      assert.equal(ids(threadEvents["chunk"])[0], r3);
    });

    it("refuses a thread off an event that is itself a relation (400 M_UNKNOWN)", async () => {
      const root = await send(hs, alice, roomId, text("root"));
      const reply = await send(hs, bob, roomId, { ...text("in thread"), ...relatesTo("m.thread", root) });
      assertError(
        await call(hs, "PUT", roomPath(roomId, "/send/m.room.message/nested"), { token: bob.accessToken, body: { ...text("nested"), ...relatesTo("m.thread", reply) } }),
        400,
        "M_UNKNOWN",
      );
    });

    it("bundles references as a chunk of event IDs", async () => {
      const target = await send(hs, alice, roomId, text("referenced"));
      const one = await send(hs, bob, roomId, relatesTo("m.reference", target), "org.example.vote");
      const two = await send(hs, carol, roomId, relatesTo("m.reference", target), "org.example.vote");
      const bundled = relationsOf(await getOk(hs, alice, eventPath(target)))?.["m.reference"];
      assert.deepEqual(bundled, { chunk: [{ event_id: one }, { event_id: two }] });
    });

    it("lists children by relation type and event type, paginated both ways, and recursively", async () => {
      const parent = await send(hs, alice, roomId, text("parent"));
      const children: string[] = [];
      for (let i = 0; i < 5; i++) children.push(await send(hs, bob, roomId, { ...text(`child ${i}`), ...relatesTo("m.thread", parent) }));
      const vote = await send(hs, carol, roomId, relatesTo("m.reference", parent), "org.example.vote");
      const grandchild = await send(hs, carol, roomId, reaction(children[0]!, "👀"), "m.reaction");

      const all = await getOk(hs, alice, relationsPath(parent, "?limit=50"));
      assert.deepEqual(ids(all["chunk"]), [vote, ...[...children].reverse()]);
      assert.equal(all["next_batch"], undefined);
      assert.equal(all["recursion_depth"], undefined);
      assert.deepEqual(ids((await getOk(hs, alice, relationsPath(parent, "/m.reference")))["chunk"]), [vote]);
      assert.deepEqual(ids((await getOk(hs, alice, relationsPath(parent, "/m.thread/org.example.vote")))["chunk"]), []);
      assert.equal(ids((await getOk(hs, alice, relationsPath(parent, "/m.thread/m.room.message?limit=50")))["chunk"]).length, 5);

      // Pages of two, backwards then forwards, cover the children exactly once.
      for (const dir of ["b", "f"] as const) {
        const seen: string[] = [];
        let from: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await getOk(hs, alice, relationsPath(parent, `/m.thread?limit=2&dir=${dir}${from === undefined ? "" : `&from=${enc(from)}`}`));
          seen.push(...ids(page["chunk"]));
          if (page["next_batch"] === undefined) break;
          from = page["next_batch"] as string;
        }
        assert.deepEqual(seen, dir === "f" ? children : [...children].reverse());
      }

      const recursive = await getOk(hs, alice, relationsPath(parent, "?recurse=true&limit=50"));
      assert.ok(ids(recursive["chunk"]).includes(grandchild));
      assert.equal(recursive["recursion_depth"], 3);
      const direct = await getOk(hs, alice, relationsPath(parent, "?recurse=false&limit=50"));
      assert.ok(!ids(direct["chunk"]).includes(grandchild));
      assert.equal(direct["recursion_depth"], 1);
      // A filter applies at every level: the reaction hangs off a thread event, not a reference.
      assert.deepEqual(ids((await getOk(hs, alice, relationsPath(parent, "/m.annotation?recurse=true")))["chunk"]), []);

      assertError(await get(hs, alice, relationsPath("$unknown")), 404, "M_NOT_FOUND");
      assertError(await get(hs, alice, relationsPath(parent, "?from=garbage")), 400, "M_INVALID_PARAM");
      assertError(await get(hs, alice, relationsPath(parent, "?recurse=maybe")), 400, "M_INVALID_PARAM");
    });

    it("lists threads, latest activity first, all or participated, page by page", async () => {
      const room = await createRoom(hs, alice);
      await setMembership(hs, room, bob, "join");
      await setMembership(hs, room, carol, "join");
      const rootA = await send(hs, alice, room, text("A"));
      const rootB = await send(hs, bob, room, text("B"));
      const rootC = await send(hs, carol, room, text("C"));
      await send(hs, bob, room, { ...text("in A"), ...relatesTo("m.thread", rootA) });
      await send(hs, carol, room, { ...text("in C"), ...relatesTo("m.thread", rootC) });
      await send(hs, alice, room, { ...text("in B"), ...relatesTo("m.thread", rootB) });
      const threadsPath = (query: string) => roomPath(room, `/threads${query}`, "v1");
      const all = await getOk(hs, carol, threadsPath(""));
      assert.deepEqual(ids(all["chunk"]), [rootB, rootC, rootA]);
      assert.ok(relationsOf((all["chunk"] as Array<Record<string, unknown>>)[0]!)?.["m.thread"]);
      // Carol started C; bob replied in A and started B; alice started A and replied in B.
      assert.deepEqual(ids((await getOk(hs, carol, threadsPath("?include=participated")))["chunk"]), [rootC]);
      assert.deepEqual(ids((await getOk(hs, bob, threadsPath("?include=participated")))["chunk"]), [rootB, rootA]);
      const seen: string[] = [];
      let from: string | undefined;
      for (let i = 0; i < 5; i++) {
        const page = await getOk(hs, alice, threadsPath(`?limit=1${from === undefined ? "" : `&from=${enc(from)}`}`));
        seen.push(...ids(page["chunk"]));
        if (page["next_batch"] === undefined) break;
        from = page["next_batch"] as string;
      }
      assert.deepEqual(seen, [rootB, rootC, rootA]);
      assertError(await get(hs, alice, threadsPath("?include=mine")), 400, "M_INVALID_PARAM");
      const stranger = await registerUser(hs, `threadstranger${engine}`);
      assertError(await get(hs, stranger, threadsPath("")), 403, "M_FORBIDDEN");
    });

    it("never shows a child event the visibility rules hide, in a list or an aggregation", async () => {
      const room = await createRoom(hs, alice, { historyVisibility: "joined" });
      await setMembership(hs, room, carol, "join");
      const root = await send(hs, alice, room, text("root while carol is here"));
      const seenReply = await send(hs, alice, room, { ...text("carol sees this"), ...relatesTo("m.thread", root) });
      await setMembership(hs, room, carol, "leave");
      const hiddenReply = await send(hs, alice, room, { ...text("after carol left"), ...relatesTo("m.thread", root) });
      await send(hs, alice, room, edit(root, "edited after carol left"));
      await send(hs, alice, room, relatesTo("m.reference", root), "org.example.vote");

      const forCarol = await getOk(hs, carol, eventPath(root, room));
      const thread = relationsOf(forCarol)?.["m.thread"];
      assert.equal((thread?.["latest_event"] as Record<string, unknown>)["event_id"], seenReply);
      assert.equal(relationsOf(forCarol)?.["m.replace"], undefined);
      assert.equal(relationsOf(forCarol)?.["m.reference"], undefined);
      assert.deepEqual(ids((await getOk(hs, carol, relationsPath(root, "", room)))["chunk"]), [seenReply]);
      // Alice sees everything.
      const forAlice = await getOk(hs, alice, eventPath(root, room));
      assert.equal((relationsOf(forAlice)?.["m.thread"]?.["latest_event"] as Record<string, unknown>)["event_id"], hiddenReply);
      // A user who never saw the parent gets 404, not its children.
      const dave = await registerUser(hs, `dave${engine}`);
      await setMembership(hs, room, dave, "join");
      assertError(await get(hs, dave, relationsPath(root, "", room)), 404, "M_NOT_FOUND");
    });

    it("catches up at start with relations committed while it was not listening", async () => {
      const services = hs.server.services;
      await services.events.relationsIndexer.close();
      const parent = await send(hs, alice, roomId, text("parent while the index sleeps"));
      const { eventId: child } = await services.roomserver.createLocalEvent({
        roomId,
        type: "m.room.message",
        sender: bob.userId,
        content: { ...text("child"), ...relatesTo("m.reference", parent) },
      });
      const store = new RelationStore(services.db);
      assert.equal((await store.relationsOf([child])).size, 0);
      const indexer = new RelationsIndexer({
        roomserver: services.roomserver,
        store,
        streamSince: (position, limit) => services.roomserver.store.streamSince(position, limit),
      });
      await indexer.start();
      assert.equal((await store.relationsOf([child])).get(child)?.relatesToId, parent);
      await indexer.close();
    });

    it("keeps the stored position behind a write that failed, so that the next start indexes what it lost", async () => {
      const services = hs.server.services;
      const store = new RelationStore(services.db);
      // A store whose first write fails, as a full disk would.
      class FlakyStore extends RelationStore {
        failNext = true;
        override async write(write: Parameters<RelationStore["write"]>[0]): Promise<void> {
          if (this.failNext) {
            this.failNext = false;
            throw new Error("disk full");
          }
          await super.write(write);
        }
      }
      const flaky = new FlakyStore(services.db);
      const indexer = new RelationsIndexer({ roomserver: services.roomserver, store: flaky, streamSince: (p, l) => services.roomserver.store.streamSince(p, l), logger: { error: () => undefined } });
      await indexer.start();
      const before = await store.position();
      const parent = await send(hs, alice, roomId, text("parent of a lost child"));
      const lost = (await services.roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: bob.userId, content: { ...text("lost"), ...relatesTo("m.reference", parent) } })).eventId;
      await indexer.settled();
      const kept = (await services.roomserver.createLocalEvent({ roomId, type: "m.room.message", sender: bob.userId, content: { ...text("kept"), ...relatesTo("m.reference", parent) } })).eventId;
      await indexer.settled();
      await indexer.close();
      assert.equal((await store.relationsOf([kept])).get(kept)?.relatesToId, parent);
      assert.ok((await store.position()) <= before, "the stored position did not pass the lost write");
      // The next start reads the lost relation again.
      const next = new RelationsIndexer({ roomserver: services.roomserver, store, streamSince: (p, l) => services.roomserver.store.streamSince(p, l) });
      await next.start();
      assert.equal((await store.relationsOf([lost])).get(lost)?.relatesToId, parent);
      await next.close();
    });
  });
}
