// hashAndSign (local-event.ts) hashes and signs our own events over one encoding of their members:
// it must give exactly what core's hashAndSignEvent gives, and encodings equal to a fresh parse.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EventFormatError } from "../../../src/core/events/event-format-error.ts";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import { hashAndSignEvent } from "../../../src/core/events/sign.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { parsePdu } from "../../../src/homeserver/roomserver/checks/valid-event.ts";
import { hashAndSign } from "../../../src/homeserver/roomserver/local-event.ts";
import { anyString, smallJson } from "../../core/canonical-json/arbitraries.ts";
import { ALL_VERSIONS, version } from "../../core/fixtures/room-versions.ts";
import { REMOTE, remoteKey } from "./harness.ts";

const signer = { serverName: REMOTE, key: remoteKey };

function unsignedPdu(v: RoomVersion, type: string, content: JsonObject, stateKey?: string): Pdu {
  const pdu: Pdu = {
    // v12 room IDs are the create event's hash (rooms/v12.md).
    room_id: v.roomIdFromCreateEvent ? `!${"A".repeat(43)}` : `!room:${REMOTE}`,
    type,
    sender: `@alice:${REMOTE}`,
    content,
    origin_server_ts: 1_800_000_000_000,
    depth: 7,
    prev_events: [],
    auth_events: [],
  };
  if (stateKey !== undefined) pdu["state_key"] = stateKey;
  if (v.eventIdFormat === "v1") pdu["event_id"] = `$e1:${REMOTE}`;
  return pdu;
}

function assertSame(pdu: Pdu, v: RoomVersion): void {
  let core: Pdu | EventFormatError;
  try {
    core = hashAndSignEvent(pdu, v, signer.serverName, signer.key);
  } catch (err) {
    if (!(err instanceof EventFormatError)) throw err;
    core = err;
  }
  if (core instanceof EventFormatError) {
    assert.throws(() => hashAndSign(pdu, v, signer), (err: unknown) => err instanceof EventFormatError && err.reason === (core as EventFormatError).reason);
    return;
  }
  const ours = hashAndSign(pdu, v, signer);
  assert.deepEqual(ours.pdu, core);
  let fresh: ReturnType<typeof parsePdu>;
  try {
    fresh = parsePdu(core, v);
  } catch (err) {
    if (!(err instanceof EventFormatError)) throw err;
    // A format fault the parse finds (not the encoding): found the same with the encodings given.
    assert.throws(() => parsePdu(ours.pdu, v, ours.bytes), (e: unknown) => e instanceof EventFormatError && e.message === err.message);
    return;
  }
  const reused = parsePdu(ours.pdu, v, ours.bytes);
  assert.equal(reused.bytes, ours.bytes, "the encodings given are used");
  assert.deepEqual(reused.event, fresh.event);
  assert.equal(ours.bytes.size, fresh.bytes.size);
  assert.deepEqual(ours.bytes.essential(), fresh.bytes.essential());
  assert.equal(ours.bytes.contentHashed(), fresh.bytes.contentHashed());
  assert.equal(ours.bytes.stored(), fresh.bytes.stored());
}

describe("hashAndSign of our own events", () => {
  it("agrees with hashAndSignEvent on messages, members and power levels of every version", () => {
    for (const id of ALL_VERSIONS) {
      const v = version(id);
      assertSame(unsignedPdu(v, "m.room.message", { msgtype: "m.text", body: "hi" }), v);
      assertSame(unsignedPdu(v, "m.room.member", { membership: "join", displayname: "Alice" }, `@alice:${REMOTE}`), v);
      assertSame(unsignedPdu(v, "m.room.power_levels", { users: { [`@alice:${REMOTE}`]: 100 }, ban: 50 }, ""), v);
    }
  });

  it("agrees with hashAndSignEvent on random content, including what canonical JSON refuses", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_VERSIONS),
        fc.constantFrom("m.room.message", "m.room.member", "m.room.join_rules"),
        fc.dictionary(anyString, smallJson({ floats: true }), { maxKeys: 4 }),
        (id, type, content) => assertSame(unsignedPdu(version(id), type, content, type === "m.room.message" ? undefined : ""), version(id)),
      ),
      { numRuns: 300 },
    );
  });

  it("refuses content nested too deeply as encoding does", () => {
    let deep: JsonObject = {};
    for (let i = 0; i < 600; i++) deep = { d: deep };
    assertSame(unsignedPdu(version("11"), "m.room.message", deep), version("11"));
  });
});
