/**
 * Typing, receipts and presence crossing federation, piece by piece: what a local change sends to
 * which servers, and what received EDUs change here (through the EduDispatcher, as a transaction's
 * EDUs go): malformed content, users of other servers than the origin and rooms unknown here are
 * ignored. Receipts are stored, so their tests run on both engines.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { stateMapKey } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { EduDispatcher, type EduAcl, type EduHandler } from "../../../src/homeserver/federation/edus.ts";
import { connectEphemeralEdus } from "../../../src/homeserver/federation/ephemeral-edus.ts";
import { HELD_PUSH_TTL_MS, MAX_HELD_PUSHES, MAX_PUSHES_PER_EDU, PRESENCE_REFRESH_MS, PresenceEdus } from "../../../src/homeserver/federation/presence-edus.ts";
import { ReceiptEdus } from "../../../src/homeserver/federation/receipt-edus.ts";
import type { Edu } from "../../../src/homeserver/federation/sender.ts";
import { REMOTE_TYPING_TIMEOUT_MS, TYPING_REFRESH_MS, TypingEdus } from "../../../src/homeserver/federation/typing-edus.ts";
import { Notifier } from "../../../src/homeserver/sync/notifier.ts";
import { REMOTE_PRESENCE_TIMEOUT_MS, PresenceService } from "../../../src/homeserver/sync/presence.ts";
import { ReceiptService, type ReceiptedEvent } from "../../../src/homeserver/sync/receipts.ts";
import { ZERO_POSITIONS } from "../../../src/homeserver/sync/token.ts";
import { TypingService } from "../../../src/homeserver/sync/typing.ts";
import type { RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import { ReceiptStore } from "../../../src/storage/stores/receipts.ts";
import { forEachEngine } from "../../storage/engines.ts";
import { FakeClock } from "../sync/fake-clock.ts";

const HERE = "one.test";
const THERE = "two.test";
const ROOM = "!room:one.test";
const OTHER_ROOM = "!other:one.test";
const alice = `@alice:${HERE}`;
const bob = `@bob:${THERE}`;
const carol = "@carol:three.test";

/** Who is joined where, and the servers of each room; the ACL lets everyone in but evil.test. */
class Rooms implements EduAcl {
  readonly joined = new Map<string, Set<string>>([[ROOM, new Set([alice, bob, carol])]]);

  async isAllowed(_roomId: string, serverName: string): Promise<boolean> {
    return serverName !== "evil.test";
  }
  async membership(roomId: string, userId: string): Promise<string | undefined> {
    return this.joined.get(roomId)?.has(userId) === true ? "join" : undefined;
  }
  async serversInRoom(roomId: string): Promise<string[]> {
    return [...new Set([...(this.joined.get(roomId) ?? [])].map((u) => u.slice(u.indexOf(":") + 1)))];
  }
  async roomsOfUser(userId: string): Promise<string[]> {
    return [...this.joined].filter(([, users]) => users.has(userId)).map(([roomId]) => roomId);
  }
}

/** The EDUs queued, and a dispatcher holding the handlers as a transaction would reach them. */
function federationFake(rooms: Rooms) {
  const sent: Array<[string, Edu]> = [];
  const dispatcher = new EduDispatcher(rooms);
  return {
    sent,
    dispatcher,
    enqueueEdu: (destination: string, edu: Edu) => void sent.push([destination, edu]),
    onEdu: (type: string, handler: EduHandler) => dispatcher.onEdu(type, handler),
    serversInRoom: (roomId: string) => rooms.serversInRoom(roomId),
    rooms,
    receive: (origin: string, edus: Array<{ edu_type: string; content: unknown }>) => dispatcher.dispatch(origin, edus),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("m.typing over federation", () => {
  function setup() {
    const clock = new FakeClock();
    const notifier = new Notifier({ clock });
    const typing = new TypingService({ notifier, clock });
    const rooms = new Rooms();
    const fed = federationFake(rooms);
    const edus = new TypingEdus({ serverName: HERE, typing, serversInRoom: fed.serversInRoom, enqueueEdu: fed.enqueueEdu, clock });
    fed.onEdu("m.typing", edus.handler);
    return { clock, notifier, typing, rooms, fed, edus };
  }

  it("puts another server's joined user in the room's list, waking local syncs, until it times out", async () => {
    const { clock, notifier, typing, fed } = setup();
    const woken = notifier.waitForChanges(alice, [ROOM], ZERO_POSITIONS, 60_000);
    await fed.receive(THERE, [{ edu_type: "m.typing", content: { room_id: ROOM, user_id: bob, typing: true } }]);
    assert.deepEqual(typing.typingUsers(ROOM), [bob]);
    assert.equal(await woken, "changed");
    // Renewed by its server, it holds; without news for the timeout, it ends.
    clock.advance(REMOTE_TYPING_TIMEOUT_MS - 1000);
    await fed.receive(THERE, [{ edu_type: "m.typing", content: { room_id: ROOM, user_id: bob, typing: true } }]);
    clock.advance(REMOTE_TYPING_TIMEOUT_MS - 1000);
    assert.deepEqual(typing.typingUsers(ROOM), [bob]);
    clock.advance(1000);
    assert.deepEqual(typing.typingUsers(ROOM), []);
    await fed.receive(THERE, [{ edu_type: "m.typing", content: { room_id: ROOM, user_id: bob, typing: true } }]);
    await fed.receive(THERE, [{ edu_type: "m.typing", content: { room_id: ROOM, user_id: bob, typing: false } }]);
    assert.deepEqual(typing.typingUsers(ROOM), []);
    // Nothing of a remote user's typing goes back out.
    await tick();
    assert.equal(fed.sent.length, 0);
  });

  it("ignores malformed content, users of other servers, rooms unknown here and denied servers", async () => {
    const { typing, fed, rooms } = setup();
    rooms.joined.get(ROOM)?.add("@eve:evil.test");
    const ignored: Array<[string, unknown]> = [
      [THERE, { room_id: ROOM, user_id: bob, typing: "yes" }],
      [THERE, { room_id: ROOM, user_id: bob }],
      [THERE, { room_id: 5, user_id: bob, typing: true }],
      [THERE, { room_id: ROOM, user_id: carol, typing: true }],
      [THERE, { room_id: ROOM, user_id: `@dave:${THERE}`, typing: true }],
      [THERE, { room_id: "!unknown:one.test", user_id: bob, typing: true }],
      ["evil.test", { room_id: ROOM, user_id: "@eve:evil.test", typing: true }],
    ];
    for (const [origin, content] of ignored) await fed.receive(origin, [{ edu_type: "m.typing", content }]);
    assert.deepEqual(typing.typingUsers(ROOM), []);
    assert.deepEqual(typing.typingUsers("!unknown:one.test"), []);
    // The well-formed one passes: the refusals above were for their reasons.
    await fed.receive(THERE, [{ edu_type: "m.typing", content: { room_id: ROOM, user_id: bob, typing: true } }]);
    assert.deepEqual(typing.typingUsers(ROOM), [bob]);
  });

  it("sends a local user's typing to the room's other servers, again while it lasts, and its end", async () => {
    const { clock, typing, fed, edus } = setup();
    const on = { edu_type: "m.typing", content: { room_id: ROOM, user_id: alice, typing: true } };
    const off = { edu_type: "m.typing", content: { room_id: ROOM, user_id: alice, typing: false } };
    typing.setTyping(ROOM, alice, true, 60_000);
    await edus.settled();
    assert.deepEqual(fed.sent.sort(), [[THERE, on], ["three.test", on]].sort());
    fed.sent.length = 0;
    // A renewal changes nothing here; the refresh keeps the other servers' timeout from ending it.
    typing.setTyping(ROOM, alice, true, 60_000);
    await edus.settled();
    assert.equal(fed.sent.length, 0);
    clock.advance(TYPING_REFRESH_MS);
    await edus.settled();
    assert.equal(fed.sent.length, 2);
    assert.ok(fed.sent.every(([, edu]) => JSON.stringify(edu) === JSON.stringify(on)));
    fed.sent.length = 0;
    typing.setTyping(ROOM, alice, false);
    await edus.settled();
    assert.deepEqual(fed.sent.sort(), [[THERE, off], ["three.test", off]].sort());
    fed.sent.length = 0;
    clock.advance(10 * TYPING_REFRESH_MS);
    await edus.settled();
    assert.equal(fed.sent.length, 0);
    // A local timeout ends it over federation too.
    typing.setTyping(ROOM, alice, true, 5000);
    clock.advance(5000);
    await edus.settled();
    assert.deepEqual(
      fed.sent.map(([, edu]) => edu.content["typing"]),
      [true, true, false, false],
    );
    edus.close();
    assert.equal(clock.pending, 0);
  });
});

forEachEngine("m.receipt over federation", (getDb) => {
  let n = 0;
  function setup() {
    const room = `!r${++n}:one.test`;
    const events = new Map<string, ReceiptedEvent>([
      [`$e1-${n}:one.test`, { roomId: room, content: {}, streamOrdering: 10 }],
      [`$e2-${n}:one.test`, { roomId: room, content: {}, streamOrdering: 20 }],
      [`$elsewhere-${n}:one.test`, { roomId: OTHER_ROOM, content: {}, streamOrdering: 30 }],
    ]);
    const notifier = new Notifier();
    const rooms = new Rooms();
    rooms.joined.set(room, new Set([alice, bob, carol]));
    const receipts = new ReceiptService({
      store: new ReceiptStore(getDb()),
      notifier,
      getEvent: async (id) => events.get(id),
      isJoined: async (roomId, userId) => (await rooms.membership(roomId, userId)) === "join",
    });
    const fed = federationFake(rooms);
    const edus = new ReceiptEdus({
      serverName: HERE,
      receipts,
      serversInRoom: fed.serversInRoom,
      membership: (roomId, userId) => rooms.membership(roomId, userId),
      enqueueEdu: fed.enqueueEdu,
    });
    fed.onEdu("m.receipt", edus.handler);
    return { room, e1: `$e1-${n}:one.test`, e2: `$e2-${n}:one.test`, elsewhere: `$elsewhere-${n}:one.test`, notifier, receipts, rooms, fed, edus };
  }
  const read = (eventId: string, data: JsonObject = { ts: 1533358089009 }): JsonObject => ({ event_ids: [eventId], data });

  it("stores another server's read receipts, waking local syncs, and serves them in the room's m.receipt", async () => {
    const { room, e1, e2, notifier, receipts, fed } = setup();
    await receipts.start();
    const stored: string[] = [];
    receipts.onStoredReceipt((receipt) => stored.push(receipt.eventId));
    const since = receipts.position;
    const woken = notifier.waitForChanges(alice, [room], { ...ZERO_POSITIONS, receipts: since }, 60_000);
    await fed.receive(THERE, [{ edu_type: "m.receipt", content: { [room]: { "m.read": { [bob]: read(e2, { ts: 5, thread_id: "main" }) } } } }]);
    assert.equal(await woken, "changed");
    const shown = await receipts.receiptEvents(alice, [room], since, receipts.position);
    assert.deepEqual(shown.get(room), { type: "m.receipt", content: { [e2]: { "m.read": { [bob]: { ts: 5, thread_id: "main" } } } } });
    // Receipts of the EDU only are updated ("Receipts previously received that do not appear in the EDU should not be removed").
    const before = receipts.position;
    await fed.receive(THERE, [{ edu_type: "m.receipt", content: { [room]: { "m.read": { [bob]: read(e1, { ts: 6 }) } } } }]);
    const all = await receipts.receiptEvents(alice, [room], 0, receipts.position);
    assert.deepEqual(all.get(room), {
      type: "m.receipt",
      content: { [e2]: { "m.read": { [bob]: { ts: 5, thread_id: "main" } } }, [e1]: { "m.read": { [bob]: { ts: 6 } } } },
    });
    assert.ok(receipts.position > before);
    // The same receipt again is no change; one moving backwards is not taken.
    const now = receipts.position;
    await fed.receive(THERE, [{ edu_type: "m.receipt", content: { [room]: { "m.read": { [bob]: read(e1, { ts: 6 }) } } } }]);
    await fed.receive(THERE, [{ edu_type: "m.receipt", content: { [room]: { "m.read": { [bob]: read(e1, { ts: 8, thread_id: "main" }) } } } }]);
    assert.equal(receipts.position, now);
    // A receipt for an event this server has not seen yet is kept too.
    await fed.receive(THERE, [{ edu_type: "m.receipt", content: { [room]: { "m.read": { [bob]: read("$notyet:two.test", { ts: 7 }) } } } }]);
    const latest = await receipts.receiptEvents(alice, [room], receipts.position - 1, receipts.position);
    assert.deepEqual(latest.get(room), { type: "m.receipt", content: { "$notyet:two.test": { "m.read": { [bob]: { ts: 7 } } } } });
    assert.deepEqual(stored, [e2, e1, "$notyet:two.test"], "onStoredReceipt hears the receipts stored, not those taken as no change");
  });

  it("ignores malformed receipts, m.read.private, users of other servers or not joined, unknown rooms", async () => {
    const { room, e1, elsewhere, receipts, fed, edus } = setup();
    await receipts.start();
    const start = receipts.position;
    const contents: unknown[] = [
      { [room]: { "m.read": { [bob]: { event_ids: [e1] } } } },
      { [room]: { "m.read": { [bob]: { event_ids: [], data: { ts: 1 } } } } },
      { [room]: { "m.read": { [bob]: { event_ids: ["not-an-event"], data: { ts: 1 } } } } },
      { [room]: { "m.read": { [bob]: read(e1, { ts: "soon" }) } } },
      { [room]: { "m.read": { [bob]: read(e1, { ts: 1, thread_id: "" }) } } },
      { [room]: { "m.read": { [bob]: read(e1, { ts: 1, thread_id: 7 }) } } },
      { [room]: { "m.read": [bob] } },
      { [room]: "m.read" },
      { [room]: { "m.read.private": { [bob]: read(e1) } } },
      { [room]: { "m.read": { [carol]: read(e1) } } },
      { [room]: { "m.read": { [`@left:${THERE}`]: read(e1) } } },
      { "!unknown:one.test": { "m.read": { [bob]: read(e1) } } },
      // An event this server has in another room.
      { [room]: { "m.read": { [bob]: read(elsewhere) } } },
    ];
    for (const content of contents) await fed.receive(THERE, [{ edu_type: "m.receipt", content }]);
    // The origin is checked by the handler too, not only by the dispatcher.
    await edus.handler("three.test", { [room]: { "m.read": { [bob]: read(e1) } } });
    assert.equal(receipts.position, start);
    await fed.receive(THERE, [{ edu_type: "m.receipt", content: { [room]: { "m.read": { [bob]: read(e1) } } } }]);
    assert.ok(receipts.position > start);
  });

  it("sends local m.read receipts, with thread_id, to the room's other servers, never m.read.private", async () => {
    const { room, e1, e2, receipts, fed, edus } = setup();
    await receipts.start();
    await receipts.sendReceipt(alice, room, "m.read.private", e2, undefined);
    await receipts.sendReceipt(alice, room, "m.read", e1, "main");
    await receipts.sendReceipt(alice, room, "m.read", e1, undefined);
    await edus.settled();
    const toThere = fed.sent.filter(([d]) => d === THERE).map(([, edu]) => edu);
    assert.equal(fed.sent.filter(([d]) => d === "three.test").length, toThere.length);
    assert.ok(!JSON.stringify(fed.sent).includes("m.read.private"));
    // Two receipts of one user in one room need two EDUs (one entry per user); each carries its thread.
    const entries = toThere.map((edu) => {
      assert.equal(edu.edu_type, "m.receipt");
      const entry = ((edu.content[room] as JsonObject)["m.read"] as JsonObject)[alice] as JsonObject;
      assert.deepEqual(entry["event_ids"], [e1]);
      return (entry["data"] as JsonObject)["thread_id"];
    });
    assert.deepEqual(entries.sort(), ["main", undefined].sort());
  });
});

describe("m.presence over federation", () => {
  function setup(enabled = true) {
    const clock = new FakeClock();
    const notifier = new Notifier({ clock });
    const rooms = new Rooms();
    const presence = new PresenceService({
      enabled,
      notifier,
      clock,
      isLocal: (userId) => userId.endsWith(`:${HERE}`),
      audience: async (userId) => ({ userIds: [userId], roomIds: await rooms.roomsOfUser(userId) }),
    });
    const fed = federationFake(rooms);
    const edus = new PresenceEdus({
      serverName: HERE,
      presence,
      roomsOfUser: (userId) => rooms.roomsOfUser(userId),
      serversInRoom: fed.serversInRoom,
      joinedMembers: async (roomId) => [...(rooms.joined.get(roomId) ?? [])],
      enqueueEdu: fed.enqueueEdu,
      clock,
    });
    fed.onEdu("m.presence", edus.handler);
    return { clock, notifier, rooms, presence, fed, edus };
  }
  const push = (items: unknown[]) => [{ edu_type: "m.presence", content: { push: items } }];

  it("takes another server's pushes for users sharing a room with ours, waking their syncs, until they go stale", async () => {
    const { clock, notifier, presence, fed } = setup();
    const woken = notifier.waitForChanges(alice, [ROOM], ZERO_POSITIONS, 60_000);
    // The spec's example push.
    await fed.receive(THERE, push([{ user_id: bob, presence: "online", status_msg: "Making cupcakes", last_active_ago: 5000, currently_active: true }]));
    assert.equal(await woken, "changed");
    assert.deepEqual(presence.getPresence(bob), { presence: "online", last_active_ago: 5000, status_msg: "Making cupcakes", currently_active: true });
    assert.deepEqual(presence.changesSince(0).changes.map((c) => c.userId), [bob]);
    // Not offline while its server keeps saying so; offline once it has been silent for the timeout.
    clock.advance(REMOTE_PRESENCE_TIMEOUT_MS - 1000);
    await fed.receive(THERE, push([{ user_id: bob, presence: "unavailable", last_active_ago: 60_000 }]));
    assert.deepEqual(presence.getPresence(bob), { presence: "unavailable", last_active_ago: 60_000 });
    clock.advance(REMOTE_PRESENCE_TIMEOUT_MS - 1000);
    assert.equal(presence.getPresence(bob).presence, "unavailable");
    clock.advance(1000);
    assert.equal(presence.getPresence(bob).presence, "offline");
    // Nothing of a remote user's presence goes back out.
    await tick();
    assert.equal(fed.sent.length, 0);
  });

  it("ignores malformed pushes, users of other servers, users sharing no room with ours, our own users", async () => {
    const { presence, fed, rooms, edus } = setup();
    rooms.joined.set("!theirs:two.test", new Set([`@stranger:${THERE}`]));
    const items: unknown[] = [
      { user_id: bob, presence: "busy", last_active_ago: 1 },
      { user_id: bob, last_active_ago: 1 },
      { user_id: bob, presence: "online", last_active_ago: -5 },
      { user_id: bob, presence: "online", last_active_ago: 1, status_msg: 12 },
      { user_id: bob, presence: "online", last_active_ago: 1, status_msg: "x".repeat(5000) },
      { user_id: bob, presence: "online", last_active_ago: 1, currently_active: "yes" },
      "online",
      { user_id: carol, presence: "online", last_active_ago: 1 },
      { user_id: `@stranger:${THERE}`, presence: "online", last_active_ago: 1 },
      { user_id: `@nobody:${THERE}`, presence: "online", last_active_ago: 1 },
    ];
    await fed.receive(THERE, push(items));
    await fed.receive(THERE, [{ edu_type: "m.presence", content: { push: "everyone" } }]);
    // Our own users' presence is ours to say, whoever claims to be us.
    await edus.handler(HERE, { push: [{ user_id: alice, presence: "online", last_active_ago: 1 }] });
    assert.deepEqual(presence.changesSince(0).changes, []);
    await fed.receive(THERE, push([{ user_id: bob, presence: "online", last_active_ago: 1 }]));
    assert.deepEqual(presence.changesSince(0).changes.map((c) => c.userId), [bob]);
  });

  it("sends local users' changes to the servers sharing a room with them, in one push per server, and again before they go stale", async () => {
    const { clock, presence, fed, edus, rooms } = setup();
    rooms.joined.get(ROOM)?.add(`@zed:${HERE}`);
    rooms.joined.set(OTHER_ROOM, new Set([`@zed:${HERE}`, "@yan:four.test"]));
    presence.setPresence(alice, "online", "Making cupcakes");
    presence.setPresence(`@zed:${HERE}`, "unavailable", null);
    await edus.settled();
    const byServer = new Map(fed.sent.map(([d, edu]) => [d, edu]));
    assert.deepEqual([...byServer.keys()].sort(), ["four.test", "three.test", THERE].sort());
    assert.equal(fed.sent.length, 3);
    assert.deepEqual(byServer.get(THERE), {
      edu_type: "m.presence",
      content: {
        push: [
          { user_id: alice, presence: "online", last_active_ago: 0, currently_active: true, status_msg: "Making cupcakes" },
          { user_id: `@zed:${HERE}`, presence: "unavailable", last_active_ago: clock.now(), currently_active: false },
        ],
      },
    });
    // four.test shares a room with zed only.
    assert.deepEqual(((byServer.get("four.test")?.content["push"] ?? []) as JsonObject[]).map((p) => p["user_id"]), [`@zed:${HERE}`]);
    // Sent again while not offline, before other servers' timeout: zed keeps a sync open, alice
    // has none and went offline (that change went out when it happened).
    const endSync = presence.syncStarted(`@zed:${HERE}`, "unavailable");
    clock.advance(PRESENCE_REFRESH_MS - 1);
    await edus.settled();
    fed.sent.length = 0;
    clock.advance(1);
    await edus.settled();
    const refreshed = fed.sent.flatMap(([d, edu]) => (edu.content["push"] as JsonObject[]).map((p) => `${d} ${String(p["user_id"])} ${String(p["presence"])}`));
    assert.deepEqual(refreshed.sort(), [`${THERE} @zed:${HERE} unavailable`, `four.test @zed:${HERE} unavailable`, `three.test @zed:${HERE} unavailable`].sort());
    endSync();
    edus.close();
  });

  it("holds a push that comes before the room it is about, until one of ours joins that room, for a while", async () => {
    const { clock, presence, fed, edus, rooms } = setup();
    const dave = `@dave:${THERE}`;
    const erin = `@erin:${THERE}`;
    await fed.receive(THERE, push([{ user_id: dave, presence: "online", status_msg: "Baking", last_active_ago: 1000 }]));
    await fed.receive(THERE, push([{ user_id: erin, presence: "online", last_active_ago: 0 }]));
    assert.deepEqual(presence.changesSince(0).changes, []);
    // Alice joins dave's room: his push is taken, aged by the wait.
    rooms.joined.set("!dave:two.test", new Set([dave, alice]));
    clock.advance(500);
    edus.memberJoined("!dave:two.test", alice);
    await edus.settled();
    assert.deepEqual(presence.getPresence(dave), { presence: "online", last_active_ago: 1500, status_msg: "Baking", currently_active: false });
    // Erin's has waited too long by the time anyone here joins her room.
    clock.advance(HELD_PUSH_TTL_MS);
    rooms.joined.set("!erin:two.test", new Set([erin, alice]));
    edus.memberJoined("!erin:two.test", alice);
    await edus.settled();
    assert.deepEqual(presence.getPresence(erin), { presence: "offline" });
  });

  it("holds a bounded number of pushes", async () => {
    const { presence, fed, edus, rooms } = setup();
    const users = Array.from({ length: MAX_HELD_PUSHES + 1 }, (_, i) => `@h${i}:${THERE}`);
    for (let i = 0; i < users.length; i += 500) {
      await fed.receive(THERE, push(users.slice(i, i + 500).map((user_id) => ({ user_id, presence: "online", last_active_ago: 0 }))));
    }
    rooms.joined.set("!many:two.test", new Set([...users, alice]));
    edus.memberJoined("!many:two.test", alice);
    await edus.settled();
    // The oldest was let go.
    assert.equal(presence.getPresence(users[0] ?? "").presence, "offline");
    assert.equal(presence.getPresence(users[1] ?? "").presence, "online");
    assert.equal(presence.changesSince(0).changes.length, MAX_HELD_PUSHES);
  });

  it("splits a big push", async () => {
    const { presence, fed, edus, rooms } = setup();
    const many = Array.from({ length: MAX_PUSHES_PER_EDU + 5 }, (_, i) => `@u${i}:${HERE}`);
    for (const u of many) rooms.joined.get(ROOM)?.add(u);
    for (const u of many) presence.setPresence(u, "online");
    await edus.settled();
    const toThere = fed.sent.filter(([d]) => d === THERE).map(([, edu]) => (edu.content["push"] as JsonObject[]).length);
    assert.deepEqual(toThere, [MAX_PUSHES_PER_EDU, 5]);
  });

  it("tells a server that comes into a room the presence of our members there, and the room of a member of ours who joins", async () => {
    const clock = new FakeClock();
    const notifier = new Notifier({ clock });
    const rooms = new Rooms();
    const presence = new PresenceService({ enabled: true, notifier, clock, isLocal: (userId) => userId.endsWith(`:${HERE}`) });
    const sent: Array<[string, Edu]> = [];
    const listeners: Array<(output: RoomserverOutput) => void> = [];
    const connected = connectEphemeralEdus({
      serverName: HERE,
      logger: pino({ level: "silent" }),
      typing: new TypingService({ notifier, clock }),
      receipts: { onLocalReceipt: () => () => undefined } as unknown as ReceiptService,
      presence,
      federation: {
        enqueueEdu: (d, edu) => void sent.push([d, edu]),
        onEdu: () => () => undefined,
        serversInRoom: (roomId) => rooms.serversInRoom(roomId),
        rooms,
      },
      roomsOfUser: (userId) => rooms.roomsOfUser(userId),
      joinedMembers: async (roomId) => [...(rooms.joined.get(roomId) ?? [])],
      roomOutputs: { subscribe: (listener) => (listeners.push(listener), () => undefined) },
    });
    const endSync = presence.syncStarted(alice);
    rooms.joined.get(ROOM)?.add(`@zed:${HERE}`); // offline: nothing to tell
    await connected.settled();
    sent.length = 0;
    const join = (roomId: string, userId: string, current = true): RoomserverOutput =>
      ({
        kind: "new_room_event",
        roomId,
        event: { eventId: `$join-${userId}`, type: "m.room.member", stateKey: userId, content: { membership: "join" } },
        streamOrdering: 1,
        local: false,
        stateDelta: new Map(current ? [[stateMapKey("m.room.member", userId), `$join-${userId}`]] : []),
        forwardExtremities: [],
      }) as unknown as RoomserverOutput;
    rooms.joined.get(ROOM)?.add("@newbie:five.test");
    for (const listener of listeners) listener(join(ROOM, "@newbie:five.test"));
    await connected.settled();
    assert.deepEqual(
      sent.map(([d, edu]) => [d, (edu.content["push"] as JsonObject[]).map((p) => p["user_id"])]),
      [["five.test", [alice]]],
    );
    // A join a state resolution left out of the current state changes nothing.
    sent.length = 0;
    for (const listener of listeners) listener(join(ROOM, "@late:six.test", false));
    await connected.settled();
    assert.equal(sent.length, 0);
    // Alice joins a room of four.test: it hears of her.
    rooms.joined.set(OTHER_ROOM, new Set([alice, "@yan:four.test"]));
    for (const listener of listeners) listener(join(OTHER_ROOM, alice));
    await connected.settled();
    assert.ok(sent.some(([d, edu]) => d === "four.test" && (edu.content["push"] as JsonObject[])[0]?.["user_id"] === alice));
    endSync();
    connected.close();
  });

  it("with presence disabled, sends and takes nothing", async () => {
    const clock = new FakeClock();
    const notifier = new Notifier({ clock });
    const rooms = new Rooms();
    const presence = new PresenceService({ enabled: false, notifier, clock });
    const typing = new TypingService({ notifier, clock });
    const handlers = new Map<string, EduHandler>();
    const sent: Edu[] = [];
    const receipts = {
      onLocalReceipt: () => () => undefined,
    } as unknown as ReceiptService;
    const connected = connectEphemeralEdus({
      serverName: HERE,
      logger: pino({ level: "silent" }),
      typing,
      receipts,
      presence,
      federation: {
        enqueueEdu: (_d, edu) => void sent.push(edu),
        onEdu: (type, handler) => (handlers.set(type, handler), () => void handlers.delete(type)),
        serversInRoom: (roomId) => rooms.serversInRoom(roomId),
        rooms,
      },
      roomsOfUser: (userId) => rooms.roomsOfUser(userId),
      joinedMembers: async (roomId) => [...(rooms.joined.get(roomId) ?? [])],
      roomOutputs: { subscribe: () => () => undefined },
    });
    assert.deepEqual([...handlers.keys()].sort(), ["m.receipt", "m.typing"]);
    presence.setPresence(alice, "online", "hi");
    await connected.settled();
    assert.deepEqual(sent, []);
    presence.receiveRemote(bob, { presence: "online", statusMsg: "hi", lastActiveAgo: 0, currentlyActive: true });
    assert.deepEqual(presence.getPresence(bob), { presence: "offline" });
    connected.close();
    assert.deepEqual([...handlers.keys()], []);
  });
});
