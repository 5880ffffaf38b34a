import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventFormatError } from "../../../src/core/events/event-format-error.ts";
import { computeEventId } from "../../../src/core/events/event-id.ts";
import { toRoomEvent } from "../../../src/core/events/pdu.ts";
import { createEventIdOfRoom, roomIdFromCreateEvent } from "../../../src/core/events/room-id.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { version } from "../fixtures/room-versions.ts";

const CREATE_V12: JsonObject = {
  type: "m.room.create",
  state_key: "",
  sender: "@alice:example.org",
  origin_server_ts: 1700000000000,
  depth: 1,
  content: { room_version: "12", additional_creators: ["@bob:example.org"] },
  prev_events: [],
  auth_events: [],
  hashes: { sha256: "thishashcoversallfieldsincasethisisredacted" },
  signatures: { "example.org": { "ed25519:a": "sig" } },
  unsigned: { age: 1 },
};

describe("roomIdFromCreateEvent", () => {
  it("v12: the create event's ID with the sigil ! (rooms/v12.md)", () => {
    const v = version("12");
    const roomId = roomIdFromCreateEvent(CREATE_V12, v);
    assert.match(roomId, /^![A-Za-z0-9_-]{43}$/);
    assert.equal(roomId, "!" + computeEventId(CREATE_V12, v).slice(1));
    assert.equal(createEventIdOfRoom(roomId), computeEventId(CREATE_V12, v));
  });

  it("v12: does not depend on signatures or unsigned, does on content (create keeps it all)", () => {
    const v = version("12");
    const roomId = roomIdFromCreateEvent(CREATE_V12, v);
    assert.equal(roomIdFromCreateEvent({ ...CREATE_V12, signatures: {}, unsigned: {} }, v), roomId);
    assert.notEqual(roomIdFromCreateEvent({ ...CREATE_V12, content: { room_version: "12" } }, v), roomId);
  });

  it("before v12: the create event's own room_id", () => {
    for (const id of ["1", "6", "11"]) {
      assert.equal(roomIdFromCreateEvent({ ...CREATE_V12, room_id: "!r:example.org" }, version(id)), "!r:example.org");
    }
    assert.throws(() => roomIdFromCreateEvent(CREATE_V12, version("11")), EventFormatError);
  });

  it("refuses an event that is not m.room.create", () => {
    assert.throws(() => roomIdFromCreateEvent({ ...CREATE_V12, type: "m.room.member" }, version("12")), EventFormatError);
  });
});

describe("toRoomEvent on v12 create events", () => {
  it("fills roomId from the reference hash", () => {
    const v = version("12");
    const event = toRoomEvent(CREATE_V12, v);
    assert.equal(event.roomId, roomIdFromCreateEvent(CREATE_V12, v));
    assert.equal(event.eventId, createEventIdOfRoom(event.roomId));
  });

  it("derives roomId even when a room_id is present (left for auth rule 1.2 to reject)", () => {
    const v = version("12");
    const withRoomId = { ...CREATE_V12, room_id: "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ" };
    const event = toRoomEvent(withRoomId, v);
    assert.equal(event.roomId, roomIdFromCreateEvent(withRoomId, v));
    assert.equal(event.pdu["room_id"], "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ");
    assert.throws(() => toRoomEvent({ ...CREATE_V12, room_id: 7 }, v), EventFormatError);
  });

  it("a v12 event in the room carries the derived room ID", () => {
    const v = version("12");
    const roomId = roomIdFromCreateEvent(CREATE_V12, v);
    const createId = createEventIdOfRoom(roomId);
    const join = toRoomEvent(
      {
        ...CREATE_V12,
        type: "m.room.member",
        state_key: "@alice:example.org",
        content: { membership: "join" },
        room_id: roomId,
        depth: 2,
        prev_events: [createId],
      },
      v,
    );
    assert.equal(join.roomId, roomId);
    assert.deepEqual(join.prevEventIds, [createId]);
  });

  it("before v12 a create event must carry its room_id", () => {
    assert.throws(
      () => toRoomEvent(CREATE_V12, version("11")),
      (err: unknown) => err instanceof EventFormatError && err.reason === "missing_key" && err.key === "room_id",
    );
  });
});
