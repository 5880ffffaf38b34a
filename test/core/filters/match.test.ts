import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  excludesEverything,
  filterEvents,
  matchesEventFilter,
  matchesRoomFilter,
  parseFilter,
  parseRoomEventFilter,
  type FilterableEvent,
} from "../../../src/core/filters/index.ts";

const types = fc.constantFrom("m.room.message", "m.room.member", "m.typing", "m.receipt", "org.example.x", "m.room.");
const typePatterns = fc.oneof(types, fc.constantFrom("*", "m.*", "m.room.*", "*.x", "m.*.member", "**"));
const users = fc.constantFrom("@alice:x", "@bob:x", "@spam:y");
const rooms = fc.constantFrom("!a:x", "!b:x", "!c:y");
const content = fc.oneof(
  fc.constant(undefined),
  fc.constant({}),
  fc.record({ url: fc.string() }),
  fc.record({ body: fc.string() }),
  fc.constant("not an object"),
);
const event: fc.Arbitrary<FilterableEvent> = fc.record(
  { type: types, sender: users, roomId: rooms, content },
  { requiredKeys: ["type"] },
);
// Raw room event filter JSON, every key optional.
const rawRoomEventFilter = fc.record(
  {
    types: fc.array(typePatterns, { maxLength: 3 }),
    not_types: fc.array(typePatterns, { maxLength: 3 }),
    senders: fc.array(users, { maxLength: 2 }),
    not_senders: fc.array(users, { maxLength: 2 }),
    rooms: fc.array(rooms, { maxLength: 2 }),
    not_rooms: fc.array(rooms, { maxLength: 2 }),
    contains_url: fc.boolean(),
  },
  { requiredKeys: [] },
);

describe("matchesEventFilter", () => {
  it("applies types with wildcards, senders, rooms and contains_url", () => {
    const f = parseRoomEventFilter({
      types: ["m.room.*"],
      not_types: ["m.room.member"],
      senders: ["@alice:x", "@bob:x"],
      not_senders: ["@bob:x"],
      rooms: ["!a:x"],
    });
    assert.equal(matchesEventFilter(f, { type: "m.room.message", sender: "@alice:x", roomId: "!a:x" }), true);
    assert.equal(matchesEventFilter(f, { type: "m.room.member", sender: "@alice:x", roomId: "!a:x" }), false);
    assert.equal(matchesEventFilter(f, { type: "m.typing", sender: "@alice:x", roomId: "!a:x" }), false);
    assert.equal(matchesEventFilter(f, { type: "m.room.message", sender: "@bob:x", roomId: "!a:x" }), false);
    assert.equal(matchesEventFilter(f, { type: "m.room.message", sender: "@carol:x", roomId: "!a:x" }), false);
    assert.equal(matchesEventFilter(f, { type: "m.room.message", sender: "@alice:x", roomId: "!b:x" }), false);

    const urls = parseRoomEventFilter({ contains_url: true });
    assert.equal(matchesEventFilter(urls, { type: "m.room.message", content: { url: "mxc://x/y" } }), true);
    assert.equal(matchesEventFilter(urls, { type: "m.room.message", content: { body: "hi" } }), false);
    const noUrls = parseRoomEventFilter({ contains_url: false });
    assert.equal(matchesEventFilter(noUrls, { type: "m.room.message", content: { url: "mxc://x/y" } }), false);
    assert.equal(matchesEventFilter(noUrls, { type: "m.room.message" }), true);
  });

  it("compares senders and rooms exactly: `*` is a wildcard only for types", () => {
    const f = parseRoomEventFilter({ not_types: [], senders: ["@*:x"] });
    assert.equal(matchesEventFilter(f, { type: "m.room.message", sender: "@alice:x" }), false);
    assert.equal(matchesEventFilter(f, { type: "m.room.message", sender: "@*:x" }), true);
  });

  it("skips sender and room lists for data that has none", () => {
    const f = parseRoomEventFilter({ senders: ["@alice:x"], rooms: ["!a:x"] });
    assert.equal(matchesEventFilter(f, { type: "m.typing" }), true);
  });

  it("uses the presence filter on presence updates (types and senders only)", () => {
    const f = parseFilter({ presence: { types: ["m.presence"], not_senders: ["@alice:x"] } });
    assert.equal(matchesEventFilter(f.presence, { type: "m.presence", sender: "@bob:x", roomId: "!ignored:x" }), true);
    assert.equal(matchesEventFilter(f.presence, { type: "m.presence", sender: "@alice:x" }), false);
  });

  it("a filter with no constraints matches everything", () => {
    const empty = parseFilter({});
    fc.assert(
      fc.property(event, (e) =>
        [empty.presence, empty.accountData, empty.room.timeline, empty.room.state, empty.room.ephemeral, empty.room.accountData]
          .every((f) => matchesEventFilter(f, e)),
      ),
    );
  });

  it("not_X always wins over X", () => {
    fc.assert(
      fc.property(rawRoomEventFilter, event, (raw, e) => {
        const f = parseRoomEventFilter(raw);
        const excludedByType = f.notTypes.some((p) => matchesEventFilter(parseRoomEventFilter({ types: [p] }), { type: e.type }));
        const excludedBySender = e.sender !== undefined && f.notSenders.includes(e.sender);
        const excludedByRoom = e.roomId !== undefined && f.notRooms.includes(e.roomId);
        if (excludedByType || excludedBySender || excludedByRoom) assert.equal(matchesEventFilter(f, e), false);
        // Adding the event's own type, sender and room to the inclusive lists never overrides a not_ list.
        const widened = parseRoomEventFilter({
          ...raw,
          types: [...(raw.types ?? []), e.type],
          senders: [...(raw.senders ?? []), ...(e.sender === undefined ? [] : [e.sender])],
          rooms: [...(raw.rooms ?? []), ...(e.roomId === undefined ? [] : [e.roomId])],
        });
        if (excludedByType || excludedBySender || excludedByRoom) assert.equal(matchesEventFilter(widened, e), false);
      }),
      { numRuns: 2000 },
    );
  });

  it("each constraint only narrows: a filter matches no more than the filter without it", () => {
    fc.assert(
      fc.property(rawRoomEventFilter, event, fc.constantFrom("types", "not_types", "senders", "not_senders", "rooms", "not_rooms", "contains_url"), (raw, e, key) => {
        const without: Record<string, unknown> = { ...raw };
        delete without[key];
        if (matchesEventFilter(parseRoomEventFilter(raw), e)) assert.equal(matchesEventFilter(parseRoomEventFilter(without), e), true);
      }),
      { numRuns: 2000 },
    );
  });

  it("excludesEverything is never wrong", () => {
    fc.assert(
      fc.property(rawRoomEventFilter, event, (raw, e) => {
        const f = parseRoomEventFilter(raw);
        if (excludesEverything(f)) assert.equal(matchesEventFilter(f, e), false);
      }),
      { numRuns: 2000 },
    );
    assert.equal(excludesEverything(parseRoomEventFilter({ not_types: ["*"] })), true);
    assert.equal(excludesEverything(parseRoomEventFilter({ types: [] })), true);
    assert.equal(excludesEverything(parseRoomEventFilter({})), false);
  });

  it("filterEvents keeps the matching events in order", () => {
    const f = parseRoomEventFilter({ types: ["m.room.message"] });
    const events = [
      { type: "m.room.message", id: 1 },
      { type: "m.room.member", id: 2 },
      { type: "m.room.message", id: 3 },
    ];
    assert.deepEqual(filterEvents(f, events).map((e) => e.id), [1, 3]);
  });
});

describe("matchesRoomFilter", () => {
  it("applies the room filter's own rooms and not_rooms", () => {
    const f = parseFilter({ room: { rooms: ["!a:x", "!b:x"], not_rooms: ["!b:x"] } }).room;
    assert.equal(matchesRoomFilter(f, "!a:x"), true);
    assert.equal(matchesRoomFilter(f, "!b:x"), false);
    assert.equal(matchesRoomFilter(f, "!c:x"), false);
    assert.equal(matchesRoomFilter(parseFilter({}).room, "!c:x"), true);
  });
});
