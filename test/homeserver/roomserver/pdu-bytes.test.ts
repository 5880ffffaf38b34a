// parsePdu and PduBytes stand in for core's toRoomEvent, content hash, signable bytes and size
// limit on the pipeline's hot path: they must agree with core on every PDU, valid or not.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalJson, canonicalJsonBytes } from "../../../src/core/canonical-json/canonical-json.ts";
import { signableBytes } from "../../../src/core/crypto/signing.ts";
import { EventFormatError } from "../../../src/core/events/event-format-error.ts";
import { eventJsonOptions } from "../../../src/core/events/event-json.ts";
import { computeContentHash } from "../../../src/core/events/hashes.ts";
import { toRoomEvent } from "../../../src/core/events/pdu.ts";
import { redactEvent } from "../../../src/core/events/redaction.ts";
import type { Pdu } from "../../../src/core/events/room-event.ts";
import { hashAndSignEvent } from "../../../src/core/events/sign.ts";
import { encodeUnpaddedBase64 } from "../../../src/core/crypto/base64.ts";
import { sha256 } from "../../../src/core/crypto/hashes.ts";
import type { JsonObject, JsonValue } from "../../../src/core/json.ts";
import type { RoomVersion } from "../../../src/core/room-versions/room-versions.ts";
import { checkHashes } from "../../../src/homeserver/roomserver/checks/hashes.ts";
import { parsePdu } from "../../../src/homeserver/roomserver/checks/valid-event.ts";
import { anyString, smallJson } from "../../core/canonical-json/arbitraries.ts";
import { ALL_VERSIONS, version } from "../../core/fixtures/room-versions.ts";
import { REMOTE, remoteKey } from "./harness.ts";

type Outcome<T> = { ok: T } | { error: [string, string] };

function outcome<T>(run: () => T): Outcome<T> {
  try {
    return { ok: run() };
  } catch (err) {
    if (err instanceof EventFormatError) return { error: [err.reason, err.message] };
    throw err;
  }
}

/** A signed PDU of the version: a member event or a message, with what the arbitrary adds. */
function basePdu(v: RoomVersion, type: "m.room.member" | "m.room.message" | "m.room.power_levels"): Pdu {
  const pdu: Pdu = {
    type,
    sender: `@alice:${REMOTE}`,
    content: type === "m.room.member" ? { membership: "join", displayname: "Alice" } : type === "m.room.message" ? { msgtype: "m.text", body: "hi" } : { users: { [`@alice:${REMOTE}`]: 100 }, ban: 50 },
    origin_server_ts: 1_800_000_000_000,
    depth: 5,
    prev_events: [],
    auth_events: [],
    room_id: `!room:${REMOTE}`,
  };
  if (type !== "m.room.message") pdu["state_key"] = type === "m.room.member" ? `@alice:${REMOTE}` : "";
  if (v.eventIdFormat === "v1") pdu["event_id"] = `$e1:${REMOTE}`;
  return hashAndSignEvent(pdu, v, REMOTE, remoteKey);
}

function without(pdu: Pdu, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(pdu)) {
    if (keys.includes(key)) continue;
    Object.defineProperty(out, key, { value: pdu[key], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Asserts parsePdu and PduBytes agree with core on `pdu`. */
function assertAgrees(pdu: Pdu, v: RoomVersion): void {
  const ours = outcome(() => parsePdu(pdu, v));
  const core = outcome(() => toRoomEvent(pdu, v));
  if ("error" in core) {
    assert.deepEqual("error" in ours ? ours.error : "accepted", core.error);
    return;
  }
  assert.ok("ok" in ours, `core accepted, parsePdu said ${JSON.stringify(ours)}`);
  const { event, bytes } = ours.ok;
  assert.deepEqual(event, core.ok);
  assert.equal(bytes.size, canonicalJsonBytes(pdu, eventJsonOptions(v)).length);
  assert.deepEqual(bytes.essential(), signableBytes(redactEvent(pdu, v), eventJsonOptions(v)));
  assert.equal(encodeUnpaddedBase64(sha256(bytes.contentHashed())), computeContentHash(pdu, v));
  assert.equal(bytes.stored(), canonicalJson(without(pdu, ["unsigned"]), eventJsonOptions(v)));
  assert.deepEqual(JSON.parse(bytes.stored()), JSON.parse(JSON.stringify(without(pdu, ["unsigned"]))));
  assert.equal(checkHashes(event, bytes).redacted, checkHashes(event).redacted);
}

const mutation = fc.record({
  type: fc.constantFrom("m.room.member" as const, "m.room.message" as const, "m.room.power_levels" as const),
  content: fc.dictionary(anyString, smallJson({ floats: true }), { maxKeys: 3 }),
  extra: fc.dictionary(anyString, smallJson({ floats: true }), { maxKeys: 2 }),
  unsigned: fc.option(fc.dictionary(fc.string(), smallJson({ floats: true }), { maxKeys: 2 })),
  tamper: fc.boolean(),
});

describe("parsePdu and PduBytes", () => {
  it("agree with core on signed events of every room version", () => {
    for (const id of ALL_VERSIONS) {
      for (const type of ["m.room.member", "m.room.message", "m.room.power_levels"] as const) assertAgrees(basePdu(version(id), type), version(id));
    }
  });

  it("agree with core on events with random content, members, unsigned and hashes", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_VERSIONS), mutation, (id, m) => {
        const v = version(id);
        const pdu: Pdu = { ...basePdu(v, m.type) };
        pdu["content"] = { ...(pdu["content"] as JsonObject), ...m.content };
        for (const [key, value] of Object.entries(m.extra)) {
          Object.defineProperty(pdu, key, { value, enumerable: true, writable: true, configurable: true });
        }
        if (m.unsigned !== null) pdu["unsigned"] = m.unsigned as JsonValue;
        if (m.tamper) pdu["hashes"] = { sha256: "bm90IHRoZSBoYXNo" };
        assertAgrees(pdu, v);
      }),
      { numRuns: 400 },
    );
  });

  it("agree with core at the size limit", () => {
    for (const id of ["5", "11"]) {
      const v = version(id);
      const base = basePdu(v, "m.room.message");
      const size = canonicalJsonBytes(base, eventJsonOptions(v)).length;
      // Around 65536 bytes: a body that makes the event just fit, and one byte more.
      for (const delta of [-1, 0, 1, 2]) {
        const body = "x".repeat(65536 - size + 2 + delta);
        assertAgrees({ ...base, content: { msgtype: "m.text", body: `${body}` } }, v);
      }
      assertAgrees({ ...base, content: { body: "\u{1f600}".repeat(17000) } }, v);
    }
  });
});
