// The user directory's own tables on both engines, marked stale by the membership index and
// rewritten by the refresh: remote users' profiles from their member events, the catch-up after a
// restart, replays, the grams always those of each user's search text, refreshes asked for while
// one runs, a join of many users at once, and the fill of a database upgraded from before the tables.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { JsonObject } from "../../../src/core/json.ts";
import { RoomStateReader } from "../../../src/homeserver/rooms/room-state.ts";
import { UserDirectoryService } from "../../../src/homeserver/rooms/user-directory.ts";
import type { Roomserver } from "../../../src/homeserver/roomserver/index.ts";
import type { Database } from "../../../src/storage/database.ts";
import { openDatabase } from "../../../src/storage/database.ts";
import { migrations } from "../../../src/storage/migrations/index.ts";
import { MembershipStore } from "../../../src/storage/stores/memberships.ts";
import { directoryGrams, UserDirectoryStore } from "../../../src/storage/stores/user-directory.ts";
import { createTestStorage, forEachEngine } from "../../storage/engines.ts";
import { local, placeRemoteEvent, remote, REMOTE, RemoteServer, remoteKey, startRoomserver, version } from "../roomserver/harness.ts";
import { indexOver, publicRoom } from "./engine.ts";

function directoryOver(db: Database, roomserver: Roomserver): UserDirectoryService {
  return new UserDirectoryService({ store: new UserDirectoryStore(db), states: new RoomStateReader(roomserver) });
}

async function results(directory: UserDirectoryService, searcher: string, term: string): Promise<unknown> {
  return (await directory.search(searcher, term, 10))["results"];
}

async function joinAs(roomserver: Roomserver, roomId: string, userId: string, content: JsonObject = {}): Promise<number> {
  const sent = await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: userId, sender: userId, content: { membership: "join", ...content } });
  return sent.streamOrdering ?? 0;
}

/** Every user's grams are those of their search text, and no other user has any. */
async function assertGramsMatchText(db: Database): Promise<void> {
  const { rows, grams } = await db.read("test_directory", async (trx) => ({
    rows: await trx.selectFrom("user_directory").select(["user_id", "search_text"]).execute(),
    grams: await trx.selectFrom("user_directory_grams").select(["gram", "user_id"]).execute(),
  }));
  const byUser = new Map<string, string[]>();
  for (const g of grams) byUser.set(g.user_id, [...(byUser.get(g.user_id) ?? []), g.gram]);
  assert.deepEqual([...byUser.keys()].sort(), rows.map((r) => r.user_id).sort());
  for (const r of rows) assert.deepEqual((byUser.get(r.user_id) ?? []).sort(), [...directoryGrams(r.search_text)].sort(), r.user_id);
}

async function staleCount(db: Database): Promise<number> {
  return (await db.read("test_directory_stale", (trx) => trx.selectFrom("user_directory_stale").select("user_id").execute())).length;
}

forEachEngine("user directory tables", (getDb) => {
  it("takes remote users' profiles from their member events, and drops them when they leave", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const index = indexOver(db, roomserver);
    await index.start();
    const directory = directoryOver(db, roomserver);
    const [alice, stranger, bob] = [local("rd_alice"), local("rd_stranger"), remote("rd_bob")];
    const { roomId } = await publicRoom(roomserver, alice);
    const server = new RemoteServer(REMOTE, remoteKey, version("10"));
    const send = async (content: JsonObject) => {
      const pdu = await placeRemoteEvent(roomserver, server, roomId, { type: "m.room.member", stateKey: bob, sender: bob, content });
      const result = await roomserver.input({ kind: "new", pdu });
      assert.equal(result.outcome, "accepted");
      await index.waitUntil(result.outcome === "accepted" ? (result.streamOrdering ?? 0) : 0);
    };

    await send({ membership: "join", displayname: "Remote Robert", avatar_url: "mxc://remote.test/bob" });
    assert.deepEqual(await results(directory, stranger, "robert REMOTE"), [{ user_id: bob, display_name: "Remote Robert", avatar_url: "mxc://remote.test/bob" }]);
    assert.deepEqual(await results(directory, stranger, "remote.test"), [{ user_id: bob, display_name: "Remote Robert", avatar_url: "mxc://remote.test/bob" }]);

    await send({ membership: "join", displayname: "Bobby Remote" });
    assert.deepEqual(await results(directory, stranger, "robert"), []);
    assert.deepEqual(await results(directory, stranger, "bobby"), [{ user_id: bob, display_name: "Bobby Remote" }]);
    assert.deepEqual(await new UserDirectoryStore(db).entry(bob), { displayName: "Bobby Remote", avatarUrl: null, searchText: `${bob}\nbobby remote` });

    await send({ membership: "leave" });
    assert.deepEqual(await results(directory, stranger, "bobby"), []);
    assert.equal(await new UserDirectoryStore(db).entry(bob), undefined);
    await assertGramsMatchText(db);
    await index.close();
  });

  it("catches up after a restart with what changed while the index was down", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const first = indexOver(db, roomserver);
    await first.start();
    const [alice, bob, carol, stranger] = [local("cu_alice"), local("cu_bob"), local("cu_carol"), local("cu_stranger")];
    const { roomId } = await publicRoom(roomserver, alice);
    await first.waitUntil(await joinAs(roomserver, roomId, bob, { displayname: "Before Name" }));
    const directory = directoryOver(db, roomserver);
    assert.deepEqual(await results(directory, stranger, "before"), [{ user_id: bob, display_name: "Before Name" }]);
    await first.close();

    // Nothing listens now: these commit while the index is down.
    await joinAs(roomserver, roomId, bob, { displayname: "After Name" });
    const last = await joinAs(roomserver, roomId, carol, { displayname: "Carol After" });

    const restarted = indexOver(db, roomserver);
    await restarted.start();
    await restarted.waitUntil(last);
    assert.deepEqual(await results(directory, stranger, "before"), []);
    assert.deepEqual(await results(directory, stranger, "after"), [
      { user_id: bob, display_name: "After Name" },
      { user_id: carol, display_name: "Carol After" },
    ]);
    await assertGramsMatchText(db);

    // A replay of the whole stream over the rows already there changes nothing.
    await restarted.close();
    const before = await db.read("test_directory_rows", (trx) => trx.selectFrom("user_directory").selectAll().orderBy("user_id").execute());
    await new MembershipStore(db).setCheckpoint(0);
    const replayed = indexOver(db, roomserver);
    await replayed.start();
    await replayed.waitUntil(last);
    await directory.refresh();
    assert.equal(await staleCount(db), 0);
    assert.deepEqual(await db.read("test_directory_rows", (trx) => trx.selectFrom("user_directory").selectAll().orderBy("user_id").execute()), before);
    await assertGramsMatchText(db);
    await replayed.close();
  });

  it("writes no directory rows in a join's own transaction: a join of many users is marked, then rewritten a chunk at a time", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const memberships = new MembershipStore(db);
    const users = Array.from({ length: 40 }, (_, i) => remote(`many_${String(i).padStart(2, "0")}`));
    await memberships.apply({
      writes: users.map((userId, i) => ({
        roomId: "!many:remote.test",
        userId,
        serverName: "remote.test",
        membership: "join" as const,
        eventId: `$many${i}`,
        streamOrdering: 1000 + i,
        displayName: `Many ${i}`,
        avatarUrl: null,
      })),
      roomPositions: new Map([["!many:remote.test", 1040]]),
    });
    assert.equal(await staleCount(db), 40);
    const rowsNow = await db.read("test_directory_grams", (trx) => trx.selectFrom("user_directory_grams").select("user_id").where("user_id", "in", users).execute());
    assert.equal(rowsNow.length, 0);

    const store = new UserDirectoryStore(db);
    assert.equal(await store.refreshStale(16), 16);
    assert.equal(await staleCount(db), 24);
    await directoryOver(db, roomserver).refresh();
    assert.equal(await staleCount(db), 0);
    assert.deepEqual(await store.entry(users[39] as string), { displayName: "Many 39", avatarUrl: null, searchText: `${users[39]}\nmany 39` });
    await assertGramsMatchText(db);
  });

  it("refreshes without a write transaction when no user is stale (every search asks)", async () => {
    const db = getDb();
    let writes = 0;
    const counting = new Proxy(db, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (key === "write") writes++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const store = new UserDirectoryStore(counting);
    while ((await store.refreshStale(16)) > 0);
    writes = 0;
    assert.equal(await store.refreshStale(16), 0);
    assert.equal(writes, 0);
    const user = remote("quiet_user");
    await new MembershipStore(db).apply({
      writes: [{ roomId: "!quiet:remote.test", userId: user, serverName: "remote.test", membership: "join", eventId: "$quiet", streamOrdering: 5000, displayName: "Quiet", avatarUrl: null }],
      roomPositions: new Map([["!quiet:remote.test", 5000]]),
    });
    assert.equal(await store.refreshStale(16), 1);
    assert.equal(writes, 1);
    assert.equal((await store.entry(user))?.displayName, "Quiet");
  });

  it("shares one refresh among the calls made while another runs, and a refresh asked for later covers users marked since", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const index = indexOver(db, roomserver);
    await index.start();
    const directory = directoryOver(db, roomserver);
    const [alice, bob, carol] = [local("rf_alice"), local("rf_bob"), local("rf_carol")];
    const { roomId } = await publicRoom(roomserver, alice);
    await index.waitUntil(await joinAs(roomserver, roomId, bob, { displayname: "Refresh Bob" }));
    const first = directory.refresh();
    const next = directory.refresh();
    assert.notEqual(first, next, "a call while a refresh runs gets the one that follows it");
    assert.equal(directory.refresh(), next, "calls made meanwhile share it");
    await index.waitUntil(await joinAs(roomserver, roomId, carol, { displayname: "Refresh Carol" }));
    // Carol was marked after the first began, maybe after the next began too: a refresh asked for now covers her.
    await directory.refresh();
    await Promise.all([first, next]);
    const store = new UserDirectoryStore(db);
    assert.equal((await store.entry(bob))?.displayName, "Refresh Bob");
    assert.equal((await store.entry(carol))?.displayName, "Refresh Carol");
    assert.equal(await staleCount(db), 0);
    await index.close();
  });

  it("pages through many matches in user ID order, stops at the limit, and reads a bounded number of users", async () => {
    const db = getDb();
    const { roomserver } = startRoomserver(db);
    const index = indexOver(db, roomserver);
    await index.start();
    const directory = directoryOver(db, roomserver);
    const owner = local("pg_owner");
    const { roomId } = await publicRoom(roomserver, owner);
    // A room closed once its users are in: they are visible only to each other.
    const closer = local("pg_closed");
    const { roomId: closed } = await publicRoom(roomserver, closer);
    const users = Array.from({ length: 130 }, (_, i) => local(`pg_user${String(i).padStart(3, "0")}`));
    for (const [i, user] of users.entries()) await joinAs(roomserver, i % 2 === 0 ? roomId : closed, user, { displayname: `Pager ${i}` });
    const shut = await roomserver.createLocalEvent({ roomId: closed, type: "m.room.join_rules", stateKey: "", sender: closer, content: { join_rule: "invite" } });
    await index.waitUntil(shut.streamOrdering ?? 0);
    const open = users.filter((_, i) => i % 2 === 0);

    const all = await directory.search(local("pg_searcher"), "pager", 100);
    assert.deepEqual((all["results"] as Array<{ user_id: string }>).map((r) => r.user_id), open.slice(0, 65));
    assert.equal(all["limited"], false);
    const some = await directory.search(local("pg_searcher"), "PG_USER pager", 7);
    assert.deepEqual((some["results"] as Array<{ user_id: string }>).map((r) => r.user_id), open.slice(0, 7));
    assert.equal(some["limited"], true);
    assert.deepEqual(await results(directory, local("pg_searcher"), "pager 129"), []);
    assert.deepEqual(await results(directory, users[129] as string, "pager 129"), [{ user_id: users[129], display_name: "Pager 129" }]);

    // Bounded: after reading 20 users of the index (10 of them visible), it answers with those and says more may match.
    const bounded = new UserDirectoryService({ store: new UserDirectoryStore(db), states: new RoomStateReader(roomserver), maxExamined: 20 });
    const first = await bounded.search(local("pg_searcher"), "pager", 10);
    assert.deepEqual((first["results"] as Array<{ user_id: string }>).map((r) => r.user_id), open.slice(0, 10));
    assert.equal(first["limited"], true);
    await index.close();
  });
});

forEachEngine("user directory migration", (_getDb, engine) => {
  it("fills the directory of a database upgraded from before it, from the member events", async () => {
    const storage = await createTestStorage(engine);
    try {
      const old = await openDatabase(storage.config, { migrations: migrations.slice(0, 23) });
      const { roomserver } = startRoomserver(old);
      const [alice, bob] = [local("mg_alice"), local("mg_bob")];
      const { roomId } = await publicRoom(roomserver, alice);
      const sent = await roomserver.createLocalEvent({ roomId, type: "m.room.member", stateKey: bob, sender: bob, content: { membership: "join", displayname: "Migrated Bob", avatar_url: "mxc://x/y" } });
      const aliceJoin = (await roomserver.currentState(roomId))?.get(`m.room.member\u0000${alice}`);
      assert.ok(aliceJoin !== undefined);
      // The membership index's rows as migration 5 made them (no profile columns yet).
      await old.write("test_rows", async (trx) => {
        for (const [userId, eventId, position] of [[alice, aliceJoin, 1], [bob, sent.eventId, sent.streamOrdering ?? 2]] as const) {
          await trx
            .withTables<{ room_memberships: { room_id: string; user_id: string; server_name: string; membership: string; event_id: string; stream_ordering: number } }>()
            .insertInto("room_memberships")
            .values({ room_id: roomId, user_id: userId, server_name: "local.test", membership: "join", event_id: eventId, stream_ordering: position })
            .execute();
        }
      });
      await old.close();

      const db = await openDatabase(storage.config);
      try {
        assert.equal(db.schemaVersion, migrations.length);
        // The upgrade marks the joined users; their rows are written by the refresh that follows a start.
        assert.equal(await staleCount(db), 2);
        await directoryOver(db, startRoomserver(db).roomserver).refresh();
        assert.equal(await staleCount(db), 0);
        const store = new UserDirectoryStore(db);
        assert.deepEqual(await store.entry(bob), { displayName: "Migrated Bob", avatarUrl: "mxc://x/y", searchText: `${bob}\nmigrated bob` });
        assert.deepEqual(await store.entry(alice), { displayName: null, avatarUrl: null, searchText: alice });
        await assertGramsMatchText(db);
        const directory = directoryOver(db, startRoomserver(db).roomserver);
        assert.deepEqual(await results(directory, local("mg_stranger"), "migrated"), [{ user_id: bob, display_name: "Migrated Bob", avatar_url: "mxc://x/y" }]);
      } finally {
        await db.close();
      }
    } finally {
      await storage.drop();
    }
  });
});
