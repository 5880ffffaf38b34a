import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../../../src/core/errors.ts";
import {
  DEFAULT_EVENT_LIMIT,
  DEFAULT_FILTER,
  MAX_EVENT_LIMIT,
  parseFilter,
  parseRoomEventFilter,
} from "../../../src/core/filters/index.ts";

function badJson(json: unknown, mentions: string): void {
  assert.throws(
    () => parseFilter(json),
    (e: unknown) => e instanceof MatrixError && e.errcode === "M_BAD_JSON" && e.status === 400 && e.message.includes(mentions),
  );
}

describe("parseFilter", () => {
  it("fills in every default for an empty filter", () => {
    const f = parseFilter({});
    assert.deepEqual(f, DEFAULT_FILTER);
    assert.equal(f.eventFormat, "client");
    assert.equal(f.eventFields, undefined);
    assert.equal(f.room.includeLeave, false);
    for (const section of [f.room.timeline, f.room.state, f.room.ephemeral, f.room.accountData]) {
      assert.equal(section.limit, DEFAULT_EVENT_LIMIT);
      assert.equal(section.types, undefined);
      assert.deepEqual(section.notTypes, []);
      assert.equal(section.rooms, undefined);
      assert.equal(section.containsUrl, undefined);
      assert.equal(section.lazyLoadMembers, false);
      assert.equal(section.includeRedundantMembers, false);
      assert.equal(section.unreadThreadNotifications, false);
    }
    assert.equal(f.presence.limit, DEFAULT_EVENT_LIMIT);
    assert.deepEqual(f.accountData.notSenders, []);
  });

  it("reads the spec's example filter (filter.yaml)", () => {
    const f = parseFilter({
      room: {
        state: { types: ["m.room.*"], not_rooms: ["!726s6s6q:example.com"] },
        timeline: { limit: 10, types: ["m.room.message"], not_rooms: ["!726s6s6q:example.com"], not_senders: ["@spam:example.com"] },
        ephemeral: { types: ["m.receipt", "m.typing"], not_rooms: ["!726s6s6q:example.com"], not_senders: ["@spam:example.com"] },
      },
      presence: { types: ["m.presence"], not_senders: ["@alice:example.com"] },
      event_format: "client",
      event_fields: ["type", "content", "sender"],
    });
    assert.deepEqual(f.room.state.types, ["m.room.*"]);
    assert.deepEqual(f.room.timeline.notSenders, ["@spam:example.com"]);
    assert.deepEqual(f.room.ephemeral.notRooms, ["!726s6s6q:example.com"]);
    assert.deepEqual(f.presence.notSenders, ["@alice:example.com"]);
    assert.deepEqual(f.eventFields, ["type", "content", "sender"]);
  });

  it("reads the room filter's own lists and flags", () => {
    const f = parseFilter({
      room: {
        rooms: ["!a:x"],
        not_rooms: ["!b:x"],
        include_leave: true,
        timeline: { lazy_load_members: true, include_redundant_members: true, unread_thread_notifications: true, contains_url: false },
      },
      event_format: "federation",
    });
    assert.deepEqual(f.room.rooms, ["!a:x"]);
    assert.deepEqual(f.room.notRooms, ["!b:x"]);
    assert.equal(f.room.includeLeave, true);
    assert.equal(f.room.timeline.lazyLoadMembers, true);
    assert.equal(f.room.timeline.includeRedundantMembers, true);
    assert.equal(f.room.timeline.unreadThreadNotifications, true);
    assert.equal(f.room.timeline.containsUrl, false);
    assert.equal(f.eventFormat, "federation");
  });

  it("defaults and caps the limit", () => {
    assert.equal(parseFilter({ room: { timeline: { limit: 50 } } }).room.timeline.limit, 50);
    assert.equal(parseFilter({ room: { timeline: { limit: 10 ** 9 } } }).room.timeline.limit, MAX_EVENT_LIMIT);
    // "must be greater than 0": a stored 0 or negative is raised to 1 rather than failing every sync.
    assert.equal(parseFilter({ room: { timeline: { limit: 0 } } }).room.timeline.limit, 1);
    assert.equal(parseFilter({ presence: { limit: -5 } }).presence.limit, 1);
    const policy = { defaultLimit: 20, maxLimit: 100 };
    assert.equal(parseFilter({}, policy).room.timeline.limit, 20);
    assert.equal(parseFilter({ room: { state: { limit: 500 } } }, policy).room.state.limit, 100);
  });

  it("reads an empty event_fields as no projection", () => {
    assert.equal(parseFilter({ event_fields: [] }).eventFields, undefined);
  });

  it("ignores keys it does not know (forward compatibility)", () => {
    const f = parseFilter({ "org.example.future": 1, room: { "org.example": true, timeline: { "m.future": [1] } } });
    assert.deepEqual(f, DEFAULT_FILTER);
  });

  it("refuses wrong shapes with M_BAD_JSON naming the key", () => {
    badJson([], "the filter");
    badJson("{}", "the filter");
    badJson(null, "the filter");
    badJson({ room: [] }, "room");
    badJson({ room: { timeline: "x" } }, "room.timeline");
    badJson({ room: { timeline: { limit: "10" } } }, "room.timeline.limit");
    badJson({ room: { timeline: { limit: 1.5 } } }, "room.timeline.limit");
    badJson({ room: { state: { types: "m.room.member" } } }, "room.state.types");
    badJson({ room: { state: { not_types: [1] } } }, "room.state.not_types");
    badJson({ presence: { senders: ["alice"] } }, "presence.senders");
    badJson({ account_data: { not_senders: [null] } }, "account_data.not_senders");
    badJson({ room: { rooms: ["#alias:x"] } }, "room.rooms");
    badJson({ room: { ephemeral: { not_rooms: ["room"] } } }, "room.ephemeral.not_rooms");
    badJson({ room: { include_leave: "yes" } }, "room.include_leave");
    badJson({ room: { timeline: { contains_url: 1 } } }, "room.timeline.contains_url");
    badJson({ room: { state: { lazy_load_members: "true" } } }, "room.state.lazy_load_members");
    badJson({ event_format: "raw" }, "event_format");
    badJson({ event_fields: "content" }, "event_fields");
  });
});

describe("parseRoomEventFilter", () => {
  it("reads /messages' filter parameter on its own", () => {
    const f = parseRoomEventFilter({ types: ["m.room.message"], lazy_load_members: true, limit: 5 });
    assert.deepEqual(f.types, ["m.room.message"]);
    assert.equal(f.lazyLoadMembers, true);
    assert.equal(f.limit, 5);
    assert.throws(() => parseRoomEventFilter({ rooms: "!a:x" }), MatrixError);
  });
});
