import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { canonicalJsonBytes } from "../../../src/core/canonical-json/canonical-json.ts";
import { EventFormatError } from "../../../src/core/events/event-format-error.ts";
import { MAX_PDU_BYTES, checkEventSizeLimits } from "../../../src/core/events/limits.ts";
import { toRoomEvent } from "../../../src/core/events/pdu.ts";
import type { JsonObject } from "../../../src/core/json.ts";
import { version } from "../fixtures/room-versions.ts";

function tooLarge(key?: string) {
  return (err: unknown): boolean =>
    err instanceof EventFormatError && err.reason === "too_large" && err.key === key && err.errcode === "M_TOO_LARGE";
}

const PDU: JsonObject = {
  room_id: "!r:example.org",
  sender: "@alice:example.org",
  origin_server_ts: 1,
  depth: 2,
  type: "m.room.message",
  content: { body: "" },
  hashes: { sha256: "thishashcoversallfieldsincasethisisredacted" },
  signatures: { "example.org": { "ed25519:a": "sig" } },
  prev_events: ["$p"],
  auth_events: ["$a"],
};

/** A string of exactly n UTF-8 bytes that starts with `prefix` and ends with `suffix`. */
function ofBytes(n: number, prefix: string, suffix = "", fill = "a"): string {
  const fixed = Buffer.byteLength(prefix + suffix, "utf8");
  const unit = Buffer.byteLength(fill, "utf8");
  return prefix + fill.repeat(Math.floor((n - fixed) / unit)) + "a".repeat((n - fixed) % unit) + suffix;
}

// client-server-api "Size limits".
describe("checkEventSizeLimits: per-key limits of 255 bytes", () => {
  const v = version("10");
  const cases: Array<[key: string, at255: string, at256: string]> = [
    ["sender", ofBytes(255, "@", ":example.org"), ofBytes(256, "@", ":example.org")],
    ["room_id", ofBytes(255, "!", ":example.org"), ofBytes(256, "!", ":example.org")],
    ["state_key", ofBytes(255, ""), ofBytes(256, "")],
    ["type", ofBytes(255, "m."), ofBytes(256, "m.")],
    ["event_id", ofBytes(255, "$", ":example.org"), ofBytes(256, "$", ":example.org")],
  ];
  for (const [key, at255, at256] of cases) {
    it(`${key}: 255 bytes pass, 256 fail`, () => {
      checkEventSizeLimits({ ...PDU, [key]: at255 }, v);
      assert.throws(() => checkEventSizeLimits({ ...PDU, [key]: at256 }, v), tooLarge(key));
    });
  }

  it("counts bytes, not characters", () => {
    const stateKey = "é".repeat(128); // 128 characters, 256 bytes
    assert.equal(stateKey.length, 128);
    assert.throws(() => checkEventSizeLimits({ ...PDU, state_key: stateKey }, v), tooLarge("state_key"));
    checkEventSizeLimits({ ...PDU, state_key: "é".repeat(127) + "a" }, v);
  });

  it("toRoomEvent applies them", () => {
    assert.throws(() => toRoomEvent({ ...PDU, type: "t".repeat(256) }, v), tooLarge("type"));
    assert.throws(() => toRoomEvent({ ...PDU, sender: ofBytes(256, "@", ":example.org") }, v), tooLarge("sender"));
  });
});

describe("checkEventSizeLimits: 65536 bytes of canonical JSON for the whole event", () => {
  function withSize(n: number): JsonObject {
    const base = canonicalJsonBytes(PDU).length;
    return { ...PDU, content: { body: "x".repeat(n - base) } };
  }

  it("65536 bytes pass, 65537 fail, in every room version", () => {
    for (const id of ["1", "6", "11", "12"]) {
      const exact = withSize(MAX_PDU_BYTES);
      assert.equal(canonicalJsonBytes(exact).length, MAX_PDU_BYTES);
      checkEventSizeLimits(exact, version(id));
      assert.throws(() => checkEventSizeLimits(withSize(MAX_PDU_BYTES + 1), version(id)), tooLarge(undefined));
    }
  });

  it("counts signatures and unsigned too", () => {
    const exact = withSize(MAX_PDU_BYTES);
    assert.throws(
      () => checkEventSizeLimits({ ...exact, signatures: { "example.org": { "ed25519:a": "sig", "ed25519:b": "x" } } }, version("11")),
      tooLarge(undefined),
    );
    assert.throws(() => checkEventSizeLimits({ ...exact, unsigned: { age: 1 } }, version("11")), tooLarge(undefined));
  });

  it("counts multi-byte characters as their UTF-8 bytes", () => {
    const base = canonicalJsonBytes(PDU).length;
    const body = "€".repeat(Math.ceil((MAX_PDU_BYTES - base) / 3) + 1);
    assert.ok(body.length < MAX_PDU_BYTES - base);
    assert.throws(() => checkEventSizeLimits({ ...PDU, content: { body } }, version("11")), tooLarge(undefined));
  });

  it("toRoomEvent applies it", () => {
    assert.throws(() => toRoomEvent(withSize(MAX_PDU_BYTES + 1), version("11")), tooLarge(undefined));
    assert.ok(toRoomEvent(withSize(MAX_PDU_BYTES), version("11")));
  });
});
