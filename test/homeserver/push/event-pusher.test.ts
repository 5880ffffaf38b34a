// The consumer of room outputs that applies push rules (modules/push.md#server-behaviour): what it
// costs the send path (nothing read when no user has a pusher, or when the room is known to have
// no member with one), and who it evaluates.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { version } from "../../core/fixtures/room-versions.ts";
import type { Pdu, RoomEvent } from "../../../src/core/events/room-event.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { renderRuleset } from "../../../src/core/push/ruleset.ts";
import { EventPusher } from "../../../src/homeserver/push/event-pusher.ts";
import type { PendingNotification } from "../../../src/homeserver/push/dispatcher.ts";
import { PushRecipients } from "../../../src/homeserver/push/recipients.ts";
import { RoomFacts } from "../../../src/homeserver/push/room-facts.ts";
import { RulesetCache } from "../../../src/homeserver/push/ruleset-cache.ts";
import type { OutputListener, RoomserverOutput } from "../../../src/homeserver/roomserver/index.ts";
import type { StoredPusher } from "../../../src/storage/stores/pushers.ts";

const ROOM = "!room:hs";
const ALICE = "@alice:hs";
const BOB = "@bob:hs";
let events = 0;

function output(type: string, content: JsonObject, extra: { sender?: string; stateKey?: string; roomId?: string; position?: number } = {}): RoomserverOutput {
  const sender = extra.sender ?? ALICE;
  const roomId = extra.roomId ?? ROOM;
  const pdu = { type, content, sender, room_id: roomId, ...(extra.stateKey === undefined ? {} : { state_key: extra.stateKey }) } as unknown as Pdu;
  const event: RoomEvent = {
    eventId: `$${++events}`,
    roomId,
    type,
    stateKey: extra.stateKey,
    sender,
    content,
    originServerTs: 0,
    depth: 1,
    prevEventIds: [],
    authEventIds: [],
    redacts: undefined,
    roomVersion: version("10"),
    pdu,
  };
  return { kind: "new_room_event", roomId: event.roomId, event, streamOrdering: extra.position ?? 1, local: true, stateDelta: new Map(), forwardExtremities: [] };
}

function setup(members: Record<string, string[]>, withPushers: string[]) {
  let listener: OutputListener = () => undefined;
  const reads: string[] = [];
  const pushersOf = new Map<string, StoredPusher[]>(
    withPushers.map((userId) => [
      userId,
      [{ userId, kind: "http", appId: "app", pushkey: `${userId}-key`, appDisplayName: "A", deviceDisplayName: "D", profileTag: undefined, lang: "en", data: {}, deviceId: "D", pushkeyTs: 0 }],
    ]),
  );
  const pushers = { isEmpty: pushersOf.size === 0, version: 1, hasPushers: (u: string) => pushersOf.has(u), list: (u: string) => pushersOf.get(u) ?? [] };
  const sent: PendingNotification[] = [];
  const errors: unknown[] = [];
  const pusher = new EventPusher({
    source: { subscribe: (l) => ((listener = l), () => undefined) },
    pushers,
    recipients: new PushRecipients(
      {
        waitUntil: async () => undefined,
        joinedMembers: async (roomId) => {
          reads.push(roomId);
          return members[roomId] ?? [];
        },
      },
      pushers,
    ),
    rulesets: new RulesetCache(async (userId) => renderRuleset(userId, undefined)),
    ignoredUsers: async () => new Set(),
    roomFacts: (roomId) =>
      new RoomFacts({ currentStateEventId: async () => undefined, getEvent: async () => undefined, roomVersion: async () => undefined }, roomId),
    enqueue: (n) => sent.push(n),
    onError: (e) => errors.push(e),
  });
  pusher.start();
  return { emit: (o: RoomserverOutput) => listener(o), reads, sent, errors, pusher };
}

describe("event pusher", () => {
  it("reads nothing at all when no user has a pusher", async () => {
    const { emit, reads, sent, pusher } = setup({ [ROOM]: [ALICE, BOB] }, []);
    for (let i = 0; i < 100; i++) emit(output("m.room.message", { msgtype: "m.text", body: `m${i}` }, { position: i + 1 }));
    await pusher.idle();
    assert.deepEqual(reads, []);
    assert.deepEqual(sent, []);
  });

  it("reads a room's members once, then skips its events while nobody there has a pusher", async () => {
    const { emit, reads, sent, pusher } = setup({ [ROOM]: [ALICE, BOB], "!other:hs": [BOB, "@carol:hs"] }, ["@carol:hs"]);
    emit(output("m.room.message", { msgtype: "m.text", body: "one" }));
    await pusher.idle();
    for (let i = 0; i < 50; i++) emit(output("m.room.message", { msgtype: "m.text", body: `m${i}` }));
    await pusher.idle();
    assert.deepEqual(reads, [ROOM]);
    // A member event makes it read again.
    emit(output("m.room.member", { membership: "join" }, { sender: "@carol:hs", stateKey: "@carol:hs" }));
    emit(output("m.room.message", { msgtype: "m.text", body: "after" }));
    await pusher.idle();
    assert.deepEqual(reads, [ROOM, ROOM]);
    assert.deepEqual(sent, []);
  });

  it("evaluates the members with a pusher but the sender, and the invitee of an invite", async () => {
    const { emit, sent, errors, pusher } = setup({ [ROOM]: [ALICE, BOB] }, [ALICE, BOB, "@carol:hs"]);
    emit(output("m.room.message", { msgtype: "m.text", body: "hi" }));
    emit(output("m.room.member", { membership: "invite" }, { stateKey: "@carol:hs" }));
    await pusher.idle();
    assert.deepEqual(errors, []);
    assert.deepEqual(
      sent.map((n) => [n.key.userId, n.event.type, n.tweaks]),
      [
        [BOB, "m.room.message", { sound: "default" }],
        ["@carol:hs", "m.room.member", { sound: "default" }],
      ],
    );
  });
});
