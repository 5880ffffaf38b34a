// The paging of GET /notifications (push/notifications.ts): each room is read a window at a time,
// and pages following next_token list every notification exactly once, newest first, whatever the
// rooms, windows and limits (property).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { JsonObject } from "../../../src/core/json.ts";
import { renderRuleset } from "../../../src/core/push/ruleset.ts";
import { NotificationsService } from "../../../src/homeserver/push/notifications.ts";
import { RoomFacts } from "../../../src/homeserver/push/room-facts.ts";
import type { RoomEventInfo } from "../../../src/homeserver/roomserver/index.ts";

const ME = "@me:hs";

/** A room's event: a message from someone else, or (every third) a notice, which does not notify. */
function info(roomId: string, position: number): RoomEventInfo {
  const content = position % 3 === 0 ? { msgtype: "m.notice", body: "n" } : { msgtype: "m.text", body: "t" };
  const event = { eventId: `$${position}`, roomId, type: "m.room.message", sender: "@other:hs", content, originServerTs: position, pdu: { type: "m.room.message", sender: "@other:hs", content } };
  return { event, streamOrdering: position } as unknown as RoomEventInfo;
}

function service(rooms: ReadonlyMap<string, number[]>, eventsPerPage: number): NotificationsService {
  return new NotificationsService({
    joinedRooms: async () => [...rooms.keys()].map((roomId) => ({ roomId, streamOrdering: 0 })),
    eventsBefore: async (roomId, after, upTo, limit) =>
      (rooms.get(roomId) ?? [])
        .filter((p) => p > after && (upTo === undefined || p <= upTo))
        .sort((a, b) => b - a)
        .slice(0, limit)
        .map((p) => info(roomId, p)),
    memberCount: async () => 3,
    roomFacts: (roomId) => new RoomFacts({ currentStateEventId: async () => undefined, getEvent: async () => undefined, roomVersion: async () => undefined }, roomId),
    ruleset: async (userId) => renderRuleset(userId, undefined),
    ignoredUsers: async () => new Set(),
    readUpTo: async () => new Map(),
    serialize: async (_userId, events) => events.map((e) => ({ event_id: e.event.eventId })),
    eventsPerPage,
  });
}

async function allPages(notifications: NotificationsService, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let from: number | undefined;
  for (let pages = 1; pages < 1000; pages++) {
    const page = await notifications.list(ME, { from, limit, onlyHighlights: false });
    const list = page["notifications"] as JsonObject[];
    assert.ok(list.length <= limit);
    ids.push(...list.map((n) => String((n["event"] as JsonObject)["event_id"])));
    if (page["next_token"] === undefined) return { ids, pages };
    const next = Number(page["next_token"]);
    assert.ok(from === undefined || next < from, "paging goes down");
    from = next;
  }
  throw new Error("did not end");
}

describe("GET /notifications paging", () => {
  it("reads a busy room a window at a time, and lists the others' events when it gets to them", async () => {
    // Room A has the even positions 2..80, room B 1..9; windows of 10 events.
    const rooms = new Map([
      ["!a:hs", Array.from({ length: 40 }, (_, i) => 2 * (i + 1))],
      ["!b:hs", [1, 3, 5, 7, 9]],
    ]);
    const notifications = service(rooms, 20);
    const first = await notifications.list(ME, { from: undefined, limit: 100, onlyHighlights: false });
    assert.equal(first["next_token"], "62", "room A was read down to 62");
    assert.deepEqual(
      (first["notifications"] as JsonObject[]).map((n) => (n["event"] as JsonObject)["event_id"]),
      ["$80", "$76", "$74", "$70", "$68", "$64", "$62"],
      "notices (multiples of 3) are left out",
    );
    const { ids } = await allPages(notifications, 100);
    const expected = [...rooms.values()].flat().filter((p) => p % 3 !== 0).sort((a, b) => b - a).map((p) => `$${p}`);
    assert.deepEqual(ids, expected);
  });

  it("lists every notification once, newest first, whatever the rooms, windows and limits (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uniqueArray(fc.integer({ min: 1, max: 400 }), { maxLength: 60 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 1, max: 100 }),
        async (roomPositions, limit, eventsPerPage) => {
          // Positions are unique across the stream: room i takes p * 5 + i.
          const rooms = new Map(roomPositions.map((positions, i) => [`!r${i}:hs`, positions.map((p) => p * 5 + i)]));
          const { ids } = await allPages(service(rooms, eventsPerPage), limit);
          const expected = [...rooms.values()].flat().filter((p) => p % 3 !== 0).sort((a, b) => b - a).map((p) => `$${p}`);
          assert.deepEqual(ids, expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
