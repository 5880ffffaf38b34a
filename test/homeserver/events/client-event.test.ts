import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toRoomEvent } from "../../../src/core/events/pdu.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { getRoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { toClientEvent } from "../../../src/homeserver/events/client-event.ts";
import type { RoomEventInfo } from "../../../src/homeserver/roomserver/index.ts";

function info(pdu: JsonObject, version = "10", extra: Partial<RoomEventInfo> = {}): RoomEventInfo {
  const roomVersion = getRoomVersion(version);
  assert.ok(roomVersion !== undefined);
  return {
    event: toRoomEvent(pdu, roomVersion),
    outlier: false,
    backfilled: false,
    softFailed: false,
    rejectedReason: undefined,
    redactedBy: undefined,
    streamOrdering: 1,
    ...extra,
  };
}

const base = {
  room_id: "!room:example.org",
  sender: "@alice:example.org",
  origin_server_ts: 1000,
  depth: 3,
  prev_events: [],
  auth_events: [],
  hashes: { sha256: "x" },
  signatures: {},
};

describe("toClientEvent", () => {
  it("formats a message as a ClientEvent with its age", () => {
    const out = toClientEvent(info({ ...base, type: "m.room.message", content: { body: "hi" }, unsigned: { age: 5, secret: 1 } }), { now: 1500 });
    assert.deepEqual(Object.keys(out).sort(), ["content", "event_id", "origin_server_ts", "room_id", "sender", "type", "unsigned"]);
    assert.deepEqual(out["unsigned"], { age: 500 });
    assert.equal(out["room_id"], "!room:example.org");
    assert.equal((out["event_id"] as string).startsWith("$"), true);
  });

  it("adds what the caller gathered: transaction ID, replaced state, membership, redaction", () => {
    const state = info({ ...base, type: "m.room.topic", state_key: "", content: { topic: "b" } });
    const out = toClientEvent(state, {
      now: 1000,
      transactionId: "t1",
      replacesState: { eventId: "$old", content: { topic: "a" } },
      membership: "join",
      aggregations: { "m.reference": { chunk: [] } },
    });
    assert.equal(out["state_key"], "");
    // State events get no bundled aggregations.
    assert.deepEqual(out["unsigned"], { age: 0, transaction_id: "t1", replaces_state: "$old", prev_content: { topic: "a" }, membership: "join" });
    const hidden = toClientEvent(state, { now: 1000, replacesState: { eventId: "$old", content: undefined } });
    assert.deepEqual(hidden["unsigned"], { age: 0, replaces_state: "$old" });
  });

  it("puts `redacts` at the top level in every room version", () => {
    const v10 = toClientEvent(info({ ...base, type: "m.room.redaction", redacts: "$target", content: {} }), { now: 1000 });
    assert.equal(v10["redacts"], "$target");
    const v11 = toClientEvent(info({ ...base, type: "m.room.redaction", content: { redacts: "$target" } }, "11"), { now: 1000 });
    assert.equal(v11["redacts"], "$target");
    assert.deepEqual(v11["content"], { redacts: "$target" });
  });

  it("serves the federation format with its event ID, and leaves out the room ID on request", () => {
    const event = info({ ...base, type: "m.room.message", content: { body: "hi" } });
    const out = toClientEvent(event, { now: 1000, format: "federation", withoutRoomId: true });
    assert.equal(out["depth"], 3);
    assert.equal(out["event_id"], event.event.eventId);
    assert.equal(out["room_id"], undefined);
    assert.ok("hashes" in out);
    assert.equal(toClientEvent(event, { now: 1000, withoutRoomId: true })["room_id"], undefined);
  });
});
