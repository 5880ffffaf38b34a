/**
 * End to end with the real client SDK (issue 5): two matrix-js-sdk clients, each syncing against
 * Weft, create a room, invite and join, exchange messages, see each other typing and reading, edit,
 * react, reply in a thread, redact, change names, page back through history and leave; each
 * client's timeline holds what was sent, in order.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ClientEvent,
  createClient,
  EventType,
  MsgType,
  PendingEventOrdering,
  ReceiptType,
  RelationType,
  SyncState,
  type MatrixClient,
  type Room,
} from "matrix-js-sdk";
import { engines } from "../storage/engines.ts";
import { quiet, waitFor } from "./sdk.ts";
import { registerUser, type TestUser } from "../homeserver/api/client/helpers.ts";
import { startTestHomeserver, type TestHomeserver } from "../homeserver/harness.ts";
import { SYNC_YAML } from "../homeserver/sync/helpers.ts";

function clientFor(hs: TestHomeserver, user: TestUser): MatrixClient {
  return createClient({
    baseUrl: hs.baseUrl,
    userId: user.userId,
    accessToken: user.accessToken,
    deviceId: user.deviceId,
    logger: quiet(),
  });
}

/** Starts the client and resolves once its first sync is processed (the PREPARED state). */
async function start(client: MatrixClient, initialSyncLimit = 20): Promise<void> {
  const prepared = new Promise<void>((resolve) => {
    const onSync = (state: SyncState): void => {
      if (state !== SyncState.Prepared) return;
      client.off(ClientEvent.Sync, onSync);
      resolve();
    };
    client.on(ClientEvent.Sync, onSync);
  });
  // Detached: a sent event joins the timeline when the server sends it back, in the server's order.
  await client.startClient({ initialSyncLimit, threadSupport: true, pendingEventOrdering: PendingEventOrdering.Detached });
  await prepared;
}

/** Resolves once `check` holds, looking again after every sync the client processes. */
function until(client: MatrixClient, check: () => boolean): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const onSync = (): void => {
      if (!check()) return;
      client.off(ClientEvent.Sync, onSync);
      resolve();
    };
    client.on(ClientEvent.Sync, onSync);
  });
}

/** The IDs of the room messages (not edits) in the client's live timeline (the main one), oldest first. */
function messageIds(room: Room | null): string[] {
  return (room?.getLiveTimeline().getEvents() ?? [])
    .filter((e) => e.getType() === EventType.RoomMessage && !e.isRelation(RelationType.Replace))
    .map((e) => e.getId() as string);
}

for (const engine of engines) {
  describe(`two matrix-js-sdk clients in a room [${engine}]`, () => {
    let hs: TestHomeserver;
    let alice: TestUser;
    let bob: TestUser;
    const clients: MatrixClient[] = [];
    before(async () => {
      hs = await startTestHomeserver(engine, { yaml: SYNC_YAML });
      [alice, bob] = await Promise.all([registerUser(hs, "alice"), registerUser(hs, "bob")]);
    });
    after(async () => {
      for (const client of clients) client.stopClient();
      await hs.stop();
    });

    it("meets, talks, types, reads, edits, reacts, threads, redacts, renames, scrolls back and leaves", { timeout: 120_000 }, async () => {
      const a = clientFor(hs, alice);
      const b = clientFor(hs, bob);
      clients.push(a, b);
      await Promise.all([start(a), start(b)]);

      // Create, invite, join.
      const { room_id: roomId } = await a.createRoom({ name: "Tea room", invite: [bob.userId] });
      await until(b, () => b.getRoom(roomId)?.getMyMembership() === "invite");
      await b.joinRoom(roomId);
      await until(a, () => a.getRoom(roomId)?.getMember(bob.userId)?.membership === "join");
      assert.equal(b.getRoom(roomId)?.name, "Tea room");

      // Messages both ways, in order.
      const sent: string[] = [];
      sent.push((await a.sendTextMessage(roomId, "hello bob")).event_id);
      sent.push((await b.sendTextMessage(roomId, "hi alice")).event_id);
      sent.push((await a.sendTextMessage(roomId, "tea?")).event_id);
      for (const client of [a, b]) await until(client, () => sent.every((id) => messageIds(client.getRoom(roomId)).includes(id)));
      assert.deepEqual(messageIds(a.getRoom(roomId)), sent);
      assert.deepEqual(messageIds(b.getRoom(roomId)), sent);

      // Typing, seen by the other.
      await a.sendTyping(roomId, true, 30_000);
      await until(b, () => b.getRoom(roomId)?.getMember(alice.userId)?.typing === true);
      await a.sendTyping(roomId, false, 0);
      await until(b, () => b.getRoom(roomId)?.getMember(alice.userId)?.typing === false);

      // A read receipt, seen by the other.
      const teaEvent = b.getRoom(roomId)?.findEventById(sent[2] as string);
      assert.ok(teaEvent !== undefined);
      await b.sendReceipt(teaEvent, ReceiptType.Read, {}, true);
      await until(a, () => a.getRoom(roomId)?.getEventReadUpTo(bob.userId) === sent[2]);

      // An edit of alice's message: bob shows the new content.
      await a.sendEvent(roomId, EventType.RoomMessage, {
        msgtype: MsgType.Text,
        body: "* tea? or coffee?",
        "m.new_content": { msgtype: MsgType.Text, body: "tea? or coffee?" },
        "m.relates_to": { rel_type: RelationType.Replace, event_id: sent[2] as string },
      });
      await until(b, () => b.getRoom(roomId)?.findEventById(sent[2] as string)?.getContent()["body"] === "tea? or coffee?");

      // A reaction from bob, seen by alice.
      const reaction = await b.sendEvent(roomId, EventType.Reaction, {
        "m.relates_to": { rel_type: RelationType.Annotation, event_id: sent[0] as string, key: "👋" },
      });
      await until(a, () => a.getRoom(roomId)?.findEventById(reaction.event_id)?.getType() === EventType.Reaction);

      // A reply in a thread on "hi alice".
      const threadReply = await a.sendEvent(roomId, EventType.RoomMessage, {
        msgtype: MsgType.Text,
        body: "in a thread",
        "m.relates_to": { rel_type: RelationType.Thread, event_id: sent[1] as string },
      });
      await until(b, () => b.getRoom(roomId)?.getThread(sent[1] as string)?.findEventById(threadReply.event_id) !== undefined);
      assert.equal(b.getRoom(roomId)?.getThread(sent[1] as string)?.findEventById(threadReply.event_id)?.threadRootId, sent[1]);

      // Bob takes the reaction back: alice sees it redacted.
      await b.redactEvent(roomId, reaction.event_id);
      await until(a, () => a.getRoom(roomId)?.findEventById(reaction.event_id)?.isRedacted() === true);

      // Names: alice's display name and the room's.
      await a.setDisplayName("Alice Liddell");
      await until(b, () => b.getRoom(roomId)?.getMember(alice.userId)?.name === "Alice Liddell");
      await a.setRoomName(roomId, "Tea party");
      await until(b, () => b.getRoom(roomId)?.name === "Tea party");

      // More history than an initial sync carries, then a fresh client pages back through it all.
      for (let i = 0; i < 12; i++) sent.push((await b.sendTextMessage(roomId, `line ${i}`)).event_id);
      await until(a, () => messageIds(a.getRoom(roomId)).includes(sent.at(-1) as string));
      assert.deepEqual(messageIds(a.getRoom(roomId)), sent);
      const late = clientFor(hs, bob);
      clients.push(late);
      await start(late, 3);
      const room = late.getRoom(roomId);
      assert.ok(room !== null);
      assert.ok(messageIds(room).length < sent.length, "the initial sync holds only the newest events");
      for (let pages = 0; room.getLiveTimeline().getPaginationToken("b" as never) !== null && pages < 50; pages++) {
        await late.scrollback(room, 5);
      }
      assert.deepEqual(messageIds(room), sent, "paging back gives the whole history, in order");
      assert.equal(room.getLiveTimeline().getEvents()[0]?.getType(), EventType.RoomCreate);

      // Bob leaves: alice sees it, and bob's client knows.
      await b.leave(roomId);
      await until(a, () => a.getRoom(roomId)?.getMember(bob.userId)?.membership === "leave");
      await until(b, () => b.getRoom(roomId)?.getMyMembership() === "leave");
    });

    it("lets a client that is not in a world_readable room peek into it and follow it live", { timeout: 60_000 }, async () => {
      const a = clientFor(hs, alice);
      clients.push(a);
      const { room_id: roomId } = await a.createRoom({
        name: "Open lounge",
        initial_state: [{ type: EventType.RoomHistoryVisibility, state_key: "", content: { history_visibility: "world_readable" } }],
      });
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) sent.push((await a.sendTextMessage(roomId, `open ${i}`)).event_id);
      // Carol peeks without syncing (modules/room_previews.md: /rooms/{roomId}/initialSync, then /events).
      const carol = await registerUser(hs, "carol");
      const peeker = clientFor(hs, carol);
      clients.push(peeker);
      const notifier = hs.server.services.sync.notifier;
      const waitersBefore = notifier.stats().waiters;
      const room = await peeker.peekInRoom(roomId);
      assert.equal(room.name, "Open lounge");
      assert.deepEqual(messageIds(room), sent);
      // The client polls /events from "now" (it names no token): send once its long-poll waits.
      await waitFor("the peek long-poll", () => (notifier.stats().waiters > waitersBefore ? true : undefined));
      const next = (await a.sendTextMessage(roomId, "live")).event_id;
      await waitFor("the live event in the peeked room", () => (messageIds(room).includes(next) ? true : undefined));
      assert.deepEqual(messageIds(room), [...sent, next]);
      peeker.stopPeeking();
    });
  });
}
